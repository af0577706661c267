package wire

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestAppendStringIsValidJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", `quo"te \ back`, "new\nline\ttab\r\x01\x1f", "ünïcødé ✓", "bad \xff utf8", "</script>"} {
		b := AppendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q: %s is not a JSON string: %v", s, b, err)
		}
		want := s
		if s == "bad \xff utf8" {
			want = "bad \ufffd utf8"
		}
		if got != want {
			t.Fatalf("round trip of %q: got %q", s, got)
		}
	}
}

func TestStatusWriter(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	w := NewStatusWriter(rec)
	if w.Status() != http.StatusOK {
		t.Fatalf("nothing written: got %d, want 200", w.Status())
	}
	w.WriteHeader(http.StatusTeapot)
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("x"))
	if w.Status() != http.StatusTeapot || rec.Code != http.StatusTeapot {
		t.Fatalf("got %d (recorder %d), want the first status 418", w.Status(), rec.Code)
	}
}
