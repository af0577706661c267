package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mapsync/mapsync/plans"
)

func TestAddAction(t *testing.T) {
	t.Parallel()
	t.Run("every field", func(t *testing.T) {
		t.Parallel()
		eachStore(t, func(t *testing.T, b *testBundle) {
			v := b.get()
			owner := v.Members[0]
			var a ActionResponse
			res := b.do("POST", b.planPath("/actions"), map[string]any{
				"plan_version": v.Version, "phase_id": v.Phases[0].ID, "position": 1,
				"title": "Security review", "description": "SOC 2 report", "type": "file_request",
				"assignee_id": owner.ID, "due_rule": map[string]any{"after": "kickoff", "business_days": 2},
				"internal": false, "milestone": "Aligned", "sub_tasks": []string{"Send NDA"},
				"details": map[string]any{"url": "https://files.acme.test/soc2"},
			})
			res.ok(t, http.StatusCreated, &a)
			if a.Title != "Security review" || a.Type != plans.ActionFileRequest || a.Position != 1 || a.AssigneeID != owner.ID ||
				a.OwnerRole != "owner" || a.Milestone != "Aligned" || len(a.SubTasks) != 1 || a.Link == nil || a.Link.URL != "https://files.acme.test/soc2" ||
				a.Key == "" || a.Version != 1 || a.PlanVersion != v.Version+1 {
				t.Fatalf("added: got %+v", a)
			}
			// Kickoff is due 2026-03-03 (a Tuesday): two business days after is Thursday, provisional.
			if a.Due.String() != "2026-03-05" || !a.DueProvisional || a.DueRule == nil || a.DueRule.After != "kickoff" {
				t.Errorf("due: got %s provisional %v rule %+v, want 2026-03-05 provisional after kickoff", a.Due, a.DueProvisional, a.DueRule)
			}
			if !strings.HasSuffix(res.header.Get("Location"), "/actions/"+a.ID) {
				t.Errorf("Location: got %q", res.header.Get("Location"))
			}
			got := b.get()
			if keys := actionKeys(got.Phases[0]); !slices.Equal(keys, []string{"kickoff", a.Key, "review", "forecast"}) {
				t.Errorf("phase: got %v, want the action second", keys)
			}
			// Done kickoff on 2026-03-02 (testNow): the new action counts from that day.
			kick := got.action(t, "kickoff")
			b.do("PATCH", b.actionPath("kickoff"), map[string]any{"version": kick.Version, "status": "done"}).ok(t, http.StatusOK, nil)
			if na := b.get().action(t, a.Key); na.Due.String() != "2026-03-04" || na.DueProvisional {
				t.Errorf("after kickoff done: got due %s provisional %v, want 2026-03-04, final", na.Due, na.DueProvisional)
			}
			// At the end of a phase, absolute due date, owner role only: the role's first member.
			b.do("POST", b.planPath("/actions"), map[string]any{
				"plan_version": b.get().Version, "phase_id": v.Phases[1].ID, "title": "Pricing sign-off",
				"type": "approval", "owner_role": "champion", "due": "2026-03-20",
				"details": map[string]any{"approver_role": "champion"},
			}).ok(t, http.StatusCreated, &a)
			if a.Position != 2 || a.OwnerRole != "champion" || a.AssigneeID == "" || a.Due.String() != "2026-03-20" || a.Approval == nil || a.Approval.ApproverRole != "champion" {
				t.Errorf("appended: got %+v", a)
			}
			if types := b.eventTypes(); !slices.Contains(types, plans.EventActionAdded) {
				t.Errorf("events: no action.added in %v", types)
			}
		})
	})
	t.Run("bad input writes nothing", func(t *testing.T) {
		t.Parallel()
		eachStore(t, func(t *testing.T, b *testBundle) {
			v := b.get()
			pre := v.Phases[0].ID
			body := func(kv ...any) map[string]any {
				m := map[string]any{"plan_version": v.Version, "phase_id": pre, "title": "New"}
				for i := 0; i+1 < len(kv); i += 2 {
					if kv[i+1] == nil {
						delete(m, kv[i].(string))
						continue
					}
					m[kv[i].(string)] = kv[i+1]
				}
				return m
			}
			tests := []struct {
				name        string
				body        map[string]any
				hdr         []string
				status      int
				code, field string
			}{
				{"stale version", body("plan_version", v.Version+1), nil, 409, "conflict", "plan_version"},
				{"unknown phase", body("phase_id", "nope"), nil, 422, "invalid", "phase_id"},
				{"no phase", body("phase_id", nil), nil, 422, "invalid", "phase_id"},
				{"position out of range", body("position", 4), nil, 422, "invalid", "position"},
				{"no title", body("title", " "), nil, 422, "invalid", "title"},
				{"long title", body("title", strings.Repeat("x", plans.MaxTitle+1)), nil, 422, "invalid", "title"},
				{"unknown type", body("type", "party"), nil, 422, "invalid", "type"},
				{"unknown member", body("assignee_id", "nobody"), nil, 422, "invalid", "assignee_id"},
				{"unknown role", body("owner_role", "cfo"), nil, 422, "invalid", "owner_role"},
				{"internal for a buyer", body("internal", true, "owner_role", "champion"), nil, 422, "invalid", "owner_role"},
				{"due and rule", body("due", "2026-03-10", "due_rule", map[string]any{"from": "plan_start"}), nil, 422, "invalid", "due"},
				{"rule after unknown", body("due_rule", map[string]any{"after": "nope", "days": 1}), nil, 422, "invalid", "due_rule.after"},
				{"rule unknown anchor", body("due_rule", map[string]any{"from": "eternity"}), nil, 422, "invalid", "due_rule.from"},
				{"bad date", body("due", "next week"), nil, 400, "bad_request", "due"},
				{"form without questions", body("type", "form"), nil, 422, "invalid", "questions"},
				{"questions on a task", body("questions", []map[string]any{{"key": "q", "text": "Q", "kind": "text"}}), nil, 422, "invalid", "questions"},
				{"detail of another type", body("type", "task", "details", map[string]any{"url": "https://x.test"}), nil, 422, "invalid", "details.url"},
				{"bad url", body("type", "web_app", "details", map[string]any{"url": "ftp://x"}), nil, 422, "invalid", "details.url"},
				{"unknown signer", body("type", "e_sign", "details", map[string]any{"signer_id": "nobody"}), nil, 422, "invalid", "details.signer_id"},
				{"buyer", body(), []string{HeaderSide, "buyer"}, 403, "forbidden", ""},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					b.do("POST", b.planPath("/actions"), tc.body, tc.hdr...).wantError(t, tc.status, tc.code, tc.field)
				})
			}
			if now := b.get(); now.Version != v.Version || now.Progress.ActionsTotal != v.Progress.ActionsTotal {
				t.Errorf("after refused adds: got version %d, %d actions; want %d, %d", now.Version, now.Progress.ActionsTotal, v.Version, v.Progress.ActionsTotal)
			}
		})
	})
	t.Run("due before the start where the template forbids it", func(t *testing.T) {
		t.Parallel()
		eachStore(t, func(t *testing.T, b *testBundle) {
			strict := strings.Replace(templateDoc, "key: api-test\n", "key: strict\ndue_not_before_start: true\n", 1)
			strict = strings.Replace(strict, "selection:\n  rule: '!deal.is_closed'\n", "", 1)
			tpl, err := plans.Parse([]byte(strict))
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := b.store.ImportTemplate(t.Context(), tpl); err != nil {
				t.Fatal(err)
			}
			svc := b.srv.Service()
			p, _, err := svc.CreatePlan(t.Context(), "strict", 0, testDeal("006S"), time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			path := "/api/v1/plans/" + p.ID
			add := map[string]any{"plan_version": p.Version, "phase_id": p.Phases[0].ID, "title": "Early", "due": "2026-03-01"}
			b.do("POST", path+"/actions", add).wantError(t, 422, "invalid", "due")
			add["due"] = nil
			add["due_rule"] = map[string]any{"from": "plan_start", "days": -2}
			b.do("POST", path+"/actions", add).wantError(t, 422, "invalid", "due_rule")
			kick := p.ActionByKey("kickoff")
			b.do("PATCH", path+"/actions/"+kick.ID, map[string]any{"version": kick.Version, "due": "2026-02-27"}).wantError(t, 422, "invalid", "due")
			b.do("PUT", path+"/milestones/Aligned", map[string]any{"plan_version": p.Version, "target_date": "2026-02-27"}).wantError(t, 422, "invalid", "target_date")
			add["due_rule"] = map[string]any{"from": "plan_start", "days": 0}
			b.do("POST", path+"/actions", add).ok(t, http.StatusCreated, nil)
			// The test template allows it.
			v := b.get()
			b.do("POST", b.planPath("/actions"), map[string]any{"plan_version": v.Version, "phase_id": v.Phases[0].ID, "title": "Early", "due": "2026-03-01"}).ok(t, http.StatusCreated, nil)
		})
	})
}

