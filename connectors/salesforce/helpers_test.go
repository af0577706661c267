package salesforce

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/internal/metrictest"
	sandbox "github.com/mapsync/mapsync/sandbox/salesforce"
)

// memStore is an in-memory connectors.TokenStore (the real one is the encrypted store).
type memStore struct {
	mu    sync.Mutex
	toks  map[string][]byte
	saves int
}

func (m *memStore) LoadToken(_ context.Context, connection string) (*oauth2.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.toks[connection]
	if !ok {
		return nil, errors.New("no token")
	}
	return connectors.UnmarshalToken(b)
}

func (m *memStore) SaveToken(_ context.Context, connection string, tok *oauth2.Token) error {
	b, err := connectors.MarshalToken(tok)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.toks[connection] = b
	m.saves++
	return nil
}

type reauthRecorder struct {
	mu      sync.Mutex
	reasons []string
}

func (r *reauthRecorder) NeedsReauth(_ context.Context, connection, reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reasons = append(r.reasons, reason)
	return nil
}

func (r *reauthRecorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.reasons...)
}

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

// testBundle is what setup hands a test besides the connector.
type testBundle struct {
	sb     *sandbox.Sandbox
	server *httptest.Server
	store  *memStore
	reauth *reauthRecorder
	reg    *prometheus.Registry
	logs   *syncBuffer
	tokens *connectors.TokenSource
}

