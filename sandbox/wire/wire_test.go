package wire

import (
	"encoding/json"
	"io"
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

// seenWriter records, at each call that passes a reply on, how many statuses were reported.
type seenWriter struct {
	http.ResponseWriter
	reported *[]int
	atHeader []int
	atWrite  []int
}

func (w *seenWriter) WriteHeader(code int) {
	w.atHeader = append(w.atHeader, len(*w.reported))
	w.ResponseWriter.WriteHeader(code)
}

func (w *seenWriter) Write(b []byte) (int, error) {
	w.atWrite = append(w.atWrite, len(*w.reported))
	return w.ResponseWriter.Write(b)
}

// OnStatus reports the status once, before any of the reply is passed on (a client that has the
// reply must find its request counted), or at Finish when nothing was written.
func TestStatusWriterReportsBeforeTheReplyLeaves(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		write func(w *StatusWriter)
		want  int
	}{
		{"status then body", func(w *StatusWriter) { w.WriteHeader(http.StatusTooManyRequests); w.Write([]byte("x")) }, http.StatusTooManyRequests},
		{"body only", func(w *StatusWriter) { w.Write([]byte("x")); w.Write([]byte("y")) }, http.StatusOK},
		{"nothing", func(w *StatusWriter) {}, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var reported []int
			sw := &seenWriter{ResponseWriter: httptest.NewRecorder(), reported: &reported}
			w := NewStatusWriter(sw)
			w.OnStatus(func(code int) { reported = append(reported, code) })
			tt.write(w)
			w.Finish()
			w.Finish()
			if len(reported) != 1 || reported[0] != tt.want {
				t.Fatalf("reported %v, want [%d] once", reported, tt.want)
			}
			for _, n := range append(sw.atHeader, sw.atWrite...) {
				if n != 1 {
					t.Fatalf("the reply was passed on with %d statuses reported, want 1 (header calls %v, writes %v)", n, sw.atHeader, sw.atWrite)
				}
			}
		})
	}
}

func TestServeBadBody(t *testing.T) {
	t.Parallel()
	real := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"records":[{"Id":"1"}],"done":true}`))
	})
	for _, tt := range []struct {
		kind     BadBody
		wantCT   string
		wantBody string
	}{
		{BadBodyTruncated, "application/json", `{"records":[{"Id":`},
		{BadBodyNotJSON, "text/html; charset=utf-8", ""},
		{BadBodyWrongShape, "application/json", `{"message":"ok","unexpected":true}`},
	} {
		t.Run(string(tt.kind), func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ServeBadBody(tt.kind, w, r, real) }))
			t.Cleanup(srv.Close)
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil {
				t.Fatalf("read body: %v (the transport must see a complete reply)", err)
			}
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tt.wantCT {
				t.Errorf("got %d %q, want 200 %q", resp.StatusCode, resp.Header.Get("Content-Type"), tt.wantCT)
			}
			if tt.wantBody != "" && string(body) != tt.wantBody {
				t.Errorf("body: got %q, want %q", body, tt.wantBody)
			}
			if _, ok := ParseBadBody(string(tt.kind)); !ok {
				t.Errorf("ParseBadBody(%q) refused", tt.kind)
			}
		})
	}
	if _, ok := ParseBadBody("slow"); ok {
		t.Error("ParseBadBody accepted slow")
	}
}
