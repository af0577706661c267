package hubspot

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mapsync/mapsync/connectors"
	sandbox "github.com/mapsync/mapsync/sandbox/hubspot"
)

// injectFault posts a fault to the sandbox's control API, as an operator's script would.
func injectFault(t *testing.T, tb *testBundle, f map[string]any) {
	t.Helper()
	body, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(tb.srv.URL+"/__sandbox/faults", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("inject fault %v: status %d", f, resp.StatusCode)
	}
}

// A 200 reply that cannot be used (cut short, not JSON, JSON of another shape) is retried inside
// the request like a 5xx, on list pages (full pulls), search pages (incremental pulls) and the
// association batch reads alike: a few of them cost retries, not the pull; a reply that stays bad
// ends the pull with a clear error once the retry budget is spent.
func TestPullBadReplyRetried(t *testing.T) {
	t.Parallel()
	codes := map[string]string{"truncated": "MALFORMED_JSON", "not_json": "NOT_JSON", "wrong_shape": "WRONG_SHAPE"}
	pulls := []struct {
		name string
		req  connectors.PullRequest
		op   string
		path string
	}{
		{"list", connectors.PullRequest{Object: connectors.ObjectDeal, Full: true}, "list", "/crm/v3/objects/deals"},
		{"search", connectors.PullRequest{Object: connectors.ObjectContact}, "search", "/search"},
		{"associations", connectors.PullRequest{Object: connectors.ObjectDealContact, Full: true}, "association_read", "/batch/read"},
	}
	for _, kind := range []string{"truncated", "not_json", "wrong_shape"} {
		for _, p := range pulls {
			t.Run(kind+"/"+p.name+"/transient", func(t *testing.T) {
				t.Parallel()
				// Deal-contact pages group 100 deals here (one list page), so that there are several.
				c, tb := setup(t, sandbox.Options{Deals: 250, Seed: 17}, func(o *Options) { o.AssociationBatch = 100 })
				clean := pull(t, c, p.req)
				before := metricValue(t, tb.reg, retriesMetric, map[string]string{"op": p.op, "reason": "malformed"})
				// The first page comes back whole; the next two replies of the operation are bad.
				var got pullResult
				err := c.Pull(t.Context(), p.req, func(pg connectors.Page) error {
					if len(got.pages) == 0 {
						injectFault(t, tb, map[string]any{"kind": kind, "count": 2, "path": p.path})
					}
					got.pages = append(got.pages, pg)
					got.records = append(got.records, pg.Records...)
					return nil
				})
				if err != nil {
					t.Fatalf("pull with 2 bad replies: %v", err)
				}
				if len(got.pages) < 2 {
					t.Fatalf("only %d page(s): the faults hit no request", len(got.pages))
				}
				if len(clean.records) == 0 || !slices.Equal(got.ids(), clean.ids()) {
					t.Errorf("delivered %d records, want the %d of a clean pull, each once", len(got.records), len(clean.records))
				}
				if p.req.Object == connectors.ObjectDealContact {
					if a, b := rolesCount(got), rolesCount(clean); a != b {
						t.Errorf("delivered %d deals' roles, want %d", a, b)
					}
				}
				if n := metricValue(t, tb.reg, retriesMetric, map[string]string{"op": p.op, "reason": "malformed"}) - before; n != 2 {
					t.Errorf("malformed retries: got %v, want 2", n)
				}
				wantMetric(t, tb.reg, errorsMetric, anySeries, 0)
			})
		}
		t.Run(kind+"/persistent", func(t *testing.T) {
			t.Parallel()
			c, tb := setup(t, sandbox.Options{Deals: 250, Seed: 17}, nil)
			var pages int
			err := c.Pull(t.Context(), connectors.PullRequest{Object: connectors.ObjectDeal, Full: true}, func(connectors.Page) error {
				if pages++; pages == 1 {
					injectFault(t, tb, map[string]any{"kind": kind, "count": 100})
				}
				return nil
			})
			e := errorsAs(err)
			if e == nil || e.Code != codes[kind] || e.Kind != connectors.KindTransient {
				t.Fatalf("got %v, want a transient %s error", err, codes[kind])
			}
			for _, part := range []string{"pull deal page 2", "after 5 attempt(s)"} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not say %q", err, part)
				}
			}
			if pages != 1 {
				t.Errorf("delivered %d pages, want only the one before the bad replies", pages)
			}
			wantMetric(t, tb.reg, retriesMetric, map[string]string{"op": "list", "reason": "malformed"}, 4)
			wantMetric(t, tb.reg, errorsMetric, map[string]string{"connection": "test", "crm": "hubspot", "op": "list", "kind": "transient"}, 1)
			wantMetric(t, tb.reg, errorsMetric, anySeries, 1)
		})
	}
}

// rolesCount is how many deals' role sets a pull delivered.
func rolesCount(r pullResult) int {
	n := 0
	for _, p := range r.pages {
		n += len(p.Roles)
	}
	return n
}
