package salesforce

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mapsync/mapsync/connectors"
	sandbox "github.com/mapsync/mapsync/sandbox/salesforce"
)

func TestPullOverlapNeverMovesCursorBack(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, sandbox.Options{Deals: 300}, nil, func(o *Options) { o.PageSize = 200 })
	first := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true})
	since := first.last()
	res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Since: since, Overlap: 5 * 365 * 24 * time.Hour})
	checkOrdered(t, res)
	if len(res.records) != len(first.records) {
		t.Errorf("overlap re-delivery: got %d records, want %d", len(res.records), len(first.records))
	}
	for i, p := range res.pages {
		if since.After(p.Cursor.Stamp, p.Cursor.ID) {
			t.Errorf("page %d cursor %v/%s is before Since %v/%s", i+1, p.Cursor.Stamp, p.Cursor.ID, since.Stamp, since.ID)
		}
	}
}

func TestPullNothingChanged(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Deals: 2000}, nil, nil)
	first := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true})
	calls0 := opCalls(t, b.reg, "")
	start := time.Now()
	res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Since: first.last()})
	if len(res.records) != 0 || len(res.pages) != 0 {
		t.Errorf("got %d records in %d pages, want none", len(res.records), len(res.pages))
	}
	if got := opCalls(t, b.reg, "") - calls0; got != 1 {
		t.Errorf("API calls: got %d, want 1", got)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %s, want well under a second", took)
	}
}

// TestPullResumesAfterLostLocator answers one query-more with INVALID_QUERY_LOCATOR (an expired
// locator; the sandbox has no switch for it): the pull reopens the query with the keyset after the
// last record delivered, and nothing is missed or repeated.
func TestPullResumesAfterLostLocator(t *testing.T) {
	t.Parallel()
	var more atomic.Int64
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/query/") && more.Add(1) == 2 {
				w.Header().Set("Content-Type", "application/json;charset=UTF-8")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`[{"message":"invalid query locator","errorCode":"INVALID_QUERY_LOCATOR"}]`))
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	c, b := setup(t, sandbox.Options{Deals: 1000}, wrap, func(o *Options) { o.PageSize = 200 })
	// Many records share one stamp, so the resume point falls inside it.
	if _, err := b.sb.MassUpdate("Opportunity", 0, nil); err != nil {
		t.Fatal(err)
	}
	res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true})
	checkOrdered(t, res)
	got := res.ids()
	for _, id := range b.sb.IDs("Opportunity") {
		if got[id] != 1 {
			t.Errorf("record %s delivered %d times, want 1", id, got[id])
		}
	}
	if !strings.Contains(b.logs.String(), "query locator lost") {
		t.Error("the restart was not logged")
	}
}

func TestPullDeletedMidRunWithKeyset(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Deals: 600}, nil, func(o *Options) { o.PageSize = 200; o.QueryLimit = 200 })
	var victim string
	res, err := tryPull(t.Context(), c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true}, func(p connectors.Page) error {
		if victim == "" {
			victim = p.Records[0].ID
			return b.sb.DeleteRecord("Opportunity", victim)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkOrdered(t, res)
	got := res.ids()
	for _, id := range b.sb.IDs("Opportunity") {
		if got[id] != 1 {
			t.Errorf("record %s delivered %d times, want 1", id, got[id])
		}
	}
	last := res.records[len(res.records)-1]
	if got[victim] != 2 || last.ID != victim || !last.Deleted {
		t.Errorf("victim %s: delivered %d times, last %s deleted=%v; want again at the end, deleted", victim, got[victim], last.ID, last.Deleted)
	}
}

func TestPullStopsAtDailyReserve(t *testing.T) {
	t.Parallel()
	govs := connectors.NewGovernors(connectors.GovernorOptions{DailyReserve: 0.2, Recheck: time.Hour})
	c, b := setup(t, sandbox.Options{Deals: 2000, DailyLimit: 1000}, nil, func(o *Options) {
		o.PageSize = 200
		o.Governor = govs.For("acme")
	})
	b.sb.SetAPIUsage(795, 1000)
	res, err := tryPull(t.Context(), c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true}, nil)
	var e *connectors.Error
	if !errors.As(err, &e) || e.Kind != connectors.KindRateLimited || !strings.Contains(e.Message, "kept for other integrations") {
		t.Fatalf("got %v, want the reserve error", err)
	}
	used, _ := b.sb.APIUsage()
	if used != 800 {
		t.Errorf("sandbox API usage: got %d, want 800 (stopped at 80%%)", used)
	}
	if len(res.records) != 5*200 {
		t.Errorf("records before the stop: got %d, want 1000", len(res.records))
	}
	if got := metricSum(t, b.reg, "mapsync_connector_api_usage_ratio"); got != 0.8 {
		t.Errorf("api usage gauge: got %v, want 0.8", got)
	}
}

