package connectors

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/mapsync/mapsync/internal/metrictest"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type clientBundle struct {
	client  *Client
	server  *httptest.Server
	metrics *Metrics
	reg     *prometheus.Registry
	logs    *syncBuffer
	hits    *atomic.Int64
}

const testToken = "00Dtest!SECRET-ACCESS-TOKEN"

func setupClient(t *testing.T, h http.HandlerFunc, mod func(*ClientOptions)) clientBundle {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	base, _ := url.Parse(srv.URL)
	opts := ClientOptions{
		Connection: "acme",
		CRM:        CRMSalesforce,
		Auth:       NewStaticToken(testToken),
		BaseURL:    func(*oauth2.Token) (*url.URL, error) { return base, nil },
		Retry:      RetryPolicy{MaxAttempts: 4, MinWait: time.Millisecond, MaxWait: 5 * time.Millisecond, AttemptTimeout: 2 * time.Second},
		Metrics:    m,
		Logger:     zerolog.New(logs),
	}
	if mod != nil {
		mod(&opts)
	}
	c, err := NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	return clientBundle{client: c, server: srv, metrics: m, reg: reg, logs: logs, hits: &hits}
}

// statusSequence answers with the given statuses in turn, then 200 {"ok":true}.
func statusSequence(header http.Header, statuses ...int) http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		if i < len(statuses) {
			for k, v := range header {
				w.Header()[k] = v
			}
			w.WriteHeader(statuses[i])
			_, _ = w.Write([]byte(`[{"message":"try later","errorCode":"SERVER_UNAVAILABLE"}]`))
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}
}

func TestClientRetryPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		handler     http.HandlerFunc
		req         Request
		wantHits    int64
		wantRetries float64
		wantKind    Kind // 0 for success
		wantAfter   time.Duration
	}{
		{name: "5xx burst then success", handler: statusSequence(nil, 503, 500, 502), req: Request{Op: "query", Method: "GET", Path: "/q"}, wantHits: 4, wantRetries: 3},
		{name: "5xx beyond the attempt cap", handler: statusSequence(nil, 503, 503, 503, 503, 503), req: Request{Op: "query", Method: "GET", Path: "/q"}, wantHits: 4, wantRetries: 3, wantKind: KindTransient},
		{name: "429 with Retry-After seconds", handler: statusSequence(http.Header{"Retry-After": {"0"}}, 429), req: Request{Op: "query", Method: "GET", Path: "/q"}, wantHits: 2, wantRetries: 1},
		{name: "429 with a long Retry-After goes back to the caller", handler: statusSequence(http.Header{"Retry-After": {"3600"}}, 429), req: Request{Op: "query", Method: "GET", Path: "/q"}, wantHits: 1, wantKind: KindRateLimited, wantAfter: time.Hour},
		{name: "daily quota is not retried", handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(403)
			_, _ = w.Write([]byte(`[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`))
		}, req: Request{Op: "query", Method: "GET", Path: "/q"}, wantHits: 1, wantKind: KindRateLimited},
		{name: "POST is not retried", handler: statusSequence(nil, 503), req: Request{Op: "create", Method: "POST", Path: "/c", Body: []byte(`{}`)}, wantHits: 1, wantKind: KindTransient},
		{name: "PATCH marked safe is retried", handler: statusSequence(nil, 503), req: Request{Op: "update", Method: "PATCH", Path: "/u", Body: []byte(`{}`), RetrySafe: true}, wantHits: 2, wantRetries: 1},
		{name: "400 is permanent", handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`[{"message":"unexpected token: FRM","errorCode":"MALFORMED_QUERY"}]`))
		}, req: Request{Op: "query", Method: "GET", Path: "/q"}, wantHits: 1, wantKind: KindPermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupClient(t, tt.handler, nil)
			resp, err := b.client.Do(t.Context(), tt.req)
			if got := b.hits.Load(); got != tt.wantHits {
				t.Errorf("requests: got %d, want %d", got, tt.wantHits)
			}
			if got := metricSum(t, b.reg, "mapsync_connector_retries_total"); got != tt.wantRetries {
				t.Errorf("retries metric: got %v, want %v", got, tt.wantRetries)
			}
			if reqs, retries := b.metrics.Calls("acme"); reqs != tt.wantHits || float64(retries) != tt.wantRetries {
				t.Errorf("Calls: got %d requests, %d retries; want %d, %v", reqs, retries, tt.wantHits, tt.wantRetries)
			}
			if reqs, _ := b.metrics.Calls("other"); reqs != 0 {
				t.Errorf("Calls of another connection: got %d, want 0", reqs)
			}
			if tt.wantKind == 0 {
				if err != nil {
					t.Fatalf("got error %v, want success", err)
				}
				if string(resp.Body) != `{"ok":true}` {
					t.Errorf("body: got %s", resp.Body)
				}
				return
			}
			if got := KindOf(err); got != tt.wantKind {
				t.Fatalf("kind: got %s (%v), want %s", got, err, tt.wantKind)
			}
			if got := RetryAfter(err); got != tt.wantAfter {
				t.Errorf("retry after: got %s, want %s", got, tt.wantAfter)
			}
			if strings.Contains(err.Error(), testToken) || strings.Contains(b.logs.String(), testToken) {
				t.Errorf("token leaked into error or logs")
			}
		})
	}
}

func TestClientRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	b := setupClient(t, statusSequence(http.Header{"Retry-After": {"1"}}, 429), nil)
	start := time.Now()
	if _, err := b.client.Do(t.Context(), Request{Op: "query", Method: "GET", Path: "/q"}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < time.Second {
		t.Errorf("retried after %s, want at least the 1s Retry-After", took)
	}
	logs := b.logs.String()
	for _, want := range []string{`"status":429`, `"reason":"429"`, `"path":"/q"`, `"attempt":1`, `"connection":"acme"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("retry log %s lacks %s", logs, want)
		}
	}
	if strings.Contains(logs, "Authorization") || strings.Contains(logs, testToken) {
		t.Errorf("retry log shows headers or token: %s", logs)
	}
}

func TestClientAttemptTimeout(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		slow     int64 // how many first attempts hang
		wantHits int64
		wantErr  bool
	}{
		"one slow attempt is retried": {slow: 1, wantHits: 2},
		"always slow gives up":        {slow: 100, wantHits: 3, wantErr: true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int64
			b := setupClient(t, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) <= tt.slow {
					<-r.Context().Done() // hang until the client gives up on this attempt
					return
				}
				_, _ = w.Write([]byte(`{}`))
			}, func(o *ClientOptions) {
				o.Retry.AttemptTimeout = 500 * time.Millisecond
				o.Retry.MaxAttempts = 3
			})
			_, err := b.client.Do(t.Context(), Request{Op: "query", Method: "GET", Path: "/q?q=SELECT+Id"})
			if got := b.hits.Load(); got != tt.wantHits {
				t.Errorf("requests: got %d, want %d", got, tt.wantHits)
			}
			if tt.wantErr {
				if KindOf(err) != KindTransient {
					t.Fatalf("got %v, want a transient error", err)
				}
				if strings.Contains(err.Error(), "SELECT") {
					t.Errorf("error repeats the query string: %v", err)
				}
				if !strings.Contains(b.logs.String(), `"reason":"timeout"`) {
					t.Errorf("no timeout retry logged: %s", b.logs.String())
				}
			} else if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestClientMaxElapsed(t *testing.T) {
	t.Parallel()
	b := setupClient(t, statusSequence(http.Header{"Retry-After": {"30"}}, 503, 503), func(o *ClientOptions) {
		o.Retry.MaxElapsed = 10 * time.Second
	})
	_, err := b.client.Do(t.Context(), Request{Op: "query", Method: "GET", Path: "/q"})
	if KindOf(err) != KindTransient {
		t.Fatalf("got %v, want transient", err)
	}
	if got := b.hits.Load(); got != 1 {
		t.Errorf("requests: got %d, want 1 (a 30s pause would pass the 10s total)", got)
	}
}

func TestClientGovernorReserve(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	govs := NewGovernors(GovernorOptions{DailyReserve: 0.1, Recheck: time.Minute, Now: func() time.Time { return now }})
	b := setupClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Sforce-Limit-Info", "api-usage=950/1000")
		_, _ = w.Write([]byte(`{}`))
	}, func(o *ClientOptions) { o.Governor = govs.For("acme") })
	if _, err := b.client.Do(t.Context(), Request{Op: "query", Method: "GET", Path: "/q"}); err != nil {
		t.Fatal(err)
	}
	// 950 of 1000 used, 10% reserved: the next call must not reach the CRM.
	_, err := b.client.Do(t.Context(), Request{Op: "query", Method: "GET", Path: "/q"})
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindRateLimited || !strings.Contains(e.Message, "reserve") {
		t.Fatalf("got %v, want a rate-limited reserve error", err)
	}
	if got := b.hits.Load(); got != 1 {
		t.Errorf("requests: got %d, want 1", got)
	}
	if got := metricSum(t, b.reg, "mapsync_connector_api_usage_ratio"); got != 0.95 {
		t.Errorf("api usage gauge: got %v, want 0.95", got)
	}
	if got := metricSum(t, b.reg, "mapsync_connector_governor_denied_total"); got != 1 {
		t.Errorf("governor denied: got %v, want 1", got)
	}
	if e.RetryAfter <= 0 || e.RetryAfter > time.Minute {
		t.Errorf("retry after: got %s, want (0, 1m]", e.RetryAfter)
	}
}

func TestGovernorProbesAfterRecheck(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	g := NewGovernors(GovernorOptions{DailyReserve: 0.2, Recheck: time.Minute, Now: clock}).For("acme")
	g.ObserveDaily(800, 1000)
	if err := g.Wait(t.Context()); KindOf(err) != KindRateLimited {
		t.Fatalf("at the reserve: got %v, want rate limited", err)
	}
	mu.Lock()
	now = now.Add(30 * time.Second)
	mu.Unlock()
	if err := g.Wait(t.Context()); KindOf(err) != KindRateLimited {
		t.Fatalf("before recheck: got %v, want rate limited", err)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if err := g.Wait(t.Context()); err != nil {
		t.Fatalf("probe after recheck: got %v, want nil", err)
	}
	if err := g.Wait(t.Context()); KindOf(err) != KindRateLimited {
		t.Fatalf("second probe: got %v, want rate limited", err)
	}
	g.ObserveDaily(100, 1000) // the rolling window recovered
	if err := g.Wait(t.Context()); err != nil {
		t.Fatalf("after recovery: got %v, want nil", err)
	}
	if used, max := g.Usage(); used != 101 || max != 1000 {
		t.Errorf("usage: got %d/%d, want 101/1000", used, max)
	}
}

func TestClientRefusesRedirectsAndForeignPaths(t *testing.T) {
	t.Parallel()
	var foreign atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { foreign.Add(1) }))
	t.Cleanup(evil.Close)
	b := setupClient(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, evil.URL+"/steal", http.StatusFound)
	}, nil)
	if _, err := b.client.Do(t.Context(), Request{Op: "query", Method: "GET", Path: "/q"}); KindOf(err) != KindPermanent {
		t.Errorf("redirect: got %v, want permanent error", err)
	}
	if _, err := b.client.Do(t.Context(), Request{Op: "query", Method: "GET", Path: evil.URL + "/x"}); KindOf(err) != KindPermanent {
		t.Errorf("absolute foreign path: got %v, want permanent error", err)
	}
	if got := foreign.Load(); got != 0 {
		t.Errorf("foreign host got %d requests, want 0", got)
	}
}

func TestGovernorFollowsWindowHeaders(t *testing.T) {
	t.Parallel()
	govs := NewGovernors(GovernorOptions{Rate: 50, Burst: 5})
	b := setupClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-HubSpot-RateLimit-Max", "100")
		w.Header().Set("X-HubSpot-RateLimit-Remaining", "90")
		w.Header().Set("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
		w.Header().Set("X-HubSpot-RateLimit-Daily", "250000")
		w.Header().Set("X-HubSpot-RateLimit-Daily-Remaining", "200000")
		_, _ = w.Write([]byte(`{}`))
	}, func(o *ClientOptions) {
		o.CRM = CRMHubSpot
		o.Governor = govs.For("acme")
	})
	if _, err := b.client.Do(t.Context(), Request{Op: "list", Method: "GET", Path: "/crm/v3/objects/deals"}); err != nil {
		t.Fatal(err)
	}
	g := govs.For("acme")
	g.mu.Lock()
	winMax, winInterval := g.winMax, g.winInterval
	g.mu.Unlock()
	if winMax != 100 || winInterval != 10*time.Second {
		t.Errorf("window: got %d per %s, want 100 per 10s (the headers')", winMax, winInterval)
	}
	if used, max := g.Usage(); used != 50000 || max != 250000 {
		t.Errorf("daily usage: got %d/%d, want 50000/250000", used, max)
	}
	if got := metricSum(t, b.reg, "mapsync_connector_api_usage_ratio"); got != 0.2 {
		t.Errorf("api usage gauge: got %v, want 0.2", got)
	}
	if got := metricSum(t, b.reg, "mapsync_connector_requests_total"); got != 1 {
		t.Errorf("requests metric: got %v, want 1", got)
	}
	if govs.For("acme") != g || govs.For("other") == g {
		t.Error("governors are not one per connection")
	}
}

func TestClientCancelledDuringBackoff(t *testing.T) {
	t.Parallel()
	b := setupClient(t, statusSequence(http.Header{"Retry-After": {"30"}}, 503), func(o *ClientOptions) {
		o.Retry.MaxElapsed = time.Hour
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := b.client.Do(ctx, Request{Op: "query", Method: "GET", Path: "/q"})
		done <- err
	}()
	// Wait until the first attempt has been answered and the 30 s pause begun.
	deadline := time.Now().Add(5 * time.Second)
	for b.hits.Load() == 0 || metricSum(t, b.reg, "mapsync_connector_retries_total") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no retry scheduled")
		}
		runtime.Gosched()
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Do did not return after cancel")
	}
}

func TestClientBodyCap(t *testing.T) {
	t.Parallel()
	b := setupClient(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(bytes.Repeat([]byte("x"), 4096))
	}, func(o *ClientOptions) { o.MaxBody = 1024; o.Retry.MaxAttempts = 1 })
	_, err := b.client.Do(t.Context(), Request{Op: "query", Method: "GET", Path: "/q"})
	if KindOf(err) != KindTransient || !strings.Contains(err.Error(), "over 1024 bytes") {
		t.Fatalf("got %v, want a transient body-size error", err)
	}
}

// The pause before a retry is full jitter: uniform in [0, min(MaxWait, MinWait·2^attempt)].
// Fixed pauses, or "equal jitter" (half the ceiling plus a random half), would let many clients
// that failed together retry together; this fails for either.
func TestClientBackoffIsFullJitter(t *testing.T) {
	t.Parallel()
	const (
		minWait = 100 * time.Millisecond
		maxWait = time.Second
		samples = 2000
	)
	cb := setupClient(t, statusSequence(nil), func(o *ClientOptions) {
		o.Retry = RetryPolicy{MaxAttempts: 100, MinWait: minWait, MaxWait: maxWait, MaxElapsed: time.Hour}
	})
	for attempt := 1; attempt <= 5; attempt++ {
		ceiling := min(maxWait, minWait<<attempt)
		r := &retrier{c: cb.client, req: Request{Op: "query", Method: http.MethodGet}, start: time.Now(), attempt: attempt}
		var (
			lo, hi = time.Duration(1 << 62), time.Duration(0)
			sum    time.Duration
			seen   = map[time.Duration]bool{}
		)
		for range samples {
			resp := &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{}, Body: http.NoBody}
			retry, err := r.checkRetry(t.Context(), resp, nil)
			if !retry || err != nil {
				t.Fatalf("attempt %d: 503 not retried (%v, %v)", attempt, retry, err)
			}
			w := r.backoff(minWait, maxWait, attempt, resp)
			if w != r.wait {
				t.Fatalf("attempt %d: backoff %v, want the pause checkRetry chose (%v)", attempt, w, r.wait)
			}
			if w < 0 || w > ceiling {
				t.Fatalf("attempt %d: pause %v outside [0, %v]", attempt, w, ceiling)
			}
			lo, hi = min(lo, w), max(hi, w)
			sum += w
			seen[w] = true
		}
		mean := sum / samples
		// Uniform over [0, ceiling]: both ends reached, the mean in the middle, hardly a repeat.
		if lo > ceiling/10 || hi < ceiling*9/10 {
			t.Errorf("attempt %d: pauses span [%v, %v], want about [0, %v]", attempt, lo, hi, ceiling)
		}
		if mean < ceiling*4/10 || mean > ceiling*6/10 {
			t.Errorf("attempt %d: mean pause %v, want about %v", attempt, mean, ceiling/2)
		}
		if len(seen) < samples/2 {
			t.Errorf("attempt %d: %d distinct pauses in %d, want them spread", attempt, len(seen), samples)
		}
	}
	// Every sample was a retry, counted once each.
	if got := metricSum(t, cb.reg, "mapsync_connector_retries_total"); got != 5*samples {
		t.Errorf("retries counted: got %v, want %d", got, 5*samples)
	}
}

// badThenGood answers n bodies that are not JSON, then {"records":[]}.
func badThenGood(n int64) http.HandlerFunc {
	var seen atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if seen.Add(1) <= n {
			_, _ = w.Write([]byte(`{"records":[`))
			return
		}
		_, _ = w.Write([]byte(`{"records":[]}`))
	}
}

// A 2xx reply that Request.Decode rejects as transient is retried like a 5xx, only when the
// request may be repeated; a non-transient decode error ends the request at once.
func TestClientDecodeRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		bad         int64
		req         Request
		decodeErr   error // instead of DecodeJSON
		wantHits    int64
		wantRetries float64
		wantCode    string // "" for success
	}{
		{name: "GET recovers", bad: 2, req: Request{Op: "query", Method: "GET", Path: "/q"}, wantHits: 3, wantRetries: 2},
		{name: "GET beyond the attempt cap", bad: 10, req: Request{Op: "query", Method: "GET", Path: "/q"}, wantHits: 4, wantRetries: 3, wantCode: "MALFORMED_JSON"},
		{name: "POST is not repeated", bad: 1, req: Request{Op: "create", Method: "POST", Path: "/c", Body: []byte(`{}`)}, wantHits: 1, wantCode: "MALFORMED_JSON"},
		{name: "safe POST is repeated", bad: 1, req: Request{Op: "search", Method: "POST", Path: "/s", Body: []byte(`{}`), RetrySafe: true}, wantHits: 2, wantRetries: 1},
		{name: "permanent decode error", bad: 0, req: Request{Op: "query", Method: "GET", Path: "/q"}, decodeErr: &Error{Kind: KindPermanent, Code: "NOPE"}, wantHits: 1, wantCode: "NOPE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupClient(t, badThenGood(tt.bad), nil)
			var out shapedPage
			req := tt.req
			req.Decode = func(r *Response) error {
				if tt.decodeErr != nil {
					return tt.decodeErr
				}
				return DecodeJSON(r, &out)
			}
			_, err := b.client.Do(t.Context(), req)
			if got := b.hits.Load(); got != tt.wantHits {
				t.Errorf("requests: got %d, want %d", got, tt.wantHits)
			}
			if got := metrictest.Sum(t, b.reg, "mapsync_connector_retries_total", map[string]string{"reason": "malformed"}); got != tt.wantRetries {
				t.Errorf("malformed retries: got %v, want %v", got, tt.wantRetries)
			}
			if tt.wantCode == "" {
				if err != nil || out.Records == nil {
					t.Fatalf("got %v (records %v), want a decoded reply", err, out.Records)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.wantCode {
				t.Fatalf("got %v, want code %s", err, tt.wantCode)
			}
			if got := metricSum(t, b.reg, "mapsync_connector_errors_total"); got != 1 {
				t.Errorf("errors metric: got %v, want 1", got)
			}
		})
	}
}
