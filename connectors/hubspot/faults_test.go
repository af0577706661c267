package hubspot

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/mapsync/mapsync/connectors"
	sandbox "github.com/mapsync/mapsync/sandbox/hubspot"
)

func TestPullRecoversFrom5xxBurst(t *testing.T) {
	t.Parallel()
	c, tb := setup(t, sandbox.Options{Deals: 150, Seed: 11}, nil)
	tb.sb.InjectServerErrors(3, http.StatusServiceUnavailable)
	res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true})
	sameIDs(t, res.ids(), tb.sb.IDs("deals"))
	if got := countStatus(tb.sb, "GET /crm/v3/objects/deals", http.StatusServiceUnavailable); got != 3 {
		t.Errorf("got %d 503 answers, want 3 retried", got)
	}
	wantMetric(t, tb.reg, retriesMetric, reason("5xx"), 3)
	wantMetric(t, tb.reg, retriesMetric, anySeries, 3)
	wantMetric(t, tb.reg, errorsMetric, anySeries, 0)
	wantMetric(t, tb.reg, requestsMetric, map[string]string{"connection": "test", "op": "list", "status": "503"}, 3)
}

func TestPullFailsWholePageAfterLongBurstAndResumes(t *testing.T) {
	t.Parallel()
	c, tb := setup(t, sandbox.Options{Deals: 600, Seed: 12}, func(o *Options) { o.Retry.MaxAttempts = 3 })
	var res pullResult
	err := c.Pull(t.Context(), connectors.PullRequest{Object: connectors.ObjectContact}, func(p connectors.Page) error {
		res.pages = append(res.pages, p)
		res.records = append(res.records, p.Records...)
		if len(res.pages) == 1 {
			tb.sb.InjectServerErrors(3, http.StatusBadGateway) // the next page fails every attempt
		}
		return nil
	})
	if connectors.KindOf(err) != connectors.KindTransient || !connectors.IsRetryable(err) {
		t.Fatalf("got error %v, want a retryable transient error", err)
	}
	if e := errorsAs(err); e == nil || e.Status != http.StatusBadGateway {
		t.Errorf("got %+v, want the last status 502 in the error", e)
	}
	if !strings.Contains(err.Error(), "page 2") {
		t.Errorf("got %q, want the failed page named", err)
	}
	if len(res.pages) != 1 {
		t.Fatalf("got %d pages before the failure, want 1", len(res.pages))
	}
	// Three attempts: two retries, then one failed operation.
	wantMetric(t, tb.reg, retriesMetric, reason("5xx"), 2)
	wantMetric(t, tb.reg, errorsMetric, kind("transient"), 1)
	wantMetric(t, tb.reg, errorsMetric, anySeries, 1)
	resumed := pull(t, c, connectors.PullRequest{Object: connectors.ObjectContact, Since: res.pages[0].Cursor})
	all := append(res.ids(), resumed.ids()...)
	// The resume starts at the cursor's stamp, so records at that stamp come again; the store's
	// idempotent upsert absorbs them.
	slices.SortFunc(all, connectors.CompareIDs)
	sameIDs(t, slices.Compact(all), tb.sb.IDs("contacts"))
}

// retryAfter adds a Retry-After header to every 429 the sandbox answers.
func retryAfter(seconds string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&headerOn429{ResponseWriter: w, value: seconds}, r)
	})
}

type headerOn429 struct {
	http.ResponseWriter
	value string
}

func (h *headerOn429) WriteHeader(code int) {
	if code == http.StatusTooManyRequests {
		h.Header().Set("Retry-After", h.value)
	}
	h.ResponseWriter.WriteHeader(code)
}

