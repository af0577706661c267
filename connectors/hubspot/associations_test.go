package hubspot

import (
	"encoding/json"
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
// of inputs), not one per list page of 100, and an incremental pull groups its search pages the
// same way; every walked deal still gets its complete role set.
func TestDealContactsBatchReadsAtTheDocumentedMaximum(t *testing.T) {
	t.Parallel()
	c, tb := setup(t, sandbox.Options{Deals: 2300, Seed: 5}, nil)
	for _, req := range []connectors.PullRequest{
		{Object: connectors.ObjectDealContact, Full: true},
		{Object: connectors.ObjectDealContact},
	} {
		before := metricValue(t, tb.reg, "mapsync_connector_requests_total", map[string]string{"op": "association_read"})
		res := pull(t, c, req)
		calls := metricValue(t, tb.reg, "mapsync_connector_requests_total", map[string]string{"op": "association_read"}) - before
		if calls != 3 {
			t.Errorf("full=%v: %v association batch reads for 2,300 deals, want 3 (1,000 a call)", req.Full, calls)
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
