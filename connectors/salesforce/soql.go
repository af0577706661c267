package salesforce

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mapsync/mapsync/connectors"
)

// Quote returns s as a SOQL string literal: in single quotes, with backslash, quotes, newline,
// carriage return, tab, backspace and form feed escaped (backslash first), and any other control
// character as \uXXXX. Every value mapsync places in SOQL goes through Quote or is validated
// (ValidID, validField) first.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04x`, r)
				continue
			}
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// ValidID reports whether id looks like a Salesforce record id: 15 or 18 ASCII letters and digits.
func ValidID(id string) bool {
	if len(id) != 15 && len(id) != 18 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// quoteID validates id and returns it as a SOQL literal.
func quoteID(id string) (string, error) {
	if !ValidID(id) {
		return "", &connectors.Error{Kind: connectors.KindPermanent, Code: "MALFORMED_ID", Message: fmt.Sprintf("malformed Salesforce id %s", strconv.Quote(truncate(id, 40)))}
	}
	return Quote(id), nil
}

// validField reports whether name is a plausible field API name or relationship path
// (Owner.Name): letters, digits and underscores, starting with a letter, at most five segments.
func validField(name string) bool {
	segs := strings.Split(name, ".")
	if len(name) == 0 || len(name) > 255 || len(segs) > 5 {
		return false
	}
	for _, s := range segs {
		if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
			return false
		}
		for i := 0; i < len(s); i++ {
			c := s[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
				return false
			}
		}
	}
	return true
}

// dateTimeLiteral renders t as an unquoted SOQL dateTime literal in UTC, with milliseconds only
// when t has some (so keyset comparisons stay exact).
func dateTimeLiteral(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/int(time.Millisecond) != 0 {
		return t.Format("2006-01-02T15:04:05.000Z")
	}
	return t.Format("2006-01-02T15:04:05Z")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