func TestPullRateLimited(t *testing.T) {
	t.Parallel()
	t.Run("ten-secondly with Retry-After is waited out", func(t *testing.T) {
		t.Parallel()
		c, tb := setup(t, sandbox.Options{Deals: 50, Seed: 13}, nil)
		srv := httptest.NewServer(retryAfter("1", tb.sb))
		t.Cleanup(srv.Close)
		c = reconnect(t, c, srv.URL)
		tb.sb.InjectRateLimits(1)
		start := time.Now()
		res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true})
		sameIDs(t, res.ids(), tb.sb.IDs("deals"))
		if took := time.Since(start); took < time.Second {
			t.Errorf("got the pull done in %v, want at least the 1 s Retry-After", took)
		}
		wantMetric(t, tb.reg, retriesMetric, reason("429"), 1)
		wantMetric(t, tb.reg, errorsMetric, anySeries, 0)
	})
	t.Run("ten-secondly without Retry-After waits the window", func(t *testing.T) {
		t.Parallel()
		// Longer than this caller will wait in place: the error carries the policy and the wait.
		c, tb := setup(t, sandbox.Options{Deals: 50, Seed: 13}, func(o *Options) { o.Retry.MaxRetryAfter = 100 * time.Millisecond })
		tb.sb.InjectRateLimits(1)
		_, err := tryPull(t.Context(), c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true})
		e := errorsAs(err)
		if e == nil || e.Kind != connectors.KindRateLimited || e.Code != "TEN_SECONDLY_ROLLING" || e.RetryAfter != 10*time.Second {
			t.Errorf("got %v, want rate_limited TEN_SECONDLY_ROLLING with a 10 s RetryAfter", err)
		}
		// Returned to the caller, not waited out in place.
		wantMetric(t, tb.reg, retriesMetric, anySeries, 0)
		wantMetric(t, tb.reg, errorsMetric, kind("rate_limited"), 1)
	})
	t.Run("search secondly limit is retried after a second", func(t *testing.T) {
		t.Parallel()
		c, tb := setup(t, sandbox.Options{Deals: 50, Seed: 13}, nil)
		tb.sb.InjectRateLimits(1)
		start := time.Now()
		res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal})
		sameIDs(t, res.ids(), tb.sb.IDs("deals"))
		if got := countStatus(tb.sb, "POST /crm/v3/objects/deals/search", http.StatusTooManyRequests); got != 1 {
			t.Errorf("got %d search 429s, want 1", got)
		}
		if took := time.Since(start); took < time.Second {
			t.Errorf("got the pull done in %v, want at least the 1 s search back-off", took)
		}
		wantMetric(t, tb.reg, retriesMetric, map[string]string{"connection": "test", "op": "search", "reason": "429"}, 1)
		wantMetric(t, tb.reg, errorsMetric, anySeries, 0)
	})
	t.Run("daily limit is not retried", func(t *testing.T) {
		t.Parallel()
		c, tb := setup(t, sandbox.Options{Deals: 50, Seed: 13, DailyLimit: 1}, nil)
		if _, err := c.Describe(t.Context(), connectors.ObjectDeal); err != nil {
			t.Fatal(err)
		}
		_, err := c.Describe(t.Context(), connectors.ObjectDeal)
		if e := errorsAs(err); e == nil || e.Kind != connectors.KindRateLimited || e.Code != "DAILY" {
			t.Errorf("got %v, want rate_limited DAILY", err)
		}
		// The sandbox counts a request after answering it: wait for the count to settle.
		if got := settledCount(t, tb.sb, "GET /crm/v3/properties/deals", http.StatusTooManyRequests, 1); got != 1 {
			t.Errorf("got %d 429s, want 1 (DAILY is not retried)", got)
		}
		wantMetric(t, tb.reg, retriesMetric, anySeries, 0)
		wantMetric(t, tb.reg, errorsMetric, kind("rate_limited"), 1)
	})
}

// reconnect returns a connector like c that talks to base.
func reconnect(t *testing.T, c *Connector, base string) *Connector {
	t.Helper()
	opts := c.opts
	opts.BaseURL = base
	nc, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return nc
}

func TestSearchRespectsSecondlyLimit(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		perSecond float64
		want429   bool
	}{
		"paced at 5 per second": {perSecond: 0, want429: false},
		"unpaced is throttled":  {perSecond: -1, want429: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, tb := setup(t, sandbox.Options{Deals: 600, Seed: 14, SearchPerSecond: 5}, func(o *Options) { o.SearchPerSecond = tc.perSecond })
			res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectContact})
			sameIDs(t, res.ids(), tb.sb.IDs("contacts"))
			calls := tb.sb.Requests("POST /crm/v3/objects/contacts/search")
			got429 := countStatus(tb.sb, "POST /crm/v3/objects/contacts/search", http.StatusTooManyRequests)
			if (got429 > 0) != tc.want429 {
				t.Errorf("got %d 429s in %d searches, want 429s: %v", got429, calls, tc.want429)
			}
		})
	}
}

