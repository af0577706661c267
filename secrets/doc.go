// Package secrets encrypts tokens at rest with AES-256-GCM under a key taken from
// MAPSYNC_SECRET_KEY, and provides the Secret string type whose printed forms are redacted.
package secrets
