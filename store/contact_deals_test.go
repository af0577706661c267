package store_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

func TestContactDeals(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c, err := s.EnsureConnection(ctx, "hs", "hubspot")
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.EnsureConnection(ctx, "hs2", "hubspot")
		if err != nil {
			t.Fatal(err)
		}
		roles := map[string][]connectors.DealContact{
			"d1": {{DealID: "d1", ContactID: "c1", Role: "Champion"}, {DealID: "d1", ContactID: "c1", Role: "Economic Buyer"}, {DealID: "d1", ContactID: "c2"}},
			"d2": {{DealID: "d2", ContactID: "c1"}},
		}
		now := time.Now().UTC()
		var recs []connectors.Record
		for deal, rs := range roles {
			for _, r := range rs {
				recs = append(recs, connectors.Record{Object: connectors.ObjectDealContact, ID: deal + ":" + r.ContactID + ":" + r.Role, ModifiedAt: now, Fields: map[string]any{}})
			}
		}
		for _, id := range []int64{c.ID, other.ID} {
			rs := roles
			if id == other.ID {
				rs = map[string][]connectors.DealContact{"d9": {{DealID: "d9", ContactID: "c3"}}}
			}
			if _, err := s.ApplyPullPage(ctx, store.PullPage{ConnectionID: id, Object: connectors.ObjectDealContact, Records: recs, Roles: rs}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.ContactDeals(ctx, c.ID, []string{"c1", "c2", "c3", "nobody"})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string][]string{"c1": {"d1", "d2"}, "c2": {"d1"}}; !reflect.DeepEqual(got, want) {
			t.Fatalf("got %v, want %v (c3 is another connection's)", got, want)
		}
	})
}
