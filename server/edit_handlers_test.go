package server

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/mapsync/mapsync/plans"
)

// planPath is the plan's URL path plus suffix.
func (b *testBundle) planPath(suffix string) string { return "/api/v1/plans/" + b.plan.ID + suffix }

func phaseNames(v PlanView) []string {
	var out []string
	for i, ph := range v.Phases {
		if ph.Position != i {
			out = append(out, fmt.Sprintf("%s@%d", ph.Name, ph.Position))
			continue
		}
		out = append(out, ph.Name)
	}
	return out
}

func actionKeys(ph plans.Phase) []string {
	var out []string
	for i, a := range ph.Actions {
		if a.Position != i {
			out = append(out, fmt.Sprintf("%s@%d", a.Key, a.Position))
			continue
		}
		out = append(out, a.Key)
	}
	return out
}

func TestPhases(t *testing.T) {
	t.Parallel()
	t.Run("add rename reorder remove", func(t *testing.T) {
		t.Parallel()
		eachStore(t, func(t *testing.T, b *testBundle) {
			v := b.get()
			var ph PhaseResponse
			b.do("POST", b.planPath("/phases"), map[string]any{"plan_version": v.Version, "name": "Legal"}).ok(t, http.StatusCreated, &ph)
			if ph.Name != "Legal" || ph.Position != 2 || ph.PlanVersion != v.Version+1 {
				t.Fatalf("added: got %+v, want Legal at 2, plan version %d", ph, v.Version+1)
			}
			var first PhaseResponse
			b.do("POST", b.planPath("/phases"), map[string]any{"plan_version": ph.PlanVersion, "name": "Discovery", "position": 0}).ok(t, http.StatusCreated, &first)
			if got, want := phaseNames(b.get()), []string{"Discovery", "Pre-sales", "Buying", "Legal"}; !slices.Equal(got, want) {
				t.Fatalf("phases: got %v, want %v", got, want)
			}
			var moved PhaseResponse
			b.do("PATCH", b.planPath("/phases/"+ph.ID), map[string]any{"plan_version": first.PlanVersion, "name": "Legal review", "position": 1}).ok(t, http.StatusOK, &moved)
			if moved.Name != "Legal review" || moved.Position != 1 || moved.PlanVersion != first.PlanVersion+1 {
				t.Fatalf("renamed and moved: got %+v, want Legal review at 1, one version on", moved)
			}
			if got, want := phaseNames(b.get()), []string{"Discovery", "Legal review", "Pre-sales", "Buying"}; !slices.Equal(got, want) {
				t.Fatalf("phases: got %v, want %v", got, want)
			}
			var after PlanView
			b.do("DELETE", b.planPath("/phases/"+first.ID), map[string]any{"plan_version": moved.PlanVersion}).ok(t, http.StatusOK, &after)
			if got, want := phaseNames(after), []string{"Legal review", "Pre-sales", "Buying"}; !slices.Equal(got, want) {
				t.Fatalf("after removing an empty phase: got %v, want %v", got, want)
			}
			// Remove Pre-sales, moving its actions to Legal review.
			pre := after.Phases[1]
			b.do("DELETE", b.planPath("/phases/"+pre.ID), map[string]any{"plan_version": after.Version, "move_actions_to": ph.ID}).ok(t, http.StatusOK, &after)
			if got, want := phaseNames(after), []string{"Legal review", "Buying"}; !slices.Equal(got, want) {
				t.Fatalf("after removing Pre-sales: got %v, want %v", got, want)
			}
			if got, want := actionKeys(after.Phases[0]), []string{"kickoff", "review", "forecast"}; !slices.Equal(got, want) {
				t.Errorf("moved actions: got %v, want %v", got, want)
			}
			types := b.eventTypes()
			for _, want := range []plans.EventType{plans.EventPhaseAdded, plans.EventPhaseRenamed, plans.EventPhaseMoved, plans.EventPhaseRemoved, plans.EventActionMoved} {
				if !slices.Contains(types, want) {
					t.Errorf("events: no %s in %v", want, types)
				}
			}
		})
	})
	t.Run("bad input writes nothing", func(t *testing.T) {
		t.Parallel()
		eachStore(t, func(t *testing.T, b *testBundle) {
			v := b.get()
			pre, buy := v.Phases[0].ID, v.Phases[1].ID
			tests := []struct {
				name, method, path string
				body               any
				hdr                []string
				status             int
				code, field        string
			}{
				{"stale version", "POST", "/phases", map[string]any{"plan_version": v.Version + 3, "name": "X"}, nil, 409, "conflict", "plan_version"},
				{"no version", "POST", "/phases", map[string]any{"name": "X"}, nil, 422, "invalid", "plan_version"},
				{"no name", "POST", "/phases", map[string]any{"plan_version": v.Version, "name": " "}, nil, 422, "invalid", "name"},
				{"position out of range", "POST", "/phases", map[string]any{"plan_version": v.Version, "name": "X", "position": 3}, nil, 422, "invalid", "position"},
				{"negative position", "POST", "/phases", map[string]any{"plan_version": v.Version, "name": "X", "position": -1}, nil, 422, "invalid", "position"},
				{"buyer", "POST", "/phases", map[string]any{"plan_version": v.Version, "name": "X"}, []string{HeaderSide, "buyer"}, 403, "forbidden", ""},
				{"unknown phase", "PATCH", "/phases/nope", map[string]any{"plan_version": v.Version, "name": "X"}, nil, 404, "not_found", "phase"},
				{"move out of range", "PATCH", "/phases/" + pre, map[string]any{"plan_version": v.Version, "position": 2}, nil, 422, "invalid", "position"},
				{"rename and bad move", "PATCH", "/phases/" + pre, map[string]any{"plan_version": v.Version, "name": "Renamed", "position": 9}, nil, 422, "invalid", "position"},
				{"stale rename", "PATCH", "/phases/" + pre, map[string]any{"plan_version": v.Version + 1, "name": "Renamed"}, nil, 409, "conflict", "plan_version"},
				{"nothing to change", "PATCH", "/phases/" + pre, map[string]any{"plan_version": v.Version}, nil, 422, "invalid", "name"},
				{"remove without destination", "DELETE", "/phases/" + pre, map[string]any{"plan_version": v.Version}, nil, 422, "invalid", "move_actions_to"},
				{"remove to itself", "DELETE", "/phases/" + pre, map[string]any{"plan_version": v.Version, "move_actions_to": pre}, nil, 422, "invalid", "move_actions_to"},
				{"remove to unknown", "DELETE", "/phases/" + buy, map[string]any{"plan_version": v.Version, "move_actions_to": "nope"}, nil, 422, "invalid", "move_actions_to"},
				{"remove stale", "DELETE", "/phases/" + buy, map[string]any{"plan_version": v.Version + 1, "move_actions_to": pre}, nil, 409, "conflict", "plan_version"},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					b.do(tc.method, b.planPath(tc.path), tc.body, tc.hdr...).wantError(t, tc.status, tc.code, tc.field)
				})
			}
			if now := b.get(); now.Version != v.Version || !slices.Equal(phaseNames(now), phaseNames(v)) {
				t.Errorf("after refused edits: got version %d phases %v, want %d %v", now.Version, phaseNames(now), v.Version, phaseNames(v))
			}
		})
	})
}
