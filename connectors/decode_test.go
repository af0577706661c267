package connectors

import (
	"errors"
	"net/http"
	"testing"
)

// shapedPage is a reply type with a required array, as the connectors' pages are.
type shapedPage struct {
	Records []map[string]any `json:"records"`
	Next    string           `json:"next"`
}

func (p *shapedPage) CheckShape() error {
	if p.Records == nil {
		return errors.New(`no "records" array`)
	}
	return nil
}

func jsonResponse(ct, body string) *Response {
	return &Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {ct}}, Body: []byte(body)}
}

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, ct, body string
		wantCode       string // "" for success
	}{
		{"page", "application/json;charset=UTF-8", `{"records":[{"Id":"1"}],"next":"x"}`, ""},
		{"empty page", "application/json", `{"records":[]}`, ""},
		{"problem+json", "application/problem+json", `{"records":[]}`, ""},
		{"truncated", "application/json", `{"records":[{"Id":"1"`, "MALFORMED_JSON"},
		{"empty body", "application/json", ``, "MALFORMED_JSON"},
		{"array", "application/json", `[1,2]`, "MALFORMED_JSON"},
		{"wrong type", "application/json", `{"records":"none"}`, "MALFORMED_JSON"},
		{"wrong shape", "application/json", `{"message":"ok"}`, "WRONG_SHAPE"},
		{"html", "text/html", `<html></html>`, "NOT_JSON"},
		{"no content type", "", `{"records":[]}`, "NOT_JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A value left over from an earlier attempt must not survive the decode.
			out := shapedPage{Next: "stale", Records: []map[string]any{{"Id": "old"}}}
			err := DecodeJSON(jsonResponse(tt.ct, tt.body), &out)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				if out.Next == "stale" {
					t.Error("a field of the earlier value survived")
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.wantCode || e.Kind != KindTransient {
				t.Fatalf("got %v, want a transient %s error", err, tt.wantCode)
			}
		})
	}
}

func TestDecodeJSONNeedsPointer(t *testing.T) {
	t.Parallel()
	if err := DecodeJSON(jsonResponse("application/json", `{}`), shapedPage{}); KindOf(err) != KindPermanent {
		t.Fatalf("got %v, want a permanent error for a non-pointer", err)
	}
}

// FuzzDecodeJSON: any reply body decodes or fails with a transient *Error, never a panic.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"records":[]}`, `{"records":[{"Id":"1"`, `[]`, `{"message":"ok"}`, ``, `null`, `{"records":null}`} {
		f.Add("application/json", s)
	}
	f.Add("text/html", "<html>")
	f.Fuzz(func(t *testing.T, ct, body string) {
		var out shapedPage
		err := DecodeJSON(jsonResponse(ct, body), &out)
		if err != nil && KindOf(err) != KindTransient {
			t.Fatalf("got %v, want a transient error", err)
		}
		if err == nil && out.Records == nil {
			t.Fatal("decoded a reply without records")
		}
	})
}
