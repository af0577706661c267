package server

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/store/storetest"
)

// badTexts are values no database text can hold: a NUL byte and invalid UTF-8.
var badTexts = map[string]string{"nul": "a\x00b", "invalid utf-8": "a\xffb"}

// TestBadTextInURL: a NUL byte or invalid UTF-8 in a path id or a query filter is a 400 naming
// the parameter, alike on both databases (PostgreSQL used to fail the lookup with a 500).
func TestBadTextInURL(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		plan := "/api/v1/plans/" + b.plan.ID
		for kind, bad := range badTexts {
			p, q := url.PathEscape(bad), url.QueryEscape(bad)
			tests := []struct{ path, field string }{
				{"/api/v1/plans/" + p, "plan"},
				{"/api/v1/plans/" + p + "/events", "plan"},
				{plan + "/actions/" + p, "action"},
				{plan + "/actions/" + p + "/comments", "action"},
				{"/api/v1/templates/" + p, "key"},
				{"/api/v1/plans?deal=" + q, "deal"},
				{"/api/v1/plans?owner=" + q, "owner"},
				{"/api/v1/plans?connection=" + q, "connection"},
				{"/api/v1/plans?after=" + q, "after"},
				{"/api/v1/plans?status=" + q, "status"},
				{plan + "/events?after=" + q, "after"},
				{b.actionPath("review") + "/comments?after=" + q, "after"},
				{"/api/v1/templates/api-test?version=" + q, "version"},
				{"/api/v1/deals?connection=sf&q=" + q, "q"},
			}
			for _, tt := range tests {
				t.Run(kind+" "+tt.path, func(t *testing.T) {
					b.do("GET", tt.path, nil).wantError(t, http.StatusBadRequest, "bad_request", tt.field)
				})
			}
			if kind != "nul" { // no HTTP client or server lets a NUL through in a header
				t.Run(kind+" actor header", func(t *testing.T) {
					b.do("GET", plan, nil, HeaderActor, bad).wantError(t, http.StatusBadRequest, "bad_request", HeaderActor)
				})
			}
		}
		t.Run("nul in a JSON body", func(t *testing.T) {
			b.do("POST", b.actionPath("review")+"/comments", `{"body": "hi\u0000there"}`).wantError(t, http.StatusBadRequest, "bad_request", "body")
			b.do("PUT", b.actionPath("questionnaire")+"/questions", `{"version": 1, "questions": [{"key": "q", "text": "a\u0000", "kind": "text"}]}`).
				wantError(t, http.StatusBadRequest, "bad_request", "questions[0].text")
			// An escaped backslash before u0000 is no NUL.
			b.do("POST", b.actionPath("review")+"/comments", `{"body": "C:\\u0000"}`).ok(t, http.StatusCreated, nil)
		})
	})
}

// FuzzAPIText sends arbitrary path ids and filter values to the API on each database: whatever
// they hold, the answer is never a 5xx.
func FuzzAPIText(f *testing.F) {
	for _, s := range []string{"", "006A", "a\x00b", "\xff", "\xc3\x28", "%", "../x", "é", strings.Repeat("z", 300)} {
		f.Add(s, s)
	}
	type target struct {
		h     http.Handler
		token string
	}
	var targets []target
	for _, backend := range storetest.Backends {
		s := storetest.Open(f, backend)
		token, err := s.CreateAPIToken(f.Context(), "ci")
		if err != nil {
			f.Fatal(err)
		}
		srv, err := New(Options{Store: &faultStore{Store: s}, Logger: zerolog.Nop(), Now: func() time.Time { return testNow }})
		if err != nil {
			f.Fatal(err)
		}
		targets = append(targets, target{srv, token})
	}
	f.Fuzz(func(t *testing.T, id, filter string) {
		p, q := url.PathEscape(id), url.QueryEscape(filter)
		paths := []string{
			"/api/v1/plans/" + p, "/api/v1/plans/" + p + "/events?after=" + q, "/api/v1/templates/" + p,
			"/api/v1/plans?deal=" + q + "&owner=" + q + "&connection=" + q + "&after=" + q,
			"/api/v1/plans/" + p + "/actions/" + p + "/comments?after=" + q,
		}
		for _, tg := range targets {
			for _, path := range paths {
				req := httptest.NewRequest("GET", "/", nil)
				u, err := url.Parse(path)
				if err != nil {
					continue
				}
				req.URL, req.RequestURI = u, path
				req.Header.Set("Authorization", "Bearer "+tg.token)
				rec := httptest.NewRecorder()
				tg.h.ServeHTTP(rec, req)
				if rec.Code >= 500 {
					t.Fatalf("GET %q: %d %s", path, rec.Code, rec.Body)
				}
			}
		}
	})
}
