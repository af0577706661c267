package hubspot

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/internal/metrictest"
	sandbox "github.com/mapsync/mapsync/sandbox/hubspot"
)

// testBundle holds what a test needs besides the connector.
type testBundle struct {
	sb  *sandbox.Sandbox
	srv *httptest.Server
	// reg holds the connector's metrics (unless mod gave the connector metrics of its own).
	reg     *prometheus.Registry
	metrics *connectors.Metrics
}

// setup starts a sandbox over real HTTP and a connector on it with a private-app token. By
// default the sandbox's rate limits are off and retries are quick; sbOpts and mod override.
func setup(t *testing.T, sbOpts sandbox.Options, mod func(*Options)) (*Connector, *testBundle) {
	t.Helper()
	if sbOpts.BurstLimit == 0 {
		sbOpts.BurstLimit = -1
	}
	if sbOpts.SearchPerSecond == 0 {
		sbOpts.SearchPerSecond = -1
	}
	if sbOpts.DailyLimit == 0 {
		sbOpts.DailyLimit = -1
	}
	sb := sandbox.New(sbOpts)
	srv := httptest.NewServer(sb)
	t.Cleanup(func() {
		srv.Close()
		sb.Close()
	})
	reg := prometheus.NewRegistry()
	metrics, err := connectors.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Metrics:         metrics,
		Connection:      "test",
		BaseURL:         srv.URL,
		Auth:            connectors.NewStaticToken(sandbox.PrivateAppToken),
		SearchPerSecond: -1,
		Retry: connectors.RetryPolicy{
			MinWait: 5 * time.Millisecond, MaxWait: 50 * time.Millisecond, MaxElapsed: 20 * time.Second,
			AttemptTimeout: 5 * time.Second,
		},
	}
	if mod != nil {
		mod(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("new connector: %v", err)
	}
	return c, &testBundle{sb: sb, srv: srv, reg: reg, metrics: metrics}
}

// metricValue sums the series of the counter or gauge family name whose labels include labels.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	return metrictest.Sum(t, reg, name, labels)
}

// wantMetric fails the test unless metricValue(name, labels) is want.
func wantMetric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string, want float64) {
	t.Helper()
	if got := metricValue(t, reg, name, labels); got != want {
		t.Errorf("%s%v: got %v, want %v", name, labels, got, want)
	}
}

// apiCalls is the number of HTTP requests the connector of tb sent for op ("" for every op), as
// its requests metric counts them: before each call returns, unlike the sandbox's counters, which
// are bumped after the reply has been written and so can lag the client.
func apiCalls(t *testing.T, tb *testBundle, op string) int {
	t.Helper()
	labels := map[string]string{}
	if op != "" {
		labels["op"] = op
	}
	return int(metricValue(t, tb.reg, requestsMetric, labels))
}

// Metric names and label sets the fault tests assert.
const (
	retriesMetric  = "mapsync_connector_retries_total"
	errorsMetric   = "mapsync_connector_errors_total"
	refreshMetric  = "mapsync_connector_token_refreshes_total"
	requestsMetric = "mapsync_connector_requests_total"
)

func reason(r string) map[string]string {
	return map[string]string{"connection": "test", "crm": "hubspot", "reason": r}
}
func kind(k string) map[string]string {
	return map[string]string{"connection": "test", "crm": "hubspot", "kind": k}
}
func outcome(o string) map[string]string {
	return map[string]string{"connection": "test", "outcome": o}
}

// anySeries is every series of the connection.
var anySeries = map[string]string{"connection": "test"}

// pullResult is what a pull delivered.
type pullResult struct {
	pages   []connectors.Page
	records []connectors.Record
}

// ids returns the delivered record ids in order.
func (r pullResult) ids() []string {
	out := make([]string, len(r.records))
	for i, rec := range r.records {
		out[i] = rec.ID
	}
	return out
}

// pull runs one pull and collects its pages; it fails the test on error.
func pull(t *testing.T, c *Connector, req connectors.PullRequest) pullResult {
	t.Helper()
	res, err := tryPull(t.Context(), c, req)
	if err != nil {
		t.Fatalf("pull %s: %v", req.Object, err)
	}
	return res
}

// tryPull runs one pull and returns what it delivered with its error.
func tryPull(ctx context.Context, c *Connector, req connectors.PullRequest) (pullResult, error) {
	var res pullResult
	err := c.Pull(ctx, req, func(p connectors.Page) error {
		res.pages = append(res.pages, p)
		res.records = append(res.records, p.Records...)
		return nil
	})
	return res, err
}

// checkOrdered fails the test unless records come in (stamp, id) order without a repeated
// (id, stamp) pair, and cursors never move backwards and cover their pages.
func checkOrdered(t *testing.T, res pullResult) {
	t.Helper()
	if !slices.IsSortedFunc(res.records, compareRecords) {
		t.Errorf("got records out of (stamp, id) order")
	}
	seen := map[string]bool{}
	for _, r := range res.records {
		k := r.ID + "@" + r.ModifiedAt.String()
		if seen[k] {
			t.Errorf("got (id, stamp) %s twice", k)
		}
		seen[k] = true
	}
	var prev connectors.Cursor
	for i, p := range res.pages {
		if len(p.Records) > 0 {
			last := p.Records[len(p.Records)-1]
			if !p.Cursor.Stamp.Equal(last.ModifiedAt) || p.Cursor.ID != last.ID {
				t.Errorf("page %d: got cursor (%v, %s), want last record (%v, %s)", i, p.Cursor.Stamp, p.Cursor.ID, last.ModifiedAt, last.ID)
			}
		}
		if p.Cursor.Stamp.Before(prev.Stamp) {
			t.Errorf("page %d: cursor moved back from %v to %v", i, prev.Stamp, p.Cursor.Stamp)
		}
		prev = p.Cursor
	}
}
