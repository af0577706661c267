package server

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/mapsync/mapsync/plans"
)

func TestUpdateAction(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		kickoff := b.actionPath("kickoff")
		var a ActionResponse
		b.do("PATCH", kickoff, map[string]any{"version": 1, "status": "in_progress", "due": "2026-03-05", "description": "Agenda first"}).ok(t, http.StatusOK, &a)
		if a.Status != plans.StatusInProgress || a.Version != 2 || a.Due.String() != "2026-03-05" || a.Description != "Agenda first" || a.PlanVersion != b.plan.Version+1 {
			t.Fatalf("patched: got %+v, want in progress, version 2, due 2026-03-05, plan version %d", a, b.plan.Version+1)
		}
		se := b.do("POST", "/api/v1/plans/"+b.plan.ID+"/members", map[string]any{"role": "se", "name": "Eve", "email": "eve@vendor.test"})
		var m plans.Member
		se.ok(t, http.StatusCreated, &m)
		b.do("PATCH", kickoff, map[string]any{"version": 2, "assignee_id": m.ID}).ok(t, http.StatusOK, &a)
		if a.AssigneeID != m.ID || a.OwnerRole != "se" {
			t.Errorf("assigned: got %s/%s, want %s/se", a.AssigneeID, a.OwnerRole, m.ID)
		}
		b.do("PATCH", kickoff, map[string]any{"version": 3, "status": "done"}).ok(t, http.StatusOK, &a)
		a = ActionResponse{}
		b.do("PATCH", kickoff, map[string]any{"version": 4, "status": "in_progress"}).ok(t, http.StatusOK, &a)
		if a.Status != plans.StatusInProgress || a.CompletedAt != nil {
			t.Errorf("reopened: got %s completed %v", a.Status, a.CompletedAt)
		}
		before := len(b.eventTypes())
		b.do("PATCH", kickoff, map[string]any{"version": 5, "status": "in_progress"}).ok(t, http.StatusOK, &a)
		if a.Version != 5 || len(b.eventTypes()) != before {
			t.Errorf("no-op patch: got version %d, %d new events; want 5 and none", a.Version, len(b.eventTypes())-before)
		}

		tests := []struct {
			name         string
			path         string
			body         any
			status       int
			code, field  string
			extraHeaders []string
		}{
			{"unknown status", kickoff, map[string]any{"version": 5, "status": "finished"}, 422, "invalid", "status", nil},
			{"unknown member", kickoff, map[string]any{"version": 5, "assignee_id": "nobody"}, 422, "invalid", "assignee_id", nil},
			{"empty title", kickoff, map[string]any{"version": 5, "title": " "}, 422, "invalid", "title", nil},
			{"missing version", kickoff, map[string]any{"status": "done"}, 422, "invalid", "version", nil},
			{"stale version", kickoff, map[string]any{"version": 1, "status": "done"}, 409, "conflict", "version", nil},
			{"unknown action", "/api/v1/plans/" + b.plan.ID + "/actions/nope", map[string]any{"version": 1}, 404, "not_found", "action", nil},
			{"unknown plan", "/api/v1/plans/nope/actions/nope", map[string]any{"version": 1}, 404, "not_found", "plan", nil},
			{"unknown field", kickoff, map[string]any{"version": 5, "colour": "red"}, 400, "bad_request", "colour", nil},
			{"wrong type", kickoff, map[string]any{"version": "5"}, 400, "bad_request", "version", nil},
			{"malformed", kickoff, `{"version": 5,`, 400, "bad_request", "", nil},
			{"two objects", kickoff, `{"version": 5} {}`, 400, "bad_request", "", nil},
			{"empty body", kickoff, "", 400, "bad_request", "", nil},
			{"bad date", kickoff, map[string]any{"version": 5, "due": "tomorrow"}, 400, "bad_request", "due", nil},
			{"too large", kickoff, `{"version": 5, "description": "` + strings.Repeat("x", MaxBodyBytes) + `"}`, 413, "too_large", "", nil},
		}
		// Every row starts from the state above, whatever rows ran before it (each passes alone):
		// review blocked at version 2 for "blocked to done".
		var review ActionResponse
		b.do("PATCH", b.actionPath("review"), map[string]any{"version": b.get().action(t, "review").Version, "status": "blocked"}).ok(t, http.StatusOK, &review)
		tests = append(tests, struct {
			name         string
			path         string
			body         any
			status       int
			code, field  string
			extraHeaders []string
		}{"blocked to done", b.actionPath("review"), map[string]any{"version": review.Version, "status": "done"}, 422, "invalid_transition", "status", nil})
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				before := len(b.eventTypes())
				res := b.do("PATCH", tc.path, tc.body, tc.extraHeaders...)
				if tc.status == 200 {
					res.ok(t, 200, nil)
					return
				}
				res.wantError(t, tc.status, tc.code, tc.field)
				if got := len(b.eventTypes()); got != before {
					t.Errorf("events: got %d new, want none (nothing half-written)", got-before)
				}
			})
		}
	})
}