func TestPullSlowResponses(t *testing.T) {
	t.Parallel()
	t.Run("one slow page is retried", func(t *testing.T) {
		t.Parallel()
		c, tb := setup(t, sandbox.Options{Deals: 100, Seed: 15}, func(o *Options) { o.Retry.AttemptTimeout = 300 * time.Millisecond })
		tb.sb.InjectSlow(1, 3*time.Second)
		res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true})
		sameIDs(t, res.ids(), tb.sb.IDs("deals"))
		wantMetric(t, tb.reg, retriesMetric, reason("timeout"), 1)
		wantMetric(t, tb.reg, retriesMetric, anySeries, 1)
		wantMetric(t, tb.reg, errorsMetric, anySeries, 0)
		wantMetric(t, tb.reg, requestsMetric, map[string]string{"connection": "test", "status": "error"}, 1)
	})
	t.Run("a CRM that stays slow fails within the budget", func(t *testing.T) {
		t.Parallel()
		c, tb := setup(t, sandbox.Options{Deals: 100, Seed: 15}, func(o *Options) {
			o.Retry.AttemptTimeout = 200 * time.Millisecond
			o.Retry.MaxAttempts = 3
		})
		tb.sb.SetLatency(1500 * time.Millisecond)
		start := time.Now()
		res, err := tryPull(t.Context(), c, connectors.PullRequest{Object: connectors.ObjectDeal})
		if connectors.KindOf(err) != connectors.KindTransient {
			t.Errorf("got %v, want a transient timeout error", err)
		}
		if len(res.pages) != 0 {
			t.Errorf("got %d pages, want none", len(res.pages))
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("got the failure after %v, want about 3 × 200 ms", took)
		}
		// Three attempts timed out: two retries, one failed operation.
		wantMetric(t, tb.reg, retriesMetric, reason("timeout"), 2)
		wantMetric(t, tb.reg, errorsMetric, kind("transient"), 1)
	})
}

// memStore is an in-memory connectors.TokenStore that counts saves.
type memStore struct {
	mu    sync.Mutex
	tok   *oauth2.Token
	saves int
}

func (m *memStore) LoadToken(context.Context, string) (*oauth2.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := *m.tok
	return &t, nil
}

func (m *memStore) SaveToken(_ context.Context, _ string, tok *oauth2.Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := *tok
	m.tok = &t
	m.saves++
	return nil
}

// reauthLog records NeedsReauth reports.
type reauthLog struct {
	mu      sync.Mutex
	reasons []string
}

func (r *reauthLog) NeedsReauth(_ context.Context, _, reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reasons = append(r.reasons, reason)
	return nil
}

// setupOAuth starts a sandbox and a connector that authenticates with the OAuth refresh flow.
func setupOAuth(t *testing.T) (*Connector, *testBundle, *memStore, *reauthLog) {
	t.Helper()
	store := &memStore{tok: &oauth2.Token{RefreshToken: sandbox.RefreshToken}}
	reauth := &reauthLog{}
	var c *Connector
	c, tb := setup(t, sandbox.Options{Deals: 30, Seed: 16}, nil)
	ts, err := connectors.NewTokenSource(connectors.TokenSourceOptions{
		Connection: "test",
		Config:     OAuthConfig(tb.srv.URL, sandbox.ClientID, sandbox.ClientSecret),
		Store:      store,
		Reauth:     reauth,
		Metrics:    tb.metrics,
	})
	if err != nil {
		t.Fatal(err)
	}
	opts := c.opts
	opts.Auth = ts
	if c, err = New(opts); err != nil {
		t.Fatal(err)
	}
	return c, tb, store, reauth
}

func TestOAuthRefreshesExpiredToken(t *testing.T) {
	t.Parallel()
	c, tb, store, _ := setupOAuth(t)
	pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal})
	first := store.tok.AccessToken
	if first == "" || store.saves != 1 {
		t.Fatalf("got token %q after %d saves, want one refreshed token", first, store.saves)
	}
	tb.sb.ExpireTokens()
	res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal})
	sameIDs(t, res.ids(), tb.sb.IDs("deals"))
	if store.tok.AccessToken == first || store.saves != 2 {
		t.Errorf("got %d saves, token changed %v; want the expired token refreshed and saved once", store.saves, store.tok.AccessToken != first)
	}
	if got := countStatus(tb.sb, "POST /crm/v3/objects/deals/search", http.StatusUnauthorized); got != 1 {
		t.Errorf("got %d 401s, want 1 before the refresh", got)
	}
	// The first token and the refresh after the 401; nothing failed.
	wantMetric(t, tb.reg, refreshMetric, outcome("ok"), 2)
	wantMetric(t, tb.reg, refreshMetric, anySeries, 2)
	wantMetric(t, tb.reg, errorsMetric, anySeries, 0)
	wantMetric(t, tb.reg, requestsMetric, map[string]string{"connection": "test", "op": "search", "status": "401"}, 1)
}

