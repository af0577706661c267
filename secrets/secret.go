package secrets

import "encoding/json"

// Redacted is what every printed form of a Secret shows.
const Redacted = "<redacted>"

// Secret is a string that must never be printed: its String, GoString, JSON, YAML and text forms
// are "<redacted>" (empty stays empty, so that "not set" is still visible). Use Reveal to get the
// value where it is needed (an HTTP header, a signature).
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Redacted
}

// GoString implements fmt.GoStringer, so %#v does not leak either.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML implements yaml.Marshaler.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalText implements encoding.TextMarshaler (used by zerolog's Interface and others).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
