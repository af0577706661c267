package hubspot

import (
	"maps"
	"testing"

	"github.com/mapsync/mapsync/connectors"
	sandbox "github.com/mapsync/mapsync/sandbox/hubspot"
)

// A full pull given the Cursor.Extra of one of its pages continues right after that page: what
// came before and what the resumed pull delivers is the whole pull, each record once, and the
// resumed pull makes only the calls of the pages after it.
func TestFullPullResumesAfterPage(t *testing.T) {
	t.Parallel()
	// Deal-contact pages group 100 deals (one list page) here, so that there are several.
	c, tb := setup(t, sandbox.Options{Deals: 450, Seed: 31}, func(o *Options) { o.AssociationBatch = 100 })
	ids := tb.sb.IDs("deals")
	for _, id := range ids[:3] {
		if err := tb.sb.ArchiveObject("deals", id); err != nil {
			t.Fatal(err)
		}
	}
	for _, obj := range []connectors.Object{connectors.ObjectDeal, connectors.ObjectDealContact} {
		t.Run(string(obj), func(t *testing.T) {
			whole := pull(t, c, connectors.PullRequest{Object: obj, Full: true})
			if len(whole.pages) < 4 {
				t.Fatalf("got %d pages, want several", len(whole.pages))
			}
			last := whole.pages[len(whole.pages)-1].Cursor.Extra
			if last[resumePass] != "done" {
				t.Errorf("last page's position %v, want done", last)
			}
			for _, k := range []int{0, 2, len(whole.pages) - 2, len(whole.pages) - 1} {
				at := whole.pages[k].Cursor.Extra
				if len(at) == 0 {
					t.Fatalf("page %d carries no position", k)
				}
				calls0, _ := tb.metrics.Calls("test")
				rest := pull(t, c, connectors.PullRequest{Object: obj, Full: true, Since: connectors.Cursor{Extra: maps.Clone(at)}})
				calls, _ := tb.metrics.Calls("test")
				var want []string
				for _, pg := range whole.pages[k+1:] {
					for _, r := range pg.Records {
						want = append(want, r.ID)
					}
				}
				if got := rest.ids(); len(got) != len(want) {
					t.Errorf("resumed after page %d of %d: got %d records, want %d", k+1, len(whole.pages), len(got), len(want))
				}
				sameIDs(t, rest.ids(), want)
				if len(rest.pages) != len(whole.pages)-k-1 {
					t.Errorf("resumed after page %d: got %d pages, want %d", k+1, len(rest.pages), len(whole.pages)-k-1)
				}
				// Deals: one list call a page (and the archived pass's empty end, if any); roles:
				// the labels, then a list and an association read a page.
				perPage := int64(1)
				if obj == connectors.ObjectDealContact {
					perPage = 2
				}
				if n := calls - calls0; n > perPage*int64(len(rest.pages))+2 {
					t.Errorf("resumed after page %d: %d calls for %d pages", k+1, n, len(rest.pages))
				}
			}
		})
	}
}

func TestFullPullRefusesBadPosition(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, sandbox.Options{Deals: 5, Seed: 32}, nil)
	for _, at := range []map[string]string{{resumePass: "sideways"}, {resumePass: "live", resumeAfter: "1 OR 1"}} {
		_, err := tryPull(t.Context(), c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true, Since: connectors.Cursor{Extra: at}})
		if e := errorsAs(err); e == nil || e.Kind != connectors.KindPermanent || e.Code != "BAD_RESUME" {
			t.Errorf("position %v: got %v, want a permanent BAD_RESUME error", at, err)
		}
	}
}