func TestRemoveAction(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		review := b.plan.ActionByKey("review")
		path := b.actionPath("review")
		b.do("DELETE", path, map[string]any{"version": 9}).wantError(t, 409, "conflict", "version")
		b.do("DELETE", path, map[string]any{"version": 1}, HeaderSide, "buyer").wantError(t, 403, "forbidden", "")
		b.do("DELETE", b.planPath("/actions/nope"), map[string]any{"version": 1}).wantError(t, 404, "not_found", "action")
		var v PlanView
		b.do("DELETE", path, map[string]any{"version": 1}).ok(t, http.StatusOK, &v)
		if v.Action(review.ID) != nil || v.Progress.ActionsTotal != 4 {
			t.Fatalf("after remove: got %d actions, review still there: %v", v.Progress.ActionsTotal, v.Action(review.ID) != nil)
		}
		if keys := actionKeys(v.Phases[0]); !slices.Equal(keys, []string{"kickoff", "forecast"}) {
			t.Errorf("phase: got %v, want kickoff, forecast renumbered", keys)
		}
		// forecast counted from review: it keeps its date, no longer computed.
		if f := v.action(t, "forecast"); f.DueRule != nil || f.Due.String() != "2026-03-08" {
			t.Errorf("forecast: got due %s rule %+v, want 2026-03-08 without a rule", f.Due, f.DueRule)
		}
		events, err := b.store.Events(t.Context(), b.plan.ID, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(events, func(e plans.Event) bool { return e.Type == plans.EventActionRemoved })
		if i < 0 {
			t.Fatalf("no action.removed event")
		}
		raw, _ := json.Marshal(events[i].Before)
		var before struct {
			PhaseID string       `json:"phase_id"`
			Action  plans.Action `json:"action"`
		}
		if err := json.Unmarshal(raw, &before); err != nil || before.Action.ID != review.ID || before.Action.Title != "Review" || before.PhaseID != b.plan.Phases[0].ID {
			t.Errorf("removed event keeps: got %s (%v), want the review action and its phase", raw, err)
		}
	})
}

