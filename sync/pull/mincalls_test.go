package pull_test

import (
	"testing"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/sync/pull"
)

func TestMinCalls(t *testing.T) {
	t.Parallel()
	crm := map[connectors.Object]int{connectors.ObjectDeal: 100_000, connectors.ObjectContact: 200_334, connectors.ObjectOwner: 50, connectors.ObjectDealContact: 200_334}
	for _, tt := range []struct {
		kind string
		want int
	}{
		// 1 owner page, 101 contact pages, 50 deal pages, 101 role pages of 2,000.
		{"salesforce", 253},
		// 1 owner, 2,004 contact and 1,000 deal pages of 100, 3 archived listings, the labels,
		// 100 association batches of 1,000 deals.
		{"hubspot", 3109},
		{"pipedrive", 0},
	} {
		if got := pull.MinCalls(tt.kind, crm); got != tt.want {
			t.Errorf("MinCalls(%s) = %d, want %d", tt.kind, got, tt.want)
		}
	}
	if got := pull.MinCalls("hubspot", nil); got != 7 {
		t.Errorf("MinCalls(hubspot, empty CRM) = %d, want 7 (one page per listing, the archived ones, the labels)", got)
	}
}
