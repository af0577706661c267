package server

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mapsync/mapsync/plans"
)

func TestGetPlan(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		v := b.get()
		if v.ID != b.plan.ID || v.Name != "Acme 006A plan" || len(v.Phases) != 2 || len(v.Members) != 2 {
			t.Fatalf("plan: got id %s name %q, %d phases, %d members; want %s, Acme 006A plan, 2, 2", v.ID, v.Name, len(v.Phases), len(v.Members), b.plan.ID)
		}
		kickoff := v.action(t, "kickoff")
		if len(kickoff.SubTasks) != 2 || kickoff.Version != 1 || kickoff.Status != plans.StatusNotStarted {
			t.Errorf("kickoff: got %+v, want 2 sub-tasks, version 1, not started", kickoff)
		}
		if v.action(t, "forecast") == nil || !v.action(t, "forecast").Internal {
			t.Errorf("seller view: want the internal forecast action")
		}
		if v.Progress.PlanID != b.plan.ID || v.Progress.ActionsTotal != 5 || !v.Progress.AsOf.Equal(testNow) {
			t.Errorf("progress: got %+v, want 5 actions as of %v", v.Progress, testNow)
		}

		t.Run("unknown plan", func(t *testing.T) {
			b.do("GET", "/api/v1/plans/nope", nil).wantError(t, http.StatusNotFound, "not_found", "plan")
		})
		t.Run("bad audience", func(t *testing.T) {
			b.do("GET", "/api/v1/plans/"+b.plan.ID+"?audience=everyone", nil).wantError(t, http.StatusBadRequest, "bad_request", "audience")
		})
	})
}

func TestBuyerView(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		review := b.actionPath("review")
		b.do("POST", review+"/comments", map[string]any{"body": "discount approved to 20%", "internal": true}).ok(t, http.StatusCreated, nil)
		b.do("POST", review+"/comments", map[string]any{"body": "see the deck"}).ok(t, http.StatusCreated, nil)
		b.do("POST", "/api/v1/plans/"+b.plan.ID+"/attachments", map[string]any{"name": "Pricing model", "url": "https://docs.test/p", "internal": true}).ok(t, http.StatusCreated, nil)

		seller := b.get()
		var sellerComments CommentList
		b.do("GET", review+"/comments", nil).ok(t, http.StatusOK, &sellerComments)
		if n := len(sellerComments.Comments); n != 2 || len(seller.Attachments) != 1 {
			t.Fatalf("seller: got %d comments, %d attachments, want 2 and 1", n, len(seller.Attachments))
		}
		views := map[string][]string{
			"audience=buyer": {},
			"buyer side":     {HeaderSide, "buyer", HeaderActor, "alice@acme.test"},
		}
		for name, hdr := range views {
			t.Run(name, func(t *testing.T) {
				var v PlanView
				path := "/api/v1/plans/" + b.plan.ID
				if name == "audience=buyer" {
					path += "?audience=buyer"
				}
				b.do("GET", path, nil, hdr...).ok(t, http.StatusOK, &v)
				if v.ActionByKey("forecast") != nil {
					t.Errorf("buyer view shows the internal action")
				}
				var cs CommentList
				path = review + "/comments"
				if name == "audience=buyer" {
					path += "?audience=buyer"
				}
				b.do("GET", path, nil, hdr...).ok(t, http.StatusOK, &cs)
				if len(cs.Comments) != 1 || cs.Comments[0].Body != "see the deck" {
					t.Errorf("buyer comments: got %+v, want the shared one only", cs.Comments)
				}
				if len(v.Attachments) != 0 {
					t.Errorf("buyer attachments: got %+v, want none", v.Attachments)
				}
				if v.Progress.ActionsTotal != 4 || v.Progress.NextActionInternal {
					t.Errorf("buyer progress: got %+v, want 4 actions, no internal next action", v.Progress)
				}
			})
		}
		t.Run("buyer cannot reach an internal action", func(t *testing.T) {
			forecast := b.actionPath("forecast")
			hdr := []string{HeaderSide, "buyer"}
			b.do("GET", forecast, nil, hdr...).wantError(t, http.StatusNotFound, "not_found", "action")
			b.do("GET", forecast+"/comments", nil, hdr...).wantError(t, http.StatusNotFound, "not_found", "action")
			b.do("GET", forecast+"/comments?audience=buyer", nil).wantError(t, http.StatusNotFound, "not_found", "action")
			b.do("GET", forecast+"?audience=seller", nil, hdr...).wantError(t, http.StatusNotFound, "not_found", "action")
			b.do("PATCH", forecast, map[string]any{"version": 1, "status": "done"}, hdr...).wantError(t, http.StatusNotFound, "not_found", "action")
			b.do("POST", review+"/comments", map[string]any{"body": "psst", "internal": true}, hdr...).wantError(t, http.StatusUnprocessableEntity, "invalid", "internal")
		})
		t.Run("buyer events", func(t *testing.T) {
			var seller, buyer EventList
			b.do("GET", "/api/v1/plans/"+b.plan.ID+"/events", nil).ok(t, http.StatusOK, &seller)
			b.do("GET", "/api/v1/plans/"+b.plan.ID+"/events?audience=buyer", nil).ok(t, http.StatusOK, &buyer)
			if len(buyer.Events) >= len(seller.Events) {
				t.Fatalf("buyer events: got %d of %d, want fewer", len(buyer.Events), len(seller.Events))
			}
			for _, e := range buyer.Events {
				if e.Internal {
					t.Errorf("buyer sees internal event %+v", e)
				}
			}
		})
	})
}

