package server

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/store/storetest"
)

// FuzzAPIQuery sends arbitrary raw query strings (as a client may put on the wire: bad escapes,
// repeated or unknown parameters, odd limits, cursors and dates) to the API's list routes on each
// database: the answer is never a 5xx, and a refusal is a 4xx in the API's error shape with a
// message.
func FuzzAPIQuery(f *testing.F) {
	for _, s := range []string{
		"", "limit=10", "limit=0", "limit=-1", "limit=99999999999999999999", "limit=1&limit=2", "after=abc", "after=%zz",
		"status=on_track&connection=c&deal=006&owner=x", "status=nope", "q=%00&stage=a&owner=b&has_plan=maybe&connection=c",
		"has_plan=true&after=eyJ4IjoxfQ", "connection=sf&after=zz&limit=5", "connection=sf&q=a&stage=b&owner=c&has_plan=false", "nope=1", ";;&&==", "a=%", strings.Repeat("x=1&", 200),
	} {
		f.Add(s)
	}
	type target struct {
		srv   *Server
		token string
	}
	var targets []target
	for _, backend := range storetest.Backends {
		s := storetest.Open(f, backend)
		token, err := s.CreateAPIToken(f.Context(), "ci")
		if err != nil {
			f.Fatal(err)
		}
		fs := &faultStore{Store: s}
		// The deal list goes through instantiate.List on the store (connection "sf").
		srv, err := New(Options{Store: fs, Deals: fakeDeals{st: fs}, Logger: zerolog.Nop(), Now: func() time.Time { return testNow }})
		if err != nil {
			f.Fatal(err)
		}
		targets = append(targets, target{srv, token})
	}
	paths := []string{"/api/v1/plans", "/api/v1/deals", "/api/v1/templates", "/api/v1/plans/p1/events", "/api/v1/plans/p1/actions/a1/comments"}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, tg := range targets {
			for _, path := range paths {
				req := httptest.NewRequest("GET", path, nil)
				req.URL.RawQuery = raw
				req.RequestURI = path + "?" + raw
				req.Header.Set("Authorization", "Bearer "+tg.token)
				rec := httptest.NewRecorder()
				tg.srv.ServeHTTP(rec, req)
				if rec.Code >= 500 {
					t.Fatalf("GET %s?%s: %d %s", path, raw, rec.Code, rec.Body)
				}
				if rec.Code >= 400 {
					var e struct {
						Error struct {
							Message string `json:"message"`
						} `json:"error"`
					}
					if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Message == "" {
						t.Fatalf("GET %s?%s: %d without a message in the error shape: %s", path, raw, rec.Code, rec.Body)
					}
				}
			}
		}
	})
}
