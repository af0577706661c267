package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// TestDonePlanMarksAndFinishPush: DonePlanMarks deletes the marks pushed at their version and
// releases a mark whose plan changed during the push; FinishPush records outcomes, merges push
// state (written and unchanged-with-fields), clears a written record's dead letter, and finishes
// marks, in one transaction.
func TestDonePlanMarksAndFinishPush(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(string(b), func(t *testing.T) {
			now := planStart
			s := storetest.Open(t, b, storetest.Options{Now: func() time.Time { return now }})
			ctx := t.Context()
			tpl := parseTemplate(t, planTemplateDoc)
			var ps []*plans.Plan
			for i := range 3 {
				p, ev := instantiate(t, tpl, planDeal("sf", fmt.Sprint(i), "005O"))
				createPlan(t, s, p, ev)
				ps = append(ps, p)
			}
			claimed, err := s.ClaimConnectionPlanMarks(ctx, "sf", "w1", 10, time.Minute)
			if err != nil || len(claimed) != 3 {
				t.Fatalf("claim: %+v %v", claimed, err)
			}
			// Plan 0 changes during the push.
			base := ps[0].Version
			if err := s.UpdatePlan(ctx, ps[0], base, setStatus(t, ps[0], "call", plans.StatusInProgress, now)); err != nil {
				t.Fatal(err)
			}
			if err := s.RecordPush(ctx, "sf", []store.PushOutcome{{Object: "deal", CRMID: "1", Outcome: "dead_letter", Code: "X", Message: "refused"}}); err != nil {
				t.Fatal(err)
			}
			var done []store.PlanVersion
			for _, m := range claimed {
				done = append(done, store.PlanVersion{PlanID: m.PlanID, Version: m.PlanVersion})
			}
			err = s.FinishPush(ctx, "sf", []store.PushOutcome{
				{Object: "deal", CRMID: "0", Outcome: "written", Fields: map[string]any{"A": 1.0}},
				{Object: "deal", CRMID: "1", Outcome: "written", Fields: map[string]any{"A": 2.0, "B": "x"}},
				{Object: "deal", CRMID: "2", Outcome: "unchanged", Fields: map[string]any{"A": 3.0}},
				{Object: "deal", CRMID: "2", Outcome: "skipped", Message: "no_plan"},
			}, done)
			if err != nil {
				t.Fatal(err)
			}
			pending, err := s.PendingPlanMarks(ctx, "sf", "", 10)
			if err != nil || len(pending) != 1 || pending[0].PlanID != ps[0].ID {
				t.Fatalf("pending after the push: %+v %v, want plan 0 (changed during it)", pending, err)
			}
			again, err := s.ClaimConnectionPlanMarks(ctx, "sf", "w2", 10, time.Minute)
			if err != nil || len(again) != 1 {
				t.Fatalf("the changed plan's mark was not released: %+v %v", again, err)
			}
			states, err := s.PushStates(ctx, "sf", "deal", []string{"0", "1", "2", "3"})
			if err != nil || len(states) != 3 || states["1"].Pushed["B"] != "x" || states["2"].Pushed["A"] != 3.0 {
				t.Fatalf("push state: %+v %v", states, err)
			}
			if err := s.FinishPush(ctx, "sf", []store.PushOutcome{{Object: "deal", CRMID: "1", Outcome: "written", Fields: map[string]any{"A": 5.0}}}, nil); err != nil {
				t.Fatal(err)
			}
			if states, _ = s.PushStates(ctx, "sf", "deal", []string{"1"}); states["1"].Pushed["A"] != 5.0 || states["1"].Pushed["B"] != "x" {
				t.Fatalf("merge: %+v", states["1"])
			}
			if dls, err := s.DeadLetters(ctx, "sf", 0); err != nil || len(dls) != 0 {
				t.Fatalf("dead letters after the record was written: %+v %v", dls, err)
			}
			log, err := s.PushLog(ctx, "sf", "2", 0)
			if err != nil || len(log) != 2 {
				t.Fatalf("push log of deal 2: %+v %v", log, err)
			}
		})
	}
}