// setup starts the sandbox over real HTTP (optionally wrapped by wrap, to inject wire faults the
// sandbox has no switch for) and a connector that logs in with the sandbox's refresh token.
func setup(t testing.TB, sbOpts sandbox.Options, wrap func(http.Handler) http.Handler, mod func(*Options)) (*Connector, *testBundle) {
	t.Helper()
	if sbOpts.Deals == 0 {
		sbOpts.Deals = 50
	}
	if sbOpts.Seed == 0 {
		sbOpts.Seed = 7
	}
	sb := sandbox.New(sbOpts)
	t.Cleanup(sb.Close)
	var h http.Handler = sb
	if wrap != nil {
		h = wrap(sb)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	store := &memStore{toks: map[string][]byte{}}
	if err := store.SaveToken(context.Background(), "acme", &oauth2.Token{RefreshToken: sandbox.RefreshToken}); err != nil {
		t.Fatal(err)
	}
	store.saves = 0
	reg := prometheus.NewRegistry()
	metrics, err := connectors.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	logger := zerolog.New(logs)
	rec := &reauthRecorder{}
	ts, err := connectors.NewTokenSource(connectors.TokenSourceOptions{
		Connection: "acme",
		Config: &oauth2.Config{
			ClientID: sandbox.ClientID, ClientSecret: sandbox.ClientSecret, Endpoint: OAuthEndpoint(srv.URL),
		},
		Store:     store,
		Reauth:    rec,
		Metrics:   metrics,
		Logger:    logger,
		ExtraKeys: TokenExtraKeys(),
	})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Connection: "acme",
		Auth:       ts,
		Instance:   connectors.InstancePolicy{Sandbox: true},
		Retry:      connectors.RetryPolicy{MaxAttempts: 4, MinWait: time.Millisecond, MaxWait: 10 * time.Millisecond, AttemptTimeout: 5 * time.Second},
		Metrics:    metrics,
		Logger:     logger,
	}
	if mod != nil {
		mod(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, &testBundle{sb: sb, server: srv, store: store, reauth: rec, reg: reg, logs: logs, tokens: ts}
}

// pullResult collects what a pull delivered.
type pullResult struct {
	pages   []connectors.Page
	records []connectors.Record
}

func (r pullResult) ids() map[string]int {
	out := map[string]int{}
	for _, rec := range r.records {
		out[rec.ID]++
	}
	return out
}

func (r pullResult) last() connectors.Cursor {
	if len(r.pages) == 0 {
		return connectors.Cursor{}
	}
	return r.pages[len(r.pages)-1].Cursor
}

func pull(t testing.TB, c *Connector, req connectors.PullRequest) pullResult {
	t.Helper()
	res, err := tryPull(t.Context(), c, req, nil)
	if err != nil {
		t.Fatalf("pull %s: %v", req.Object, err)
	}
	return res
}

// tryPull pulls and collects; onPage (optional) runs after each page is recorded.
func tryPull(ctx context.Context, c *Connector, req connectors.PullRequest, onPage func(connectors.Page) error) (pullResult, error) {
	var res pullResult
	err := c.Pull(ctx, req, func(p connectors.Page) error {
		res.pages = append(res.pages, p)
		res.records = append(res.records, p.Records...)
		if onPage != nil {
			return onPage(p)
		}
		return nil
	})
	return res, err
}

// checkOrdered fails unless records ascend by (stamp, id), no (id, stamp) repeats, and each page's
// cursor is its last record (or the request's Since, when that is later).
func checkOrdered(t testing.TB, res pullResult) {
	t.Helper()
	type key struct {
		id    string
		stamp int64
	}
	seen := map[key]bool{}
	var prev *connectors.Record
	var prevCursor *connectors.Cursor
	for _, p := range res.pages {
		if len(p.Records) == 0 {
			t.Errorf("empty page delivered")
			continue
		}
		last := p.Records[len(p.Records)-1]
		lastC := connectors.Cursor{Stamp: last.ModifiedAt, ID: last.ID}
		if (!p.Cursor.Stamp.Equal(last.ModifiedAt) || p.Cursor.ID != last.ID) && !lastC.After(p.Cursor.Stamp, p.Cursor.ID) {
			t.Errorf("page cursor %v/%s, want its last record %v/%s or later", p.Cursor.Stamp, p.Cursor.ID, last.ModifiedAt, last.ID)
		}
		if prevCursor != nil && p.Cursor.After(prevCursor.Stamp, prevCursor.ID) {
			t.Errorf("cursor moved back from %v/%s to %v/%s", prevCursor.Stamp, prevCursor.ID, p.Cursor.Stamp, p.Cursor.ID)
		}
		prevCursor = &p.Cursor
		for i := range p.Records {
			r := &p.Records[i]
			k := key{r.ID, r.ModifiedAt.UnixMilli()}
			if seen[k] {
				t.Errorf("record %s at %v delivered twice", r.ID, r.ModifiedAt)
			}
			seen[k] = true
			if prev != nil && (r.ModifiedAt.Before(prev.ModifiedAt) || r.ModifiedAt.Equal(prev.ModifiedAt) && r.ID <= prev.ID) {
				t.Errorf("record %s/%v after %s/%v: out of order", r.ID, r.ModifiedAt, prev.ID, prev.ModifiedAt)
			}
			prev = r
		}
	}
}

// metricSum adds up every counter or gauge series of the named family.
func metricSum(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	return metrictest.Sum(t, reg, name, nil)
}

// errorsAs is errors.As for tests that import no errors package of their own.
func errorsAs(err error, target any) bool { return errors.As(err, target) }

// sandboxStamp is a stamp inside the sandbox's data range.
func sandboxStamp() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }

// checkDealOrder checks a Full deal_contact pull: records ascend by (OpportunityId, Id), each deal's
// records sit on one page, every page's Roles are exactly its deals' live roles, and cursors never
// move back.
func checkDealOrder(t testing.TB, res pullResult) {
	t.Helper()
	pageOf := map[string]int{}
	prevDeal, prevID := "", ""
	var prevCursor *connectors.Cursor
	for i, p := range res.pages {
		if len(p.Records) == 0 {
			t.Errorf("empty page delivered")
		}
		live := map[string]int{}
		for _, r := range p.Records {
			deal := r.Fields["OpportunityId"].(string)
			if deal < prevDeal || deal == prevDeal && r.ID <= prevID {
				t.Errorf("record %s of deal %s after %s of %s: out of deal order", r.ID, deal, prevID, prevDeal)
			}
			prevDeal, prevID = deal, r.ID
			if pg, ok := pageOf[deal]; ok && pg != i {
				t.Errorf("deal %s split across pages %d and %d", deal, pg+1, i+1)
			}
			pageOf[deal] = i
			if !r.Deleted {
				live[deal]++
			}
		}
		if len(p.Roles) != len(live) && len(p.Roles) < len(live) {
			t.Errorf("page %d: roles for %d deals, want %d", i+1, len(p.Roles), len(live))
		}
		for deal, n := range live {
			if len(p.Roles[deal]) != n {
				t.Errorf("page %d deal %s: %d roles, want %d", i+1, deal, len(p.Roles[deal]), n)
			}
		}
		if prevCursor != nil && p.Cursor.After(prevCursor.Stamp, prevCursor.ID) {
			t.Errorf("cursor moved back")
		}
		prevCursor = &p.Cursor
	}
}

// opCalls sums mapsync_connector_requests_total for one op ("" for every op): the attempts the
// connector sent, counted on the client side (the sandbox counts after it has answered, which can
// race with a test reading its counters).
func opCalls(t testing.TB, reg *prometheus.Registry, op string) int64 {
	t.Helper()
	labels := map[string]string{}
	if op != "" {
		labels["op"] = op
	}
	return int64(metrictest.Sum(t, reg, "mapsync_connector_requests_total", labels))
}

// errorsOfKind is mapsync_connector_errors_total for one op and kind.
func errorsOfKind(t testing.TB, reg *prometheus.Registry, op string, kind connectors.Kind) float64 {
	t.Helper()
	return metrictest.Sum(t, reg, "mapsync_connector_errors_total", map[string]string{"op": op, "kind": kind.String()})
}

// tokenCalls is how many times the token endpoint was called (every refresh outcome counts one).
func tokenCalls(t testing.TB, reg *prometheus.Registry) int64 {
	t.Helper()
	return int64(metricSum(t, reg, "mapsync_connector_token_refreshes_total"))
}