func TestListPlans(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		for _, d := range []string{"006B", "006C", "006D"} {
			b.createPlan(d)
		}
		var all PlanList
		b.do("GET", "/api/v1/plans", nil).ok(t, http.StatusOK, &all)
		if len(all.Plans) != 4 || all.Next != "" {
			t.Fatalf("all: got %d plans, next %q; want 4, none", len(all.Plans), all.Next)
		}
		var seen []string
		after := ""
		for range 3 {
			var page PlanList
			b.do("GET", "/api/v1/plans?limit=3&after="+after, nil).ok(t, http.StatusOK, &page)
			for _, p := range page.Plans {
				seen = append(seen, p.ID)
			}
			if after = page.Next; after == "" {
				break
			}
		}
		if len(seen) != 4 || !slices.IsSorted(seen) {
			t.Errorf("paged: got %v, want 4 ids in order", seen)
		}
		var one PlanList
		b.do("GET", "/api/v1/plans?connection=sf&deal=006C&status=active&owner=005O", nil).ok(t, http.StatusOK, &one)
		if len(one.Plans) != 1 || one.Plans[0].DealID != "006C" {
			t.Errorf("filtered: got %+v, want deal 006C", one.Plans)
		}
		var none PlanList
		res := b.do("GET", "/api/v1/plans?status=closed", nil)
		res.ok(t, http.StatusOK, &none)
		if none.Plans == nil || len(none.Plans) != 0 || !strings.Contains(string(res.body), `"plans":[]`) {
			t.Errorf("no match: got %s, want an empty list", res.body)
		}
		b.do("GET", "/api/v1/plans?status=done", nil).wantError(t, http.StatusBadRequest, "bad_request", "status")
		b.do("GET", "/api/v1/plans?limit=0", nil).wantError(t, http.StatusBadRequest, "bad_request", "limit")
		b.do("GET", "/api/v1/plans?limit=x", nil).wantError(t, http.StatusBadRequest, "bad_request", "limit")
	})
}

func TestEvents(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		kickoff := b.actionPath("kickoff")
		b.do("PATCH", kickoff, map[string]any{"version": 1, "status": "in_progress", "title": "Kickoff call"}).ok(t, http.StatusOK, nil)
		var all EventList
		b.do("GET", "/api/v1/plans/"+b.plan.ID+"/events?limit=500", nil).ok(t, http.StatusOK, &all)
		n := len(all.Events)
		last := all.Events[n-2:]
		if last[0].Type != plans.EventActionTitle || last[1].Type != plans.EventActionStatus {
			t.Fatalf("last events: got %v, %v; want title then status", last[0].Type, last[1].Type)
		}
		e := last[1]
		if e.Actor.ID != "token:ci" || e.Actor.Side != plans.SideSeller || !e.At.Equal(testNow) || e.Before != "not_started" || e.After != "in_progress" {
			t.Errorf("status event: got %+v, want by token:ci at %v, not_started -> in_progress", e, testNow)
		}
		var p1, p2 EventList
		b.do("GET", "/api/v1/plans/"+b.plan.ID+"/events?limit=2", nil).ok(t, http.StatusOK, &p1)
		b.do("GET", "/api/v1/plans/"+b.plan.ID+"/events?limit=500&after="+p1.Next, nil).ok(t, http.StatusOK, &p2)
		if len(p1.Events) != 2 || p1.Next != p1.Events[1].ID || len(p2.Events) != n-2 || p2.Next != "" {
			t.Errorf("pages: got %d (next %q) then %d (next %q), want 2 then %d", len(p1.Events), p1.Next, len(p2.Events), p2.Next, n-2)
		}
		b.do("GET", "/api/v1/plans/nope/events", nil).wantError(t, http.StatusNotFound, "not_found", "plan")
		b.do("GET", "/api/v1/plans/nope/events?after="+p1.Next, nil).wantError(t, http.StatusNotFound, "not_found", "plan")
		b.do("GET", "/api/v1/plans/"+b.plan.ID+"/events?after=nope", nil).wantError(t, http.StatusBadRequest, "bad_request", "after")
		b.do("GET", "/api/v1/plans/"+b.plan.ID+"/events?limit=501", nil).wantError(t, http.StatusBadRequest, "bad_request", "limit")
	})
}

