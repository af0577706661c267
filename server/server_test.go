package server

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		path := "/api/v1/plans/" + b.plan.ID
		tests := map[string][]string{
			"no header":      {"Authorization", ""},
			"wrong scheme":   {"Authorization", "Basic " + b.token},
			"empty token":    {"Authorization", "Bearer "},
			"unknown token":  {"Authorization", "Bearer nope"},
			"unknown msk_":   {"Authorization", "Bearer msk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
			"token in query": {"Authorization", ""},
		}
		for name, hdr := range tests {
			t.Run(name, func(t *testing.T) {
				p := path
				if name == "token in query" {
					p += "?token=" + b.token
				}
				res := b.do("GET", p, nil, hdr...)
				res.wantError(t, http.StatusUnauthorized, "unauthorized", "")
				if got := res.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("WWW-Authenticate: got %q, want Bearer", got)
				}
			})
		}
		t.Run("revoked token", func(t *testing.T) {
			old, err := b.store.CreateAPIToken(t.Context(), "old")
			if err != nil {
				t.Fatal(err)
			}
			b.do("GET", path, nil, "Authorization", "Bearer "+old).ok(t, http.StatusOK, nil)
			if err := b.store.RevokeAPIToken(t.Context(), "old"); err != nil {
				t.Fatal(err)
			}
			b.do("GET", path, nil, "Authorization", "Bearer "+old).wantError(t, http.StatusUnauthorized, "unauthorized", "")
		})
		t.Run("lowercase scheme", func(t *testing.T) {
			b.do("GET", path, nil, "Authorization", "bearer "+b.token).ok(t, http.StatusOK, nil)
		})
		t.Run("bad side header", func(t *testing.T) {
			b.do("GET", path, nil, HeaderSide, "admin").wantError(t, http.StatusBadRequest, "bad_request", HeaderSide)
		})
		t.Run("token never logged", func(t *testing.T) {
			b.do("GET", path, nil).ok(t, http.StatusOK, nil)
			logs := b.logs.String()
			if strings.Contains(logs, b.token) {
				t.Errorf("logs hold the token:\n%s", logs)
			}
			if !strings.Contains(logs, `"token":"ci"`) {
				t.Errorf("logs: want the token's name, got\n%s", logs)
			}
		})
	})
}

func TestAuthStoreFailure(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		b.store.set(func(f *faults) { f.verifyErr = errors.New("database is locked") })
		b.do("GET", "/api/v1/plans", nil).wantError(t, http.StatusInternalServerError, "internal", "")
		b.store.set(func(f *faults) { f.verifyErr = ErrBadToken })
		b.do("GET", "/api/v1/plans", nil).wantError(t, http.StatusUnauthorized, "unauthorized", "")
	})
}

func TestHealthReadyMetrics(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		for _, path := range []string{"/healthz", "/readyz"} {
			var body map[string]string
			b.do("GET", path, nil, "Authorization", "").ok(t, http.StatusOK, &body)
			if body["status"] != "ok" {
				t.Errorf("%s: got %v, want status ok", path, body)
			}
		}
		b.store.set(func(f *faults) { f.pingErr = errors.New("connection refused") })
		e := b.do("GET", "/readyz", nil, "Authorization", "").wantError(t, http.StatusServiceUnavailable, "unavailable", "")
		if e.RequestID == "" {
			t.Errorf("readyz 503: want a request id, got %+v", e)
		}
		if logs := b.logs.String(); !strings.Contains(logs, "connection refused") {
			t.Errorf("logs: want the ping error, got\n%s", logs)
		}

		b.do("GET", "/api/v1/plans/"+b.plan.ID, nil).ok(t, http.StatusOK, nil)
		b.do("GET", "/api/v1/plans/nope", nil).wantError(t, http.StatusNotFound, "not_found", "plan")
		res := b.do("GET", "/metrics", nil, "Authorization", "")
		res.ok(t, http.StatusOK, nil)
		for _, want := range []string{
			`mapsync_http_requests_total{method="GET",route="GET /api/v1/plans/{plan}",status="200"} 1`,
			`mapsync_http_requests_total{method="GET",route="GET /api/v1/plans/{plan}",status="404"} 1`,
			`mapsync_http_requests_total{method="GET",route="GET /readyz",status="503"} 1`,
			`mapsync_http_request_duration_seconds_count{route="GET /api/v1/plans/{plan}"} 2`,
		} {
			if !strings.Contains(string(res.body), want) {
				t.Errorf("/metrics: want %s in\n%s", want, res.body)
			}
		}
	})
}

