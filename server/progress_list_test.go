package server

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/mapsync/mapsync/plans"
)

// TestListPlansByProgress: ?status= takes progress statuses, and every list item carries its
// progress, so "which deals are at risk?" is one call, page after page.
func TestListPlansByProgress(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		// 006A (b.plan) stays on track; odd plans get a blocked action (at risk); one is closed.
		atRisk := map[string]bool{}
		for i := range 7 {
			p := b.createPlan(fmt.Sprintf("006B%d", i))
			if i%2 == 1 {
				a := p.ActionByKey("kickoff")
				path := "/api/v1/plans/" + p.ID + "/actions/" + a.ID
				b.do("PATCH", path, map[string]any{"version": a.Version, "status": "blocked"}).ok(t, http.StatusOK, nil)
				atRisk[p.ID] = true
			}
			if i == 6 {
				b.do("POST", "/api/v1/plans/"+p.ID+"/close", map[string]any{"reason": "won"}).ok(t, http.StatusOK, nil)
			}
		}
		list := func(t *testing.T, query string) []plans.PlanSummary {
			t.Helper()
			var all []plans.PlanSummary
			path := "/api/v1/plans?limit=2&" + query
			for range 10 {
				var page PlanList
				b.do("GET", path, nil).ok(t, http.StatusOK, &page)
				all = append(all, page.Plans...)
				if page.Next == "" {
					return all
				}
				path = "/api/v1/plans?limit=2&" + query + "&after=" + page.Next
			}
			t.Fatal("more than 10 pages")
			return nil
		}
		t.Run("at risk", func(t *testing.T) {
			got := list(t, "status=at_risk")
			if len(got) != len(atRisk) {
				t.Fatalf("at risk: got %d plans, want %d", len(got), len(atRisk))
			}
			for _, p := range got {
				if !atRisk[p.ID] || p.Progress.Status != plans.ProgressAtRisk || p.Progress.NextActionTitle == "" {
					t.Errorf("plan %s: got progress %+v, want an at-risk plan with its next action", p.ID, p.Progress)
				}
			}
		})
		t.Run("on track", func(t *testing.T) {
			got := list(t, "status=on_track&connection=sf")
			if len(got) != 4 { // 006A, 006B0, 006B2, 006B4
				t.Errorf("on track: got %d, want 4", len(got))
			}
		})
		t.Run("completed", func(t *testing.T) {
			got := list(t, "status=completed")
			if len(got) != 1 || got[0].Progress.Status != plans.ProgressCompleted || got[0].Status != plans.PlanClosed {
				t.Errorf("completed: got %+v, want the closed plan", got)
			}
		})
		t.Run("every item carries progress", func(t *testing.T) {
			got := list(t, "")
			if len(got) != 8 {
				t.Fatalf("all: got %d, want 8", len(got))
			}
			for _, p := range got {
				if p.Progress.Status == "" {
					t.Errorf("plan %s: no progress status", p.ID)
				}
			}
		})
		t.Run("bad status", func(t *testing.T) {
			b.do("GET", "/api/v1/plans?status=risky", nil).wantError(t, http.StatusBadRequest, "bad_request", "status")
		})
	})
}
