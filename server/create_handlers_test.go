package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/sync/instantiate"
)

// fakeDeals is a DealSource holding the deals of connection "sf", in Paris time; it lists the
// deal records stored for "sf" with sync/instantiate, as the daemon does.
type fakeDeals struct {
	deals map[string]plans.Deal
	st    *faultStore
}

func (f fakeDeals) Deal(_ context.Context, connection, dealID string) (plans.Deal, *time.Location, error) {
	if connection != "sf" {
		return plans.Deal{}, nil, &plans.NotFoundError{Kind: "connection", ID: connection}
	}
	d, ok := f.deals[dealID]
	if !ok {
		return plans.Deal{}, nil, &plans.NotFoundError{Kind: "deal", ID: dealID}
	}
	loc, err := time.LoadLocation("Europe/Paris")
	return d, loc, err
}

func (f fakeDeals) Deals(ctx context.Context, connection string, q instantiate.ListQuery) ([]instantiate.Listing, string, error) {
	if connection != "sf" {
		return nil, "", &plans.NotFoundError{Kind: "connection", ID: connection}
	}
	c, err := f.st.EnsureConnection(ctx, "sf", "salesforce")
	if err != nil {
		return nil, "", err
	}
	return instantiate.List(ctx, f.st, "sf", c.ID, "salesforce", q)
}

// withDeals serves b's store again with a DealSource knowing deals 006B and 006C, and points b's
// requests at it.
func withDeals(t *testing.T, b *testBundle) {
	t.Helper()
	srv, err := New(Options{
		Store: b.store, Logger: zerolog.Nop(), Now: func() time.Time { return testNow },
		Deals: fakeDeals{deals: map[string]plans.Deal{"006B": testDeal("006B"), "006C": testDeal("006C")}, st: b.store},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	b.srv, b.url, b.client = srv, ts.URL, ts.Client()
}

func TestCreatePlan(t *testing.T) {
	t.Parallel()
	t.Run("created once", func(t *testing.T) {
		t.Parallel()
		eachStore(t, func(t *testing.T, b *testBundle) {
			withDeals(t, b)
			body := map[string]any{"connection": "sf", "deal_id": "006B", "name": "Acme rollout", "welcome_message": "Welcome!"}
			var first, second PlanView
			res := b.do("POST", "/api/v1/plans", body)
			res.ok(t, http.StatusCreated, &first)
			if first.DealID != "006B" || first.TemplateKey != "api-test" || first.Name != "Acme rollout" || first.WelcomeMessage != "Welcome!" || first.TimeZone != "Europe/Paris" {
				t.Fatalf("created: got deal %s template %s name %q welcome %q zone %s; want 006B, api-test, the overrides, Europe/Paris",
					first.DealID, first.TemplateKey, first.Name, first.WelcomeMessage, first.TimeZone)
			}
			if loc := res.header.Get("Location"); loc != "/api/v1/plans/"+first.ID {
				t.Errorf("Location: got %q, want /api/v1/plans/%s", loc, first.ID)
			}
			if first.Progress.ActionsTotal != 5 {
				t.Errorf("progress: got %d actions, want 5", first.Progress.ActionsTotal)
			}
			b.do("POST", "/api/v1/plans", map[string]any{"connection": "sf", "deal_id": "006B", "template": "api-test", "name": "Other"}).ok(t, http.StatusOK, &second)
			if second.ID != first.ID || second.Name != "Acme rollout" || second.Version != first.Version {
				t.Errorf("second call: got plan %s %q v%d, want the first (%s %q v%d) unchanged", second.ID, second.Name, second.Version, first.ID, first.Name, first.Version)
			}
			events, err := b.store.Events(t.Context(), first.ID, "", 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(events) == 0 || events[0].Type != plans.EventPlanCreated || events[0].Actor.ID != "token:ci" {
				t.Errorf("events: got %+v, want plan.created by token:ci first", events)
			}
		})
	})
	t.Run("bad input", func(t *testing.T) {
		t.Parallel()
		eachStore(t, func(t *testing.T, b *testBundle) {
			withDeals(t, b)
			tests := []struct {
				name        string
				body        any
				hdr         []string
				status      int
				code, field string
			}{
				{"no connection", map[string]any{"deal_id": "006B"}, nil, 422, "invalid", "connection"},
				{"no deal", map[string]any{"connection": "sf"}, nil, 422, "invalid", "deal_id"},
				{"unknown connection", map[string]any{"connection": "hs", "deal_id": "006B"}, nil, 422, "invalid", "connection"},
				{"unknown deal", map[string]any{"connection": "sf", "deal_id": "nope"}, nil, 422, "invalid", "deal_id"},
				{"unknown template", map[string]any{"connection": "sf", "deal_id": "006B", "template": "nope"}, nil, 422, "invalid", "template"},
				{"empty name", map[string]any{"connection": "sf", "deal_id": "006B", "name": " "}, nil, 422, "invalid", "name"},
				{"long name", map[string]any{"connection": "sf", "deal_id": "006B", "name": strings.Repeat("n", plans.MaxPlanName+1)}, nil, 422, "invalid", "name"},
				{"unknown field", map[string]any{"connection": "sf", "deal_id": "006B", "deal": "x"}, nil, 400, "bad_request", "deal"},
				{"buyer", map[string]any{"connection": "sf", "deal_id": "006B"}, []string{HeaderSide, "buyer"}, 403, "forbidden", ""},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					b.do("POST", "/api/v1/plans", tc.body, tc.hdr...).wantError(t, tc.status, tc.code, tc.field)
				})
			}
			if _, err := b.store.PlanFor(t.Context(), "sf", "006B", "api-test"); err == nil {
				t.Errorf("a refused request stored a plan for 006B")
			}
		})
	})
	t.Run("no deal source", func(t *testing.T) {
		t.Parallel()
		eachStore(t, func(t *testing.T, b *testBundle) {
			b.do("POST", "/api/v1/plans", map[string]any{"connection": "sf", "deal_id": "006B"}).wantError(t, http.StatusNotImplemented, "not_configured", "")
		})
	})
}