func TestConcurrentPatches(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		kickoff := b.actionPath("kickoff")
		const n = 8
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				statuses[i] = b.do("PATCH", kickoff, map[string]any{"version": 1, "title": "Kickoff " + string(rune('A'+i))}).status
			})
		}
		wg.Wait()
		ok, conflict := 0, 0
		for _, s := range statuses {
			switch s {
			case http.StatusOK:
				ok++
			case http.StatusConflict:
				conflict++
			}
		}
		if ok != 1 || conflict != n-1 {
			t.Fatalf("statuses: got %v, want one 200 and %d 409", statuses, n-1)
		}
		v := b.get()
		if a := v.action(t, "kickoff"); a.Version != 2 {
			t.Errorf("kickoff version: got %d, want 2", a.Version)
		}
	})
}

// sneak changes the plan behind the server's back, straight through the store.
func (b *testBundle) sneak(t *testing.T, op plans.Op) {
	p, err := b.store.Plan(t.Context(), b.plan.ID)
	if err != nil {
		t.Error(err)
		return
	}
	base := p.Version
	ev, err := op(p, plans.Change{By: plans.System(), At: testNow})
	if err == nil {
		err = b.store.Store.UpdatePlan(t.Context(), p, base, ev)
	}
	if err != nil {
		t.Error(err)
	}
}

// TestRetryOnPlanConflict slips a change to another action in between the load and the write:
// the store refuses the stale plan version, the service reloads and reapplies, and both changes
// survive.
func TestRetryOnPlanConflict(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		review := b.plan.ActionByKey("review")
		var once sync.Once
		b.store.set(func(f *faults) {
			f.beforeUpdate = func(*plans.Plan) {
				once.Do(func() {
					b.sneak(t, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
						s := plans.StatusInProgress
						return p.UpdateAction(c, review.ID, plans.ActionPatch{Version: 1, Status: &s})
					})
				})
			}
		})
		var a ActionResponse
		b.do("PATCH", b.actionPath("kickoff"), map[string]any{"version": 1, "status": "done"}).ok(t, http.StatusOK, &a)
		v := b.get()
		if v.action(t, "kickoff").Status != plans.StatusDone || v.action(t, "review").Status != plans.StatusInProgress {
			t.Errorf("after retry: got kickoff %s, review %s; want done and in_progress", v.action(t, "kickoff").Status, v.action(t, "review").Status)
		}
		if v.Version != b.plan.Version+2 || a.PlanVersion != v.Version {
			t.Errorf("plan version: got %d (response %d), want %d", v.Version, a.PlanVersion, b.plan.Version+2)
		}

		t.Run("gives up", func(t *testing.T) {
			b.store.set(func(f *faults) {
				f.beforeUpdate = func(*plans.Plan) {
					b.sneak(t, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
						_, ev, err := p.AddComment(c, review.ID, "meanwhile", false)
						return ev, err
					})
				}
			})
			before := len(b.eventTypes())
			b.do("PATCH", b.actionPath("kickoff"), map[string]any{"version": 2, "status": "in_progress"}).wantError(t, http.StatusConflict, "conflict", "")
			if got, want := len(b.eventTypes())-before, plans.DefaultRetries+1; got != want {
				t.Errorf("events: got %d new, want %d (the sneaked comments only)", got, want)
			}
		})
	})
}