func TestChangeType(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		path := b.actionPath("forecast")
		tests := []struct {
			name        string
			body        map[string]any
			status      int
			code, field string
		}{
			{"stale", map[string]any{"version": 2, "type": "meeting"}, 409, "conflict", "version"},
			{"unknown type", map[string]any{"version": 1, "type": "party"}, 422, "invalid", "type"},
			{"same type", map[string]any{"version": 1, "type": "task"}, 422, "invalid", "type"},
			{"form without questions", map[string]any{"version": 1, "type": "form"}, 422, "invalid", "questions"},
			{"detail of another type", map[string]any{"version": 1, "type": "meeting", "details": map[string]any{"signer_id": "x"}}, 422, "invalid", "details.signer_id"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				b.do("PUT", path+"/type", tc.body).wantError(t, tc.status, tc.code, tc.field)
			})
		}
		var a ActionResponse
		b.do("PUT", path+"/type", map[string]any{"version": 1, "type": "meeting", "details": map[string]any{"scheduled_at": "2026-03-04T09:30", "url": "https://meet.test/x"}}).ok(t, http.StatusOK, &a)
		if a.Type != plans.ActionMeeting || a.Meeting == nil || a.Meeting.URL != "https://meet.test/x" || a.Meeting.ScheduledAt == nil || a.Version != 2 {
			t.Fatalf("changed: got %+v", a)
		}
		q := b.get().action(t, "questionnaire")
		b.do("PUT", b.actionPath("questionnaire")+"/type", map[string]any{"version": q.Version, "type": "task"}).ok(t, http.StatusOK, &a)
		if a.Type != plans.ActionTask || a.Questions != nil || a.Responses != nil {
			t.Errorf("form to task: got %+v, want no questions", a)
		}
		if types := b.eventTypes(); !slices.Contains(types, plans.EventActionTypeChanged) {
			t.Errorf("events: no action.type_changed in %v", types)
		}
	})
}

