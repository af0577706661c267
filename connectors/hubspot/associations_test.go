package hubspot

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/mapsync/mapsync/connectors"
	sandbox "github.com/mapsync/mapsync/sandbox/hubspot"
)

func TestLabelSetDealContacts(t *testing.T) {
	t.Parallel()
	labels := newLabelSet([]associationLabel{
		{Category: "HUBSPOT_DEFINED", TypeID: 3, Label: nil},
		{Category: "USER_DEFINED", TypeID: 28, Label: ptr("Decision Maker")},
		{Category: "USER_DEFINED", TypeID: 29, Label: ptr("Champion")},
		{Category: "USER_DEFINED", TypeID: 30, Label: ptr("Primary Contact")},
	}, nil)
	// toObjectId as number and as string; a label given inline and one resolved through its type id.
	in := `[
	  {"toObjectId":202,"associationTypes":[{"category":"HUBSPOT_DEFINED","typeId":3,"label":null},{"category":"USER_DEFINED","typeId":29,"label":null}]},
	  {"toObjectId":"201","associationTypes":[{"category":"HUBSPOT_DEFINED","typeId":3,"label":null},{"category":"USER_DEFINED","typeId":28,"label":"Decision Maker"},{"category":"USER_DEFINED","typeId":30,"label":null}]},
	  {"toObjectId":1000,"associationTypes":[{"category":"HUBSPOT_DEFINED","typeId":3,"label":null}]}
	]`
	var to []associationTo
	if err := json.Unmarshal([]byte(in), &to); err != nil {
		t.Fatal(err)
	}
	got := labels.dealContacts("512", to)
	want := []connectors.DealContact{
		{DealID: "512", ContactID: "201", Role: "Decision Maker", Primary: true},
		{DealID: "512", ContactID: "202", Role: "Champion"},
		{DealID: "512", ContactID: "1000"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func ptr[T any](v T) *T { return &v }

// The roles of a full pull take one v4 batch read per 1,000 deals (HubSpot's documented maximum
// of inputs), not one per list page of 100, and an incremental pull fills its reads the same way
// although a search page holds up to 199 deals (whole pages made groups of 995: 2,992 deals took
// 4 reads); every walked deal still gets its complete role set.
func TestDealContactsBatchReadsAtTheDocumentedMaximum(t *testing.T) {
	t.Parallel()
	c, tb := setup(t, sandbox.Options{Deals: 2992, Seed: 5}, nil)
	for _, req := range []connectors.PullRequest{
		{Object: connectors.ObjectDealContact, Full: true},
		{Object: connectors.ObjectDealContact},
	} {
		before := apiCalls(t, tb, "association_read")
		res := pull(t, c, req)
		if calls := apiCalls(t, tb, "association_read") - before; calls != 3 {
			t.Errorf("full=%v: %v association batch reads for 2,992 deals, want 3 (1,000 a call)", req.Full, calls)
		}
		deals := 0
		for _, p := range res.pages {
			if len(p.Roles) > 1000 {
				t.Errorf("full=%v: a page holds %d deals' roles, more than one batch read", req.Full, len(p.Roles))
			}
			deals += len(p.Roles)
		}
		if deals != len(tb.sb.IDs("deals")) {
			t.Errorf("full=%v: role sets of %d deals, want every one of %d", req.Full, deals, len(tb.sb.IDs("deals")))
		}
	}
}

// Given the deals of a deal pull (PullRequest.Deals), the roles cost only their batch reads and
// the labels: no deal is walked again. They equal the walked roles, archived deals are left out,
// and a Full pull's pages carry the deal pull's list positions (the archived pass ends the live
// one). A deal pull that did not finish fails the roles pull.
//
// The calls are counted by the connector (mapsync_connector_requests_total, counted before each
// call returns), not by the sandbox, whose counter is bumped after the reply has gone out and so
// may still miss the last call (or count the deal pull's last one late).
func TestDealContactsFromDealFeed(t *testing.T) {
	t.Parallel()
	c, tb := setup(t, sandbox.Options{Deals: 2992, Seed: 5}, nil)
	if err := tb.sb.ArchiveObject("deals", tb.sb.IDs("deals")[3]); err != nil {
		t.Fatal(err)
	}
	for _, full := range []bool{true, false} {
		walked := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDealContact, Full: full})
		deals := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: full})
		feed := connectors.NewDealFeed()
		live := 0
		for _, p := range deals.pages {
			feed.Add(p)
			for _, r := range p.Records {
				if !r.Deleted {
					live++
				}
			}
		}
		feed.Close(nil)
		if want := len(tb.sb.IDs("deals")); live != want { // IDs lists the live deals
			t.Errorf("full=%v: the deal pull delivered %d live deals, want %d", full, live, want)
		}
		before, readsBefore := apiCalls(t, tb, ""), apiCalls(t, tb, "association_read")
		fed := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDealContact, Full: full, Deals: feed})
		calls, reads := apiCalls(t, tb, "")-before, apiCalls(t, tb, "association_read")-readsBefore
		// The minimum for the deals delivered: the labels and a read per 1,000.
		if wantReads := (live + associationBatchSize - 1) / associationBatchSize; calls != 1+wantReads || reads != wantReads {
			t.Errorf("full=%v: %d calls (%d association reads) for %d live deals, want %d: the labels and %d batch reads",
				full, calls, reads, live, 1+wantReads, wantReads)
		}
		if !reflect.DeepEqual(fed.records, walked.records) {
			t.Errorf("full=%v: %d role records from the feed, %d from the walk: want the same", full, len(fed.records), len(walked.records))
		}
		if full {
			last := fed.pages[len(fed.pages)-1].Cursor.Extra
			if last[resumePass] != "done" {
				t.Errorf("last fed page's position %v, want the end", last)
			}
		}
	}
	feed := connectors.NewDealFeed()
	feed.Close(errors.New("deal page 7: 503"))
	if _, err := tryPull(t.Context(), c, connectors.PullRequest{Object: connectors.ObjectDealContact, Deals: feed}); !errors.Is(err, connectors.ErrDealFeedIncomplete) {
		t.Errorf("roles of an unfinished deal pull: got %v, want ErrDealFeedIncomplete", err)
	}
}