func TestConcurrentWorkersRefreshOnce(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Deals: 200}, nil, func(o *Options) { o.PageSize = 200 })
	pull(t, c, connectors.PullRequest{Object: connectors.ObjectOwner, Full: true})
	b.sb.ExpireTokens()
	var wg sync.WaitGroup
	errs := make(chan error, len(connectors.Objects)*2)
	for range 2 {
		for _, o := range connectors.Objects {
			wg.Go(func() {
				if _, err := tryPull(t.Context(), c, connectors.PullRequest{Object: o, Full: true}, nil); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := tokenCalls(t, b.reg); got != 2 {
		t.Errorf("token endpoint calls: got %d, want 2 (login, one refresh for all workers)", got)
	}
}

func TestPullRolesByDeal(t *testing.T) {
	t.Parallel()
	lose := func(n int64) func(http.Handler) http.Handler {
		return func(h http.Handler) http.Handler {
			var more atomic.Int64
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.Contains(r.URL.Path, "/query/") && more.Add(1) == n {
					w.Header().Set("Content-Type", "application/json;charset=UTF-8")
					w.WriteHeader(http.StatusBadRequest)
					_, _ = w.Write([]byte(`[{"message":"invalid query locator","errorCode":"INVALID_QUERY_LOCATOR"}]`))
					return
				}
				h.ServeHTTP(w, r)
			})
		}
	}
	tests := map[string]struct {
		wrap       func(http.Handler) http.Handler
		queryLimit int
	}{
		"locator paging":     {},
		"lost locator":       {wrap: lose(2)},
		"keyset LIMIT pages": {queryLimit: 200},
		"keyset LIMIT 300":   {queryLimit: 300},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, b := setup(t, sandbox.Options{Deals: 500}, tt.wrap, func(o *Options) { o.PageSize = 200; o.QueryLimit = tt.queryLimit })
			ids := b.sb.IDs("Opportunity")
			if err := b.sb.DeleteRecord("Opportunity", ids[3]); err != nil { // its roles go to the recycle bin
				t.Fatal(err)
			}
			res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDealContact, Full: true})
			checkDealOrder(t, res)
			got := res.ids()
			live := map[string]bool{}
			for _, id := range b.sb.IDs("OpportunityContactRole") {
				live[id] = true
				if got[id] != 1 {
					t.Errorf("role %s delivered %d times, want 1", id, got[id])
				}
			}
			roles := 0
			for _, p := range res.pages {
				for deal, rs := range p.Roles {
					roles += len(rs)
					if deal == ids[3] && len(rs) != 0 {
						t.Errorf("deleted deal %s has roles %v", deal, rs)
					}
				}
			}
			if roles != len(live) {
				t.Errorf("roles in Page.Roles: got %d, want %d live roles", roles, len(live))
			}
		})
	}
}

func TestPullConfiguredFields(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Deals: 20}, nil, nil)
	if _, err := c.Update(t.Context(), connectors.ObjectDeal, []connectors.Change{{ID: b.sb.IDs("Opportunity")[0], Fields: map[string]any{"MAP_Status__c": "At Risk"}}}); err != nil {
		t.Fatal(err)
	}
	res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true, Fields: []string{"MAP_Status__c", "Description", "name"}})
	atRisk := 0
	for _, r := range res.records {
		for _, f := range []string{"MAP_Status__c", "Description"} {
			if _, ok := r.Fields[f]; !ok {
				t.Fatalf("record %s lacks %s: %v", r.ID, f, r.Fields)
			}
		}
		if r.Fields["MAP_Status__c"] == "At Risk" {
			atRisk++
		}
	}
	if atRisk != 1 {
		t.Errorf("records with the written status: got %d, want 1", atRisk)
	}

	_, err := tryPull(t.Context(), c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true, Fields: []string{"No_Such_Field__c"}}, nil)
	var e *connectors.Error
	if !errors.As(err, &e) || e.Kind != connectors.KindPermanent || e.Code != "INVALID_FIELD" || !strings.Contains(e.Message, "No_Such_Field__c") {
		t.Fatalf("got %v, want a permanent INVALID_FIELD error naming the field", err)
	}
}

func TestPullOverlapDedupeAgainstCursor(t *testing.T) {
	t.Parallel()
	const overlap = 2 * time.Minute
	c, b := setup(t, sandbox.Options{Deals: 100}, nil, nil)
	ids := b.sb.IDs("Opportunity")
	first := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true})
	inc := func(since connectors.Cursor) pullResult {
		t.Helper()
		res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Since: since, Overlap: overlap})
		checkOrdered(t, res)
		if len(res.pages) == 0 {
			return pullResult{pages: []connectors.Page{{Cursor: since}}}
		}
		return res
	}
	if err := b.sb.UpdateRecord("Opportunity", ids[1], map[string]any{"NextStep": "a"}); err != nil {
		t.Fatal(err)
	}
	// After a Full pull (whose cursor carries no seen list) the window is delivered once more.
	r1 := inc(first.last())
	if got := r1.ids(); got[ids[1]] != 1 {
		t.Fatalf("first incremental: got %v, want %s among them", got, ids[1])
	}
	// Nothing changed: the overlap window is re-read but nothing is delivered again.
	calls0 := opCalls(t, b.reg, "")
	r2 := inc(r1.last())
	if len(r2.records) != 0 {
		t.Errorf("unchanged incremental: got %d records, want 0", len(r2.records))
	}
	if got := opCalls(t, b.reg, "") - calls0; got != 1 {
		t.Errorf("unchanged incremental: %d API calls, want 1", got)
	}
	// A late-visible write stamped inside the window is delivered once, alone.
	late, err := b.sb.CommitLag(sandbox.LagChange{Object: "Opportunity", ID: ids[2], Fields: map[string]any{"NextStep": "late"}, StampBehind: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r3 := inc(r2.last())
	if got := r3.ids(); len(got) != 1 || got[late] != 1 {
		t.Fatalf("after the late write: got %v, want only %s", got, late)
	}
	r4 := inc(r3.last())
	if len(r4.records) != 0 {
		t.Errorf("after delivering the late write: got %d records, want 0", len(r4.records))
	}
	// Changing an already-delivered record again delivers it again (new stamp).
	if err := b.sb.UpdateRecord("Opportunity", ids[1], map[string]any{"NextStep": "b"}); err != nil {
		t.Fatal(err)
	}
	r5 := inc(r4.last())
	if got := r5.ids(); len(got) != 1 || got[ids[1]] != 1 {
		t.Errorf("after a second change: got %v, want only %s", got, ids[1])
	}
}