func TestMoveAction(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		buying := b.plan.Phases[1].ID
		var a ActionResponse
		b.do("POST", b.actionPath("kickoff")+"/move", map[string]any{"phase_id": buying, "position": 1, "version": 1}).ok(t, http.StatusOK, &a)
		if a.Position != 1 || a.Version != 2 {
			t.Errorf("moved: got position %d version %d, want 1 and 2", a.Position, a.Version)
		}
		v := b.get()
		var titles []string
		for _, x := range v.Phases[1].Actions {
			titles = append(titles, x.Title)
		}
		if strings.Join(titles, ",") != "Questionnaire,Kickoff,Sign" {
			t.Errorf("buying phase: got %v", titles)
		}
		if v.Phases[0].Actions[0].Title != "Review" || v.Phases[0].Actions[0].Position != 0 {
			t.Errorf("pre-sales renumbered: got %+v", v.Phases[0].Actions[0])
		}
		b.do("POST", b.actionPath("review")+"/move", map[string]any{"phase_id": "nope", "position": 0, "version": 1}).wantError(t, 422, "invalid", "phase_id")
		b.do("POST", b.actionPath("review")+"/move", map[string]any{"phase_id": buying, "version": 1}).wantError(t, 422, "invalid", "position")
		b.do("POST", b.actionPath("review")+"/move", map[string]any{"phase_id": buying, "position": -1, "version": 1}).wantError(t, 422, "invalid", "position")
		b.do("POST", b.actionPath("kickoff")+"/move", map[string]any{"phase_id": buying, "position": 0, "version": 1}).wantError(t, 409, "conflict", "version")
	})
}

func TestSubTasks(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		kickoff := b.actionPath("kickoff")
		var st plans.SubTask
		b.do("POST", kickoff+"/subtasks", map[string]any{"title": "Book room"}).ok(t, http.StatusCreated, &st)
		if st.ID == "" || st.Title != "Book room" || st.Done {
			t.Fatalf("added: got %+v", st)
		}
		b.do("PATCH", kickoff+"/subtasks/"+st.ID, map[string]any{"done": true}).ok(t, http.StatusOK, &st)
		if !st.Done || st.DoneAt == nil || !st.DoneAt.Equal(testNow) {
			t.Errorf("completed: got %+v", st)
		}
		id := st.ID
		st = plans.SubTask{}
		b.do("PATCH", kickoff+"/subtasks/"+id, map[string]any{"done": false}).ok(t, http.StatusOK, &st)
		if st.Done || st.DoneAt != nil {
			t.Errorf("reopened: got %+v", st)
		}
		res := b.do("DELETE", kickoff+"/subtasks/"+st.ID, nil)
		if res.status != http.StatusNoContent || len(res.body) != 0 {
			t.Errorf("delete: got %d %s, want 204 and no body", res.status, res.body)
		}
		if n := len(b.get().action(t, "kickoff").SubTasks); n != 2 {
			t.Errorf("sub-tasks: got %d, want 2", n)
		}
		ev := b.eventTypes()
		want := []plans.EventType{plans.EventSubTaskAdded, plans.EventSubTaskCompleted, plans.EventSubTaskReopened, plans.EventSubTaskRemoved}
		if got := ev[len(ev)-4:]; !equalTypes(got, want) {
			t.Errorf("events: got %v, want %v", got, want)
		}
		b.do("DELETE", kickoff+"/subtasks/"+st.ID, nil).wantError(t, 404, "not_found", "subtask")
		b.do("PATCH", kickoff+"/subtasks/nope", map[string]any{"done": true}).wantError(t, 404, "not_found", "subtask")
		b.do("PATCH", kickoff+"/subtasks/nope", map[string]any{}).wantError(t, 422, "invalid", "done")
		b.do("POST", kickoff+"/subtasks", map[string]any{"title": ""}).wantError(t, 422, "invalid", "title")
	})
}

func equalTypes(a, b []plans.EventType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestComments(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		var c plans.Comment
		b.do("POST", b.actionPath("review")+"/comments", map[string]any{"body": "Looks good"}, HeaderActor, "alice@acme.test", HeaderSide, "buyer").ok(t, http.StatusCreated, &c)
		if c.Body != "Looks good" || c.Internal || c.Author.ID != "alice@acme.test" || c.Author.Side != plans.SideBuyer || c.Author.Name != "alice@acme.test (via ci)" {
			t.Errorf("comment: got %+v, want a shared comment by alice on the buyer side", c)
		}
		b.do("POST", b.actionPath("review")+"/comments", map[string]any{"body": " "}).wantError(t, 422, "invalid", "body")
		if ev := b.eventTypes(); ev[len(ev)-1] != plans.EventCommentAdded {
			t.Errorf("events: got %v, want comment.added last", ev)
		}
	})
}