func TestMilestones(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		v := b.get()
		path := b.planPath("/milestones/Aligned")
		b.do("PUT", path, map[string]any{"plan_version": v.Version + 1, "target_date": "2026-03-10"}).wantError(t, 409, "conflict", "plan_version")
		b.do("PUT", b.planPath("/milestones/Nope"), map[string]any{"plan_version": v.Version, "target_date": "2026-03-10"}).wantError(t, 404, "not_found", "milestone")
		b.do("PUT", path, map[string]any{"plan_version": v.Version, "target_date": "soon"}).wantError(t, 400, "bad_request", "target_date")
		b.do("PUT", path, map[string]any{"plan_version": v.Version, "target_date": "2026-03-10"}, HeaderSide, "buyer").wantError(t, 403, "forbidden", "")
		b.do("PUT", path, map[string]any{"plan_version": v.Version, "target_date": "2026-03-10"}).ok(t, http.StatusOK, &v)
		b.do("PUT", path, map[string]any{"plan_version": v.Version, "target_date": "2026-03-12"}).ok(t, http.StatusOK, &v)
		ms := v.Progress.Milestones
		if len(ms) != 2 || ms[0].Name != "Aligned" || ms[0].TargetDate.String() != "2026-03-12" || ms[0].Reached {
			t.Fatalf("milestones: got %+v, want Aligned targeted 2026-03-12, not reached", ms)
		}
		// Put the kickoff on the milestone too, then reach it: both actions done.
		kick := v.action(t, "kickoff")
		b.do("PATCH", b.actionPath("kickoff"), map[string]any{"version": kick.Version, "milestone": "Aligned", "status": "done"}).ok(t, http.StatusOK, nil)
		if m := b.get().Progress.Milestones[0]; m.Reached {
			t.Fatalf("milestone reached with review open: %+v", m)
		}
		review := b.get().action(t, "review")
		b.do("PATCH", b.actionPath("review"), map[string]any{"version": review.Version, "status": "done"}).ok(t, http.StatusOK, nil)
		v = b.get()
		if m := v.Progress.Milestones[0]; !m.Reached || m.Late || m.TargetDate.String() != "2026-03-12" || !slices.Contains(v.Progress.MilestonesReached, "Aligned") {
			t.Errorf("milestone: got %+v, want reached on time", m)
		}
		b.do("PUT", path, map[string]any{"plan_version": v.Version, "target_date": nil}).ok(t, http.StatusOK, &v)
		if m := v.Progress.Milestones[0]; !m.TargetDate.IsZero() {
			t.Errorf("cleared: got target %s", m.TargetDate)
		}
		if types := b.eventTypes(); !slices.Contains(types, plans.EventMilestoneTarget) || !slices.Contains(types, plans.EventActionMilestone) {
			t.Errorf("events: got %v, want milestone.target_changed and action.milestone_changed", types)
		}
	})
}

