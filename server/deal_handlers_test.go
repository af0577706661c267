package server

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/mapsync/mapsync/connectors"
)

func TestListDeals(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		withDeals(t, b)
		c, err := b.store.EnsureConnection(t.Context(), "sf", "salesforce")
		if err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
		deal := func(id, name, stage, owner string, amount float64) connectors.Record {
			return connectors.Record{Object: connectors.ObjectDeal, ID: id, ModifiedAt: at, Fields: map[string]any{
				"Id": id, "Name": name, "StageName": stage, "OwnerId": owner, "Amount": amount, "CloseDate": "2026-04-30",
			}}
		}
		if _, err := b.store.UpsertRecords(t.Context(), c.ID, []connectors.Record{
			deal("006A", "Acme - Platform", "Discovery", "005O", 50000),
			deal("006B", "Globex 100% rollout", "Negotiation", "005O", 120000),
			deal("006C", "Initech_renewal", "Discovery", "005P", 9000),
			deal("006D", "ACME - Add-on", "Discovery", "005P", 1000),
		}); err != nil {
			t.Fatal(err)
		}
		ids := func(l DealList) []string {
			var out []string
			for _, d := range l.Deals {
				out = append(out, d.ID)
			}
			return out
		}
		tests := []struct {
			name  string
			query string
			want  []string
		}{
			{"all", "", []string{"006A", "006B", "006C", "006D"}},
			{"name ignoring case", "&q=acme", []string{"006A", "006D"}},
			{"percent is literal", "&q=100%25", []string{"006B"}},
			{"underscore is literal", "&q=h_r", []string{"006C"}},
			{"stage", "&stage=Discovery", []string{"006A", "006C", "006D"}},
			{"owner", "&owner=005P", []string{"006C", "006D"}},
			{"has a plan", "&has_plan=true", []string{"006A"}},
			{"has no plan", "&has_plan=false&stage=Discovery", []string{"006C", "006D"}},
			{"amount from", "&min_amount=9000", []string{"006A", "006B", "006C"}},
			{"amount range", "&min_amount=5000&max_amount=60000", []string{"006A", "006C"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				var l DealList
				b.do("GET", "/api/v1/deals?connection=sf"+tc.query, nil).ok(t, http.StatusOK, &l)
				if got := ids(l); !slices.Equal(got, tc.want) || l.Next != "" {
					t.Errorf("got %v next %q, want %v on one page", got, l.Next, tc.want)
				}
			})
		}
		t.Run("pages", func(t *testing.T) {
			var p1, p2 DealList
			b.do("GET", "/api/v1/deals?connection=sf&limit=3", nil).ok(t, http.StatusOK, &p1)
			b.do("GET", "/api/v1/deals?connection=sf&limit=3&after="+p1.Next, nil).ok(t, http.StatusOK, &p2)
			if got := append(ids(p1), ids(p2)...); !slices.Equal(got, []string{"006A", "006B", "006C", "006D"}) || p1.Next != "006C" || p2.Next != "" {
				t.Errorf("pages: got %v (next %q, %q)", got, p1.Next, p2.Next)
			}
			if d := p1.Deals[1]; d.Name != "Globex 100% rollout" || d.Stage != "Negotiation" || d.Amount != 120000 || d.CloseDate.String() != "2026-04-30" || d.OwnerID != "005O" || d.HasPlan {
				t.Errorf("listing: got %+v", d)
			}
		})
		t.Run("bad query", func(t *testing.T) {
			b.do("GET", "/api/v1/deals", nil).wantError(t, 400, "bad_request", "connection")
			b.do("GET", "/api/v1/deals?connection=hs", nil).wantError(t, 400, "bad_request", "connection")
			b.do("GET", "/api/v1/deals?connection=sf&has_plan=maybe", nil).wantError(t, 400, "bad_request", "has_plan")
			b.do("GET", "/api/v1/deals?connection=sf&min_amount=lots", nil).wantError(t, 400, "bad_request", "min_amount")
			b.do("GET", "/api/v1/deals?connection=sf&stage=a&stage=b", nil).wantError(t, 400, "bad_request", "stage")
			b.do("GET", "/api/v1/deals?connection=sf", nil, HeaderSide, "buyer").wantError(t, 403, "forbidden", "")
		})
	})
}