func TestForms(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		q := b.actionPath("questionnaire")
		var a ActionResponse
		questions := []map[string]any{
			{"key": "users", "text": "How many users?", "kind": "number", "required": true},
			{"key": "sso", "text": "SSO?", "kind": "yes_no", "required": true},
		}
		b.do("PUT", q+"/questions", map[string]any{"version": 1, "questions": questions}).ok(t, http.StatusOK, &a)
		if len(a.Questions) != 2 || a.Questions[1].Key != "sso" || a.Version != 2 {
			t.Fatalf("questions: got %+v version %d", a.Questions, a.Version)
		}
		b.do("PUT", q+"/questions", map[string]any{"version": 1, "questions": questions}).wantError(t, 409, "conflict", "version")
		b.do("PUT", q+"/questions", map[string]any{"version": 2, "questions": []map[string]any{{"key": "c", "text": "C", "kind": "single_choice"}}}).
			wantError(t, 422, "invalid", "questions[0].options")
		b.do("PUT", b.actionPath("kickoff")+"/questions", map[string]any{"version": 1, "questions": questions}).wantError(t, 422, "invalid", "action")

		b.do("POST", q+"/responses", map[string]any{"responses": map[string]any{"users": 250}}).ok(t, http.StatusOK, &a)
		if a.Responses["users"] != 250.0 || a.Status != plans.StatusNotStarted {
			t.Errorf("responses: got %v, status %s", a.Responses, a.Status)
		}
		b.do("POST", q+"/responses", map[string]any{"responses": map[string]any{"users": "many"}}).wantError(t, 422, "invalid", "responses.users")
		b.do("POST", q+"/responses", map[string]any{"responses": map[string]any{"colour": "red"}}).wantError(t, 422, "invalid", "responses.colour")
		b.do("POST", q+"/responses", map[string]any{"submit": true}).wantError(t, 422, "invalid", "responses.sso")
		b.do("POST", q+"/responses", map[string]any{}).wantError(t, 422, "invalid", "responses")
		b.do("POST", q+"/responses", map[string]any{"responses": map[string]any{"sso": true}, "submit": true}).ok(t, http.StatusOK, &a)
		if a.Status != plans.StatusDone || a.SubmittedAt == nil || a.CompletedAt == nil {
			t.Errorf("submitted: got status %s, submitted %v, completed %v; want done", a.Status, a.SubmittedAt, a.CompletedAt)
		}
		ev := b.eventTypes()
		if !containsType(ev, plans.EventFormSubmitted) || !containsType(ev, plans.EventFormQuestionsChanged) || ev[len(ev)-1] != plans.EventActionStatus && !containsType(ev[len(ev)-4:], plans.EventActionStatus) {
			t.Errorf("events: got %v, want questions changed, submitted and status changed", ev)
		}
	})
}

func containsType(list []plans.EventType, t plans.EventType) bool {
	for _, x := range list {
		if x == t {
			return true
		}
	}
	return false
}

func TestAttachments(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		for name, base := range map[string]string{"plan": "/api/v1/plans/" + b.plan.ID, "action": b.actionPath("sign")} {
			t.Run(name, func(t *testing.T) {
				before := b.attachmentEvents()
				var at plans.Attachment
				b.do("POST", base+"/attachments", map[string]any{"name": "Order form", "url": "https://docs.test/of", "kind": "contract"}).ok(t, http.StatusCreated, &at)
				if at.ID == "" || at.Kind != plans.KindContract || at.AddedBy.ID != "token:ci" {
					t.Fatalf("attachment: got %+v", at)
				}
				b.do("POST", base+"/attachments", map[string]any{"name": "x", "url": "ftp://docs.test/x"}).wantError(t, 422, "invalid", "url")
				b.do("POST", base+"/attachments", map[string]any{"name": "x", "url": "https://docs.test/x", "kind": "pdf"}).wantError(t, 422, "invalid", "kind")
				res := b.do("DELETE", base+"/attachments/"+at.ID, nil)
				if res.status != http.StatusNoContent {
					t.Errorf("delete: got %d %s", res.status, res.body)
				}
				b.do("DELETE", base+"/attachments/"+at.ID, nil).wantError(t, 404, "not_found", "attachment")
				if n := b.attachmentEvents() - before; n != 2 {
					t.Errorf("attachment events: got %d new, want 2 (added, removed)", n)
				}
			})
		}
	})
}

// attachmentEvents counts the plan's attachment events.
func (b *testBundle) attachmentEvents() int {
	n := 0
	for _, e := range b.eventTypes() {
		if e == plans.EventAttachmentAdded || e == plans.EventAttachmentRemoved {
			n++
		}
	}
	return n
}
