package salesforce

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/internal/metrictest"
	sandbox "github.com/mapsync/mapsync/sandbox/salesforce"
)

// injectFault queues a fault through the sandbox's control API, as an operator's script would.
func injectFault(t testing.TB, b *testBundle, f map[string]any) {
	t.Helper()
	body, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(b.server.URL+"/__sandbox/faults", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("inject fault %v: status %d", f, resp.StatusCode)
	}
}

// A 200 reply that cannot be used (cut short, not JSON, JSON of another shape) is retried inside
// the request like a 5xx: a few of them in the middle of a pull cost retries, not the pull; a
// reply that stays bad ends the pull with a clear error once the retry budget is spent.
func TestPullBadReplyRetried(t *testing.T) {
	t.Parallel()
	for _, kind := range []sandbox.FaultKind{sandbox.FaultTruncated, sandbox.FaultNotJSON, sandbox.FaultWrongShape} {
		wantCode := map[sandbox.FaultKind]string{sandbox.FaultTruncated: "MALFORMED_JSON", sandbox.FaultNotJSON: "NOT_JSON", sandbox.FaultWrongShape: "WRONG_SHAPE"}[kind]
		t.Run(string(kind)+"/transient", func(t *testing.T) {
			t.Parallel()
			c, b := setup(t, sandbox.Options{Deals: 500}, nil, func(o *Options) { o.PageSize = 200 })
			// Two bad replies for page 2 (the first nextRecordsUrl), injected once page 1 is in.
			pages := 0
			res, err := tryPull(t.Context(), c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true}, func(connectors.Page) error {
				if pages++; pages == 1 {
					injectFault(t, b, map[string]any{"kind": kind, "count": 2, "endpoint": "query.more"})
				}
				return nil
			})
			if err != nil {
				t.Fatalf("pull with 2 bad replies: %v", err)
			}
			checkOrdered(t, res)
			retries := metrictest.Sum(t, b.reg, "mapsync_connector_retries_total", map[string]string{"op": "query", "reason": "malformed"})
			clean := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true})
			if len(clean.records) < 400 || len(res.records) != len(clean.records) || len(res.ids()) != len(clean.ids()) {
				t.Errorf("delivered %d records (%d distinct), want all %d once", len(res.records), len(res.ids()), len(clean.records))
			}
			for id := range clean.ids() {
				if res.ids()[id] != 1 {
					t.Errorf("record %s delivered %d times, want once", id, res.ids()[id])
					break
				}
			}
			if retries != 2 {
				t.Errorf("malformed retries: got %v, want 2", retries)
			}
			if got := metricSum(t, b.reg, "mapsync_connector_errors_total"); got != 0 {
				t.Errorf("errors metric: got %v, want 0 (the retries succeeded)", got)
			}
			if !strings.Contains(b.logs.String(), `"reason":"malformed"`) {
				t.Error("no retry warning with reason malformed in the logs")
			}
		})
		t.Run(string(kind)+"/persistent", func(t *testing.T) {
			t.Parallel()
			c, b := setup(t, sandbox.Options{Deals: 500}, nil, func(o *Options) { o.PageSize = 200 })
			pages := 0
			res, err := tryPull(t.Context(), c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true}, func(connectors.Page) error {
				if pages++; pages == 1 {
					injectFault(t, b, map[string]any{"kind": kind, "count": 100, "endpoint": "query.more"})
				}
				return nil
			})
			var e *connectors.Error
			if !errorsAs(err, &e) || e.Code != wantCode || e.Kind != connectors.KindTransient {
				t.Fatalf("got %v, want a transient %s error", err, wantCode)
			}
			for _, part := range []string{"pull deal page 2", "after 4 attempt(s)"} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not say %q", err, part)
				}
			}
			if len(res.pages) != 1 || len(res.records) != 200 {
				t.Errorf("delivered %d pages, %d records; want only the first page of 200", len(res.pages), len(res.records))
			}
			if got := opCalls(t, b.reg, "query"); got != 1+4 {
				t.Errorf("query attempts: got %d, want 5 (page 1, then 4 attempts of page 2)", got)
			}
			if got := errorsOfKind(t, b.reg, "query", connectors.KindTransient); got != 1 {
				t.Errorf("errors metric: got %v, want 1", got)
			}
		})
	}
}

// A describe reply of another shape (no fields) is retried, not taken as an object without fields.
func TestDescribeWrongShapeRetried(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Deals: 5}, nil, nil)
	injectFault(t, b, map[string]any{"kind": "wrong_shape", "count": 2, "endpoint": "describe"})
	fields, err := c.Describe(t.Context(), connectors.ObjectDeal)
	if err != nil {
		t.Fatal(err)
	}
	if len(fields) == 0 {
		t.Fatal("describe after two wrong-shape replies: no fields")
	}
	if n := metrictest.Sum(t, b.reg, "mapsync_connector_retries_total", map[string]string{"op": "describe", "reason": "malformed"}); n != 2 {
		t.Errorf("malformed retries of describe: got %v, want 2", n)
	}
}
