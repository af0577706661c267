package mapping

import (
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mapsync/mapsync/plans"
)

// now is the fixed clock of the tests: Friday 7 March 2025, 12:00 UTC.
var now = time.Date(2025, 3, 7, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// testPlan returns a plan in Europe/Paris with two phases: Discovery (kickoff done on 3 March,
// security questionnaire done on 5 March: milestone "Security review" reached) and Legal (MSA
// review due 6 March, open, so overdue; signature due 20 March).
func testPlan() *plans.Plan {
	at := func(d int) *time.Time { return ptr(time.Date(2025, 3, d, 9, 30, 0, 0, time.UTC)) }
	return &plans.Plan{
		ID: "p1", Connection: "sf", DealID: "006000000000001AAA", TemplateKey: "default", Name: "Acme plan",
		Status: plans.PlanActive, TimeZone: "Europe/Paris", CreatedAt: now.Add(-96 * time.Hour),
		Members: []plans.Member{
			{ID: "m1", Role: "ae", Side: plans.SideSeller, Name: "Sam Seller", Email: "sam@example.com", Source: plans.SourceDealOwner},
			{ID: "m2", Role: "champion", Side: plans.SideBuyer, Name: "Bea Buyer", Email: "bea@acme.test", Source: plans.SourceInvited, CommentedAt: at(3)},
			{ID: "m3", Role: "legal", Side: plans.SideBuyer, Name: "", Email: "lee@acme.test", Source: plans.SourceInvited},
		},
		Phases: []plans.Phase{
			{ID: "ph1", Name: "Discovery", Actions: []plans.Action{
				{ID: "a1", Title: "Kickoff", Status: plans.StatusDone, CompletedAt: at(3), Due: date(3)},
				{ID: "a2", Title: "Security questionnaire", Status: plans.StatusDone, CompletedAt: at(5), Milestone: "Security review", Internal: true},
			}},
			{ID: "ph2", Name: "Legal", Actions: []plans.Action{
				{ID: "a3", Title: "MSA review", Status: plans.StatusInProgress, Due: date(6), OwnerRole: "legal", AssigneeID: "m3", Milestone: "Legal"},
				{ID: "a4", Title: "Signature", Status: plans.StatusNotStarted, Due: date(20), Milestone: "Legal"},
			}},
		},
		LastActivityAt: at(6), LastActivitySide: plans.SideBuyer,
	}
}

func date(d int) plans.Date {
	return plans.DateOf(time.Date(2025, 3, d, 0, 0, 0, 0, time.UTC), time.UTC)
}

// parseSpec decodes a push section.
func parseSpec(t *testing.T, src string) Spec {
	t.Helper()
	var s Spec
	if err := yaml.Unmarshal([]byte(src), &s); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return s
}
