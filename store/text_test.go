package store_test

import (
	"testing"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// TestPlanTextColumns: a plan whose name (rendered from CRM data) holds a NUL byte or invalid
// UTF-8 is stored and listed on both databases; PostgreSQL's text columns hold neither, so the
// derived columns get a clean copy and the document keeps the name.
func TestPlanTextColumns(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		p, events := instantiate(t, parseTemplate(t, planTemplateDoc), planDeal("sf", "006A", "005O"))
		p.Name = "Acme\x00 \xffplan"
		createPlan(t, s, p, events)
		got, err := s.Plan(t.Context(), p.ID)
		if err != nil || got.Name != "Acme\x00 \ufffdplan" {
			t.Fatalf("plan: got name %q, %v", got.Name, err)
		}
		list, _, err := s.ListPlans(t.Context(), plans.PlanFilter{})
		if err != nil || len(list) != 1 || list[0].Name != "Acme \ufffdplan" {
			t.Fatalf("list: got %+v, %v", list, err)
		}
		base := got.Version
		got.Version++
		got.Name = "\x00"
		if err := s.UpdatePlan(t.Context(), got, base, nil); err != nil {
			t.Fatalf("update with a NUL in the name: %v", err)
		}
	})
}