func TestBuyerNeverSeesInternalActionAddedLater(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		v := b.get()
		var a ActionResponse
		b.do("POST", b.planPath("/actions"), map[string]any{
			"plan_version": v.Version, "phase_id": v.Phases[1].ID, "position": 0, "title": "Discount approval (internal)",
			"type": "approval", "internal": true, "owner_role": "owner", "milestone": "Deal desk",
		}).ok(t, http.StatusCreated, &a)
		buyer := []string{HeaderSide, "buyer"}
		bv := b.get(buyer...)
		if bv.Action(a.ID) != nil {
			t.Errorf("buyer plan shows the internal action")
		}
		for _, m := range bv.Progress.Milestones {
			if m.Name == "Deal desk" {
				t.Errorf("buyer progress shows the internal action's milestone")
			}
		}
		if bv.Progress.ActionsTotal != v.Progress.ActionsTotal-1 {
			t.Errorf("buyer actions: got %d, want %d (no internal ones)", bv.Progress.ActionsTotal, v.Progress.ActionsTotal-1)
		}
		b.do("GET", b.planPath("/actions/"+a.ID), nil, buyer...).wantError(t, 404, "not_found", "action")
		b.do("GET", b.planPath("/actions/"+a.ID+"?audience=buyer"), nil).wantError(t, 404, "not_found", "action")
		b.do("POST", b.planPath("/actions/"+a.ID+"/steps"), map[string]any{"version": 1, "step": "approve"}, buyer...).wantError(t, 404, "not_found", "action")
		var events EventList
		b.do("GET", b.planPath("/events"), nil, buyer...).ok(t, http.StatusOK, &events)
		for _, e := range events.Events {
			if e.ActionID == a.ID || e.Type == plans.EventActionAdded {
				t.Errorf("buyer events show %s of the internal action", e.Type)
			}
		}
		// Moved, retyped, stepped: still hidden.
		b.do("POST", b.planPath("/actions/"+a.ID+"/steps"), map[string]any{"version": 1, "step": "approve"}).ok(t, http.StatusOK, nil)
		if bv := b.get(buyer...); bv.Action(a.ID) != nil {
			t.Errorf("buyer plan shows the internal action after it was approved")
		}
	})
}

func TestSaveEditedPlanAsTemplate(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		v := b.get()
		var ph PhaseResponse
		b.do("POST", b.planPath("/phases"), map[string]any{"plan_version": v.Version, "name": "Legal", "position": 1}).ok(t, http.StatusCreated, &ph)
		var a ActionResponse
		b.do("POST", b.planPath("/actions"), map[string]any{
			"plan_version": ph.PlanVersion, "phase_id": ph.ID, "title": "Redlines", "type": "file_request",
			"owner_role": "legal", "due_rule": map[string]any{"after": "review", "days": 3}, "milestone": "Signed",
		}).ok(t, http.StatusCreated, &a)
		b.do("DELETE", b.actionPath("forecast"), map[string]any{"version": 1}).ok(t, http.StatusOK, &v)
		b.do("PATCH", b.planPath("/phases/"+v.Phases[0].ID), map[string]any{"plan_version": v.Version, "name": "Discovery"}).ok(t, http.StatusOK, nil)
		q := b.get().action(t, "questionnaire")
		b.do("PUT", b.actionPath("questionnaire")+"/type", map[string]any{"version": q.Version, "type": "acknowledgement"}).ok(t, http.StatusOK, nil)
		edited := b.get()

		var saved TemplateCreated
		b.do("POST", b.planPath("/save-as-template"), map[string]any{"key": "edited", "name": "Edited"}).ok(t, http.StatusCreated, &saved)
		p, created, err := b.srv.Service().CreatePlan(t.Context(), "edited", 0, testDeal("006E"), time.UTC)
		if err != nil || !created {
			t.Fatalf("instantiate the saved template: created %v, %v", created, err)
		}
		type shape struct{ Phase, Title, Type, Owner, Milestone, Due, After string }
		shapeOf := func(p *plans.Plan) []shape {
			var out []shape
			for _, ph := range p.Phases {
				for _, a := range ph.Actions {
					s := shape{ph.Name, a.Title, string(a.Type), a.OwnerRole, a.Milestone, a.Due.String(), ""}
					if a.DueRule != nil {
						s.After = a.DueRule.After
						if s.After != "" {
							s.After = p.ActionByKey(s.After).Title
						}
					}
					out = append(out, s)
				}
			}
			return out
		}
		got, want := shapeOf(p), shapeOf(&edited.Plan)
		if !slices.Equal(got, want) {
			t.Errorf("instantiated shape:\n got %+v\nwant %+v", got, want)
		}
		if len(got) != 5 || got[2].Title != "Redlines" || got[2].Phase != "Legal" || got[2].After != "Review" {
			t.Errorf("want Redlines in Legal after Review third, got %+v", got)
		}
	})
}

