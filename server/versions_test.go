package server

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// titles returns "key=title" of every action of v, in plan order.
func titles(v PlanView) []string {
	var out []string
	for _, a := range v.Actions() {
		out = append(out, a.Key+"="+a.Title)
	}
	return out
}

// TestPlanKeepsTemplateVersion imports a changed version of the template a plan was made from:
// the plan, as the API returns it, still carries version 1 and its actions, also after a change;
// a plan made afterwards gets version 2.
func TestPlanKeepsTemplateVersion(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		v1 := b.get()
		want := []string{"kickoff=Kickoff", "review=Review", "forecast=Forecast call", "questionnaire=Questionnaire", "sign=Sign"}
		if v1.TemplateVersion != 1 || !slices.Equal(titles(v1), want) {
			t.Fatalf("plan before: got version %d, actions %v; want 1, %v", v1.TemplateVersion, titles(v1), want)
		}

		changed := strings.Replace(templateDoc, "title: Kickoff,", "title: Kickoff meeting,", 1)
		changed += "      - {key: security, title: Security review, type: task, owner: se}\n"
		var imported TemplateCreated
		b.do("POST", "/api/v1/templates", changed).ok(t, http.StatusCreated, &imported)
		if imported.Version != 2 {
			t.Fatalf("import: got version %d, want 2", imported.Version)
		}

		old := b.get()
		if old.TemplateVersion != 1 || !slices.Equal(titles(old), want) {
			t.Errorf("plan after the import: got version %d, actions %v; want 1, %v", old.TemplateVersion, titles(old), want)
		}
		// A change to the plan (due dates are recomputed) does not move it to the new version.
		b.do("PATCH", b.actionPath("kickoff"), map[string]any{"version": 1, "status": "done"}).ok(t, http.StatusOK, nil)
		old = b.get()
		if old.TemplateVersion != 1 || !slices.Equal(titles(old), want) {
			t.Errorf("plan after a change: got version %d, actions %v; want 1, %v", old.TemplateVersion, titles(old), want)
		}

		made := b.createPlan("006V")
		var fresh PlanView
		b.do("GET", "/api/v1/plans/"+made.ID, nil).ok(t, http.StatusOK, &fresh)
		wantNew := []string{"kickoff=Kickoff meeting", "review=Review", "forecast=Forecast call", "questionnaire=Questionnaire", "sign=Sign", "security=Security review"}
		if fresh.TemplateVersion != 2 || !slices.Equal(titles(fresh), wantNew) {
			t.Errorf("new plan: got version %d, actions %v; want 2, %v", fresh.TemplateVersion, titles(fresh), wantNew)
		}

		var list PlanList
		b.do("GET", "/api/v1/plans", nil).ok(t, http.StatusOK, &list)
		versions := map[string]int{}
		for _, p := range list.Plans {
			versions[p.DealID] = p.TemplateVersion
		}
		if versions["006A"] != 1 || versions["006V"] != 2 {
			t.Errorf("list: got template versions %v, want 006A:1 006V:2", versions)
		}
	})
}