func TestRouting(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		b.do("GET", "/api/v1/nothing", nil).wantError(t, http.StatusNotFound, "not_found", "")
		res := b.do("DELETE", "/api/v1/plans/"+b.plan.ID, nil)
		res.wantError(t, http.StatusMethodNotAllowed, "method_not_allowed", "")
		if got := res.header.Values("Allow"); strings.Join(got, ",") != "GET,HEAD" {
			t.Errorf("Allow: got %v, want GET, HEAD", got)
		}
	})
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		res := b.do("GET", "/healthz", nil, HeaderRequestID, "abc-123")
		if got := res.header.Get(HeaderRequestID); got != "abc-123" {
			t.Errorf("echoed request id: got %q, want abc-123", got)
		}
		res = b.do("GET", "/healthz", nil, HeaderRequestID, "bad id with spaces")
		if got := res.header.Get(HeaderRequestID); got == "" || strings.Contains(got, " ") {
			t.Errorf("replaced request id: got %q, want a fresh id", got)
		}
		b.do("GET", "/api/v1/plans", nil, HeaderRequestID, "req-42").ok(t, http.StatusOK, nil)
		logs := b.logs.String()
		for _, want := range []string{`"request_id":"req-42"`, `"method":"GET"`, `"path":"/api/v1/plans"`, `"status":200`, `"took":`, `"route":"GET /api/v1/plans"`} {
			if !strings.Contains(logs, want) {
				t.Errorf("logs: want %s in\n%s", want, logs)
			}
		}
	})
}

func TestInternalErrorHidesCause(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		b.store.set(func(f *faults) { f.updateErr = errors.New("pq: password authentication failed for secret stuff") })
		e := b.do("PATCH", b.actionPath("kickoff"), map[string]any{"version": 1, "status": "done"}).
			wantError(t, http.StatusInternalServerError, "internal", "")
		if e.RequestID == "" || e.Message != "internal error (request id "+e.RequestID+")" {
			t.Errorf("500 body: got %+v, want internal error with the request id", e)
		}
		logs := b.logs.String()
		if !strings.Contains(logs, "secret stuff") || !strings.Contains(logs, `"request_id":"`+e.RequestID+`"`) || !strings.Contains(logs, `"level":"error"`) {
			t.Errorf("logs: want the cause at error level with the request id, got\n%s", logs)
		}
	})
}

// TestReadyzSchema: /readyz is 503 "schema", saying to run `mapsync migrate up`, while the
// database is behind this binary, and ok again once it is migrated.
func TestReadyzSchema(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		if _, err := b.store.MigrateDown(t.Context()); err != nil {
			t.Fatal(err)
		}
		e := b.do("GET", "/readyz", nil, "Authorization", "").wantError(t, http.StatusServiceUnavailable, "schema", "")
		if !strings.Contains(e.Message, "run `mapsync migrate up`") {
			t.Errorf("readyz behind: got %q, want it to say to run mapsync migrate up", e.Message)
		}
		if _, err := b.store.MigrateUp(t.Context()); err != nil {
			t.Fatal(err)
		}
		b.do("GET", "/readyz", nil, "Authorization", "").ok(t, http.StatusOK, nil)
	})
}
