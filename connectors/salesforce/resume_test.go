package salesforce

import (
	"maps"
	"testing"

	"github.com/mapsync/mapsync/connectors"
	sandbox "github.com/mapsync/mapsync/sandbox/salesforce"
)

// A full pull given the Cursor.Extra of one of its pages continues right after that page: what
// came before and what the resumed pull delivers is the whole pull, each record once, and the
// resumed pull makes only the calls of the pages after it. Contact roles resume after a deal,
// so every page still holds its deals' complete role sets.
func TestFullPullResumesAfterPage(t *testing.T) {
	t.Parallel()
	for _, queryLimit := range []int{0, 300} {
		c, b := setup(t, sandbox.Options{Deals: 700}, nil, func(o *Options) { o.PageSize = 200; o.QueryLimit = queryLimit })
		if err := b.sb.DeleteRecord("Opportunity", b.sb.IDs("Opportunity")[5]); err != nil {
			t.Fatal(err)
		}
		for _, obj := range []connectors.Object{connectors.ObjectDeal, connectors.ObjectContact, connectors.ObjectDealContact} {
			whole := pull(t, c, connectors.PullRequest{Object: obj, Full: true})
			if len(whole.pages) < 4 {
				t.Fatalf("%s: got %d pages, want several", obj, len(whole.pages))
			}
			for _, k := range []int{0, 1, len(whole.pages) - 2, len(whole.pages) - 1} {
				at := whole.pages[k].Cursor.Extra
				if len(at) == 0 {
					t.Fatalf("%s page %d carries no position", obj, k)
				}
				calls0 := opCalls(t, b.reg, "")
				rest := pull(t, c, connectors.PullRequest{Object: obj, Full: true, Since: connectors.Cursor{Extra: maps.Clone(at)}})
				calls := opCalls(t, b.reg, "") - calls0
				want := map[string]int{}
				for _, pg := range whole.pages[k+1:] {
					for _, r := range pg.Records {
						want[r.ID]++
					}
				}
				if got := rest.ids(); !maps.Equal(got, want) {
					t.Errorf("%s (limit %d) resumed after page %d of %d: got %d records, want %d", obj, queryLimit, k+1, len(whole.pages), len(rest.records), len(want))
				}
				if obj == connectors.ObjectDealContact {
					checkDealOrder(t, rest)
				} else {
					checkOrdered(t, rest)
				}
				// The pages after the position, and one query that finds the end.
				if limit := int64(len(whole.pages)-k-1) + 1; calls > limit {
					t.Errorf("%s (limit %d) resumed after page %d: %d calls, want at most %d", obj, queryLimit, k+1, calls, limit)
				}
			}
		}
	}
}

func TestFullPullRefusesBadPosition(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, sandbox.Options{Deals: 5}, nil, nil)
	for obj, at := range map[connectors.Object]map[string]string{
		connectors.ObjectDeal:        {resumeStamp: "yesterday", resumeID: "006000000000001AAA"},
		connectors.ObjectContact:     {resumeStamp: "2026-01-01T00:00:00Z", resumeID: "x' OR Name != '"},
		connectors.ObjectDealContact: {resumeDeal: "006' OR Id != '"},
	} {
		_, err := tryPull(t.Context(), c, connectors.PullRequest{Object: obj, Full: true, Since: connectors.Cursor{Extra: at}}, nil)
		var e *connectors.Error
		if !errorsAs(err, &e) || e.Kind != connectors.KindPermanent {
			t.Errorf("%s position %v: got %v, want a permanent error", obj, at, err)
		}
	}
}