func TestCloseAndCancel(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		var v PlanView
		b.do("POST", "/api/v1/plans/"+b.plan.ID+"/close", map[string]any{"reason": "won"}).ok(t, http.StatusOK, &v)
		if v.Status != plans.PlanClosed || v.CloseReason != "won" || v.Progress.Status != plans.ProgressCompleted {
			t.Fatalf("closed: got %s %q %s, want closed, won, completed", v.Status, v.CloseReason, v.Progress.Status)
		}
		b.do("PATCH", b.actionPath("kickoff"), map[string]any{"version": 1, "status": "done"}).wantError(t, http.StatusConflict, "plan_closed", "")
		b.do("POST", "/api/v1/plans/"+b.plan.ID+"/cancel", nil).wantError(t, http.StatusConflict, "plan_closed", "")

		other := b.createPlan("006Z")
		b.do("POST", "/api/v1/plans/"+other.ID+"/cancel", nil, HeaderSide, "buyer").wantError(t, http.StatusUnprocessableEntity, "invalid", "status")
		b.do("POST", "/api/v1/plans/"+other.ID+"/cancel", nil).ok(t, http.StatusOK, &v)
		if v.Status != plans.PlanCancelled || v.ClosedAt == nil {
			t.Errorf("cancelled: got %s, closed at %v", v.Status, v.ClosedAt)
		}
		b.do("POST", "/api/v1/plans/nope/close", nil).wantError(t, http.StatusNotFound, "not_found", "plan")
	})
}

func TestSaveAsTemplate(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		b.do("POST", b.actionPath("kickoff")+"/subtasks", map[string]any{"title": "Send invite"}).ok(t, http.StatusCreated, nil)
		var got TemplateCreated
		res := b.do("POST", "/api/v1/plans/"+b.plan.ID+"/save-as-template", map[string]any{"key": "acme-playbook", "name": "Acme playbook"})
		res.ok(t, http.StatusCreated, &got)
		if got.Key != "acme-playbook" || got.Version != 1 || got.Template.Action("kickoff") == nil || len(got.Template.Action("kickoff").SubTasks) != 3 {
			t.Fatalf("saved: got %+v, want acme-playbook v1 with kickoff's 3 sub-tasks", got)
		}
		if loc := res.header.Get("Location"); loc != "/api/v1/templates/acme-playbook" {
			t.Errorf("Location: got %q", loc)
		}
		var tpl plans.Template
		b.do("GET", "/api/v1/templates/acme-playbook", nil).ok(t, http.StatusOK, &tpl)
		if tpl.Name != "Acme playbook" || tpl.Version != 1 {
			t.Errorf("stored template: got %q v%d", tpl.Name, tpl.Version)
		}
		if ev := b.eventTypes(); ev[len(ev)-1] != plans.EventPlanSavedAsTemplate {
			t.Errorf("events: got %v, want plan.saved_as_template last", ev)
		}
		b.do("POST", "/api/v1/plans/"+b.plan.ID+"/save-as-template", map[string]any{"key": "acme-playbook", "name": "Again"}).
			wantError(t, http.StatusConflict, "conflict", "key")
		e := b.do("POST", "/api/v1/plans/"+b.plan.ID+"/save-as-template", map[string]any{"key": "Bad Key!", "name": "x"}).
			wantError(t, http.StatusUnprocessableEntity, "invalid_template", "key")
		if len(e.Problems) == 0 || e.Problems[0].Path != "key" {
			t.Errorf("problems: got %+v, want one at key", e.Problems)
		}
		b.do("POST", "/api/v1/plans/"+b.plan.ID+"/save-as-template", map[string]any{"key": "x", "name": "x"}, HeaderSide, "buyer").
			wantError(t, http.StatusForbidden, "forbidden", "")
	})
}
