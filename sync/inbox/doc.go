// Package inbox processes the webhook events the server stored (store.WebhookEvent): it turns a
// connection's pending events into the store changes they call for and marks them done.
//
// # How an event is handled
//
//   - A deletion (HubSpot deal.deletion, contact.deletion, contact.privacyDeletion) marks the
//     record deleted at once, as a full reconcile would (an incremental pull never sees HubSpot's
//     archived records).
//   - A merge (deal.merge, contact.merge) marks the merged-away records deleted; the surviving
//     record comes with the pull below.
//   - Anything else (creations, property and association changes, restores, Salesforce outbound
//     messages, generic events) asks for fresh records: one incremental pull of the connection
//     (under its run lock, trigger webhook) followed by the plan catch-up, however many events are
//     pending, so a burst of events costs one pull. The pull brings the deal, its contacts and its
//     roles; the catch-up gives new and changed deals their plans by the template rules.
//
// # Failures
//
// A failed pass counts an attempt on each of its events and retries after a growing pause
// (Backoff); after MaxAttempts an event is dead (store.WebhookDead): a dead letter, listed by
// `mapsync webhooks list --status dead` and put back by `mapsync webhooks retry`.
package inbox
