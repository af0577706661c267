package salesforce

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/mapsync/mapsync/connectors"
	sandbox "github.com/mapsync/mapsync/sandbox/salesforce"
)

func TestQuote(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ in, want string }{
		"plain":          {in: "Acme Q3", want: `'Acme Q3'`},
		"single quote":   {in: "O'Brien", want: `'O\'Brien'`},
		"double quote":   {in: `say "hi"`, want: `'say \"hi\"'`},
		"backslash":      {in: `a\b`, want: `'a\\b'`},
		"backslash last": {in: `a\`, want: `'a\\'`},
		"injection":      {in: `x' OR Name != '`, want: `'x\' OR Name != \''`},
		"escaped quote":  {in: `\'`, want: `'\\\''`},
		"controls":       {in: "a\nb\rc\td\be\ff", want: `'a\nb\rc\td\be\ff'`},
		"other control":  {in: "a\x00b\x1f", want: `'a\u0000b\u001f'`},
		"unicode":        {in: "Zürich – 東京", want: `'Zürich – 東京'`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := Quote(tt.in); got != tt.want {
				t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestValidID(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"00558000001N0Ke":    true,
		"00558000001N0KeAAK": true,
		"00558000001N0Ke'":   false,
		"0055800000":         false,
		"00558000001N0KeAA":  false,
		"006' OR Id != '0":   false,
		"00558000001N0K%20e": false,
		"":                   false,
	}
	for id, want := range tests {
		if got := ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}

// TestHostileNamesRoundTrip puts hostile deal names through Quote into real SOQL against the
// sandbox's parser: each must find exactly its own deal and nothing else.
func TestHostileNamesRoundTrip(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Deals: 20}, nil, nil)
	ids := b.sb.IDs("Opportunity")
	hostile := []string{
		`O'Brien Deal`,
		`x' OR Name != '`,
		`back\slash\`,
		`\' OR Id != \'`,
		"multi\nline\r\ndeal\twith\btabs\f",
		`"quoted" deal`,
		`100% of _everything_`,
		"nul\x00byte",
	}
	for i, name := range hostile {
		if err := b.sb.UpdateRecord("Opportunity", ids[i], map[string]any{"Name": name}); err != nil {
			t.Fatalf("set name %q: %v", name, err)
		}
	}
	for i, name := range hostile {
		soql := "SELECT Id, Name FROM Opportunity WHERE Name = " + Quote(name)
		var qr queryResult
		err := c.do(t.Context(), call{op: "query", method: http.MethodGet, path: c.base + "/query?q=" + url.QueryEscape(soql)}, &qr)
		if err != nil {
			t.Errorf("name %q: %v", name, err)
			continue
		}
		if len(qr.Records) != 1 || qr.Records[0]["Id"] != ids[i] || qr.Records[0]["Name"] != name {
			t.Errorf("name %q: got %v, want only deal %s", name, qr.Records, ids[i])
		}
	}
}

func TestHostileCursorAndFields(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Deals: 10}, nil, nil)
	tests := map[string]struct {
		req  connectors.PullRequest
		code string
	}{
		"cursor id injection": {req: connectors.PullRequest{Object: connectors.ObjectDeal, Since: connectors.Cursor{Stamp: sandboxStamp(), ID: "006' OR Id != '"}}, code: "MALFORMED_ID"},
		"field injection":     {req: connectors.PullRequest{Object: connectors.ObjectDeal, Fields: []string{"Name FROM User --"}}, code: "INVALID_FIELD"},
		"field subquery":      {req: connectors.PullRequest{Object: connectors.ObjectDeal, Fields: []string{"(SELECT Id FROM Contacts)"}}, code: "INVALID_FIELD"},
		"unknown object":      {req: connectors.PullRequest{Object: "account"}, code: "UNKNOWN_OBJECT"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := tryPull(t.Context(), c, tt.req, nil)
			var e *connectors.Error
			if !errorsAs(err, &e) || e.Code != tt.code || e.Kind != connectors.KindPermanent {
				t.Fatalf("got %v, want permanent %s", err, tt.code)
			}
		})
	}
	t.Cleanup(func() {
		if got := opCalls(t, b.reg, ""); got != 0 {
			t.Errorf("hostile pulls sent %d requests, want 0", got)
		}
	})
}
