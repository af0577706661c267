package salesforce

import (
	"testing"
	"time"

	"github.com/mapsync/mapsync/connectors"
	sandbox "github.com/mapsync/mapsync/sandbox/salesforce"
)

// TestPullHonoursRetryAfter: a 429 carrying Retry-After (the sandbox sends 1 s) is waited out
// before the page is asked again, once, and the pull then delivers every record.
func TestPullHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Deals: 300}, nil, func(o *Options) { o.PageSize = 200 })
	clean := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true})
	if err := b.sb.InjectFault(sandbox.Fault{Kind: sandbox.FaultLimit, Status: 429, Count: 1, Endpoint: "query.more"}); err != nil {
		t.Fatal(err)
	}
	var pageTimes []time.Time
	start := time.Now()
	res, err := tryPull(t.Context(), c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true}, func(connectors.Page) error {
		pageTimes = append(pageTimes, time.Now())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.records) != len(clean.records) || len(pageTimes) != 2 {
		t.Fatalf("got %d records in %d pages, want %d in 2", len(res.records), len(pageTimes), len(clean.records))
	}
	// Page 2 was refused once: it arrived no sooner than the Retry-After after page 1.
	if gap := pageTimes[1].Sub(pageTimes[0]); gap < time.Second {
		t.Errorf("page 2 came %s after page 1, want at least the 1 s Retry-After (took %s in all)", gap, time.Since(start))
	}
	limited := 0
	for _, rc := range b.sb.Counters() {
		if rc.Status == 429 {
			limited += int(rc.Count)
		}
	}
	if limited != 1 {
		t.Errorf("the sandbox answered %d 429s, want 1 (asked again once, after the wait)", limited)
	}
}