func TestPatchActionShape(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		kick, review, forecast := b.actionPath("kickoff"), b.actionPath("review"), b.actionPath("forecast")
		tests := []struct {
			name        string
			path        string
			body        map[string]any
			hdr         []string
			status      int
			code, field string
		}{
			{"rule cycle", review, map[string]any{"version": 1, "due_rule": map[string]any{"after": "forecast", "days": 1}}, nil, 422, "invalid", "due_rule.after"},
			{"rule after itself", review, map[string]any{"version": 1, "due_rule": map[string]any{"after": "review"}}, nil, 422, "invalid", "due_rule.after"},
			{"rule and due", kick, map[string]any{"version": 1, "due": "2026-03-09", "due_rule": map[string]any{"from": "plan_start"}}, nil, 422, "invalid", "due_rule"},
			{"internal for a buyer's action", review, map[string]any{"version": 1, "internal": true}, nil, 422, "invalid", "internal"},
			{"unknown role", kick, map[string]any{"version": 1, "owner_role": "cfo"}, nil, 422, "invalid", "owner_role"},
			{"buyer changes internal", review, map[string]any{"version": 1, "internal": false}, []string{HeaderSide, "buyer"}, 403, "forbidden", ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				b.do("PATCH", tc.path, tc.body, tc.hdr...).wantError(t, tc.status, tc.code, tc.field)
			})
		}
		var a ActionResponse
		// Ten business days before the close date (Thursday 2026-04-30).
		b.do("PATCH", kick, map[string]any{"version": 1, "due_rule": map[string]any{"from": "close_date", "business_days": -10}}).ok(t, http.StatusOK, &a)
		if a.Due.String() != "2026-04-16" || a.DueRule == nil || a.DueRule.From != plans.AnchorCloseDate {
			t.Fatalf("due rule: got %s %+v, want 2026-04-16 from close_date", a.Due, a.DueRule)
		}
		if r := b.get().action(t, "review"); r.Due.String() != "2026-04-21" || !r.DueProvisional {
			t.Errorf("review after kickoff: got %s provisional %v, want 2026-04-21 provisional", r.Due, r.DueProvisional)
		}
		fc := b.get().action(t, "forecast")
		a = ActionResponse{} // assignee_id is omitted when empty
		b.do("PATCH", forecast, map[string]any{"version": fc.Version, "owner_role": "se"}).ok(t, http.StatusOK, &a)
		if a.OwnerRole != "se" || a.AssigneeID != "" {
			t.Errorf("owner role: got %s/%q, want se with nobody (the role has no member)", a.OwnerRole, a.AssigneeID)
		}
		buyer := []string{HeaderSide, "buyer"}
		if bv := b.get(buyer...); bv.ActionByKey("forecast") != nil {
			t.Fatalf("buyer sees forecast while internal")
		}
		b.do("PATCH", forecast, map[string]any{"version": a.Version, "internal": false}).ok(t, http.StatusOK, &a)
		if bv := b.get(buyer...); bv.ActionByKey("forecast") == nil {
			t.Errorf("buyer does not see forecast once it is shared")
		}
		b.do("PATCH", forecast, map[string]any{"version": a.Version, "internal": true, "owner_role": "owner"}).ok(t, http.StatusOK, &a)
		if !a.Internal || a.OwnerRole != "owner" || a.AssigneeID != b.plan.Members[0].ID {
			t.Errorf("internal again, to the owner: got internal %v %s/%s", a.Internal, a.OwnerRole, a.AssigneeID)
		}
		if bv := b.get(buyer...); bv.ActionByKey("forecast") != nil {
			t.Errorf("buyer sees forecast after it was made internal again")
		}
	})
}