func TestOAuthRevokedRefreshTokenNeedsReauth(t *testing.T) {
	t.Parallel()
	c, tb, _, reauth := setupOAuth(t)
	pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal})
	tb.sb.RevokeRefreshToken()
	tb.sb.ExpireTokens()
	_, err := tryPull(t.Context(), c, connectors.PullRequest{Object: connectors.ObjectDeal})
	if connectors.KindOf(err) != connectors.KindNeedsReauth {
		t.Fatalf("got %v, want needs_reauth", err)
	}
	if strings.Contains(err.Error(), sandbox.RefreshToken) || strings.Contains(err.Error(), sandbox.ClientSecret) {
		t.Errorf("got a secret in the error %q", err)
	}
	if len(reauth.reasons) != 1 {
		t.Errorf("got %d needs_reauth reports, want 1", len(reauth.reasons))
	}
	wantMetric(t, tb.reg, refreshMetric, outcome("needs_reauth"), 1)
	wantMetric(t, tb.reg, errorsMetric, kind("needs_reauth"), 1)
	// Later calls fail fast without hammering the token endpoint.
	before := tb.sb.Requests("POST /oauth/v1/token")
	if _, err := c.Describe(t.Context(), connectors.ObjectDeal); connectors.KindOf(err) != connectors.KindNeedsReauth {
		t.Errorf("got %v, want needs_reauth again", err)
	}
	if after := tb.sb.Requests("POST /oauth/v1/token"); after != before {
		t.Errorf("got %d more token calls, want none", after-before)
	}
	// The refused refresh is counted once; every failed operation is counted.
	wantMetric(t, tb.reg, refreshMetric, outcome("needs_reauth"), 1)
	wantMetric(t, tb.reg, errorsMetric, kind("needs_reauth"), 2)
}

func TestPullUndecodableRecord(t *testing.T) {
	t.Parallel()
	c, tb := setup(t, sandbox.Options{Deals: 20, Seed: 17}, nil)
	// A well-formed reply whose record has a stamp that is not a date.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/crm/v3/objects/deals") {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"results":[{"id":"1","properties":{"hs_lastmodifieddate":"yesterday"},"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z","archived":false}]}`))
			return
		}
		tb.sb.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c = reconnect(t, c, srv.URL)
	res, err := tryPull(t.Context(), c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true})
	if e := errorsAs(err); e == nil || e.Code != "BAD_RECORD" {
		t.Fatalf("got %v, want a BAD_RECORD error", err)
	}
	if len(res.pages) != 0 {
		t.Errorf("got %d pages, want none", len(res.pages))
	}
	wantMetric(t, tb.reg, errorsMetric, map[string]string{"connection": "test", "crm": "hubspot", "op": "list", "kind": "transient"}, 1)
}

// settledCount polls the sandbox's counter of endpoint and status (0: any status, and any endpoint
// starting with endpoint) until it
// reaches want or a deadline passes, and returns what it last saw: the sandbox counts a request
// after answering it, so the last answer's count may lag.
func settledCount(t *testing.T, sb *sandbox.Sandbox, endpoint string, status, want int) int {
	t.Helper()
	count := func() int {
		if status != 0 {
			return countStatus(sb, endpoint, status)
		}
		n := 0
		for _, c := range sb.Counts() {
			if strings.HasPrefix(c.Endpoint, endpoint) {
				n += c.N
			}
		}
		return n
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		got := count()
		if got >= want || time.Now().After(deadline) {
			return got
		}
		select {
		case <-t.Context().Done():
			return got
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func TestOAuthOneRefreshForManyWorkers(t *testing.T) {
	t.Parallel()
	c, tb, store, _ := setupOAuth(t)
	pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal})
	tb.sb.ExpireTokens()
	before := tb.sb.Requests("POST /oauth/v1/token")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := c.Describe(t.Context(), connectors.ObjectContact)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("describe: %v", err)
		}
	}
	if got := settledCount(t, tb.sb, "POST /oauth/v1/token", 0, before+1) - before; got != 1 {
		t.Errorf("got %d refreshes for 8 workers, want 1", got)
	}
	if store.saves != 2 {
		t.Errorf("got %d token saves, want 2 (first token, one refresh)", store.saves)
	}
}
