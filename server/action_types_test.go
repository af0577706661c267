package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mapsync/mapsync/plans"
)

// step takes a step on the action at path as the test token and returns the action.
func (b *testBundle) step(t *testing.T, path string, body map[string]any, hdr ...string) ActionResponse {
	t.Helper()
	var a ActionResponse
	b.do("POST", path+"/steps", body, hdr...).ok(t, http.StatusOK, &a)
	return a
}

// asBuyer is the header pair of a buyer-side actor.
var asBuyer = []string{HeaderActor, "alice@acme.test", HeaderSide, "buyer"}

// addTyped adds an action of type typ (with details) to the plan's first phase and returns its path.
func (b *testBundle) addTyped(t *testing.T, typ string, details map[string]any) (string, ActionResponse) {
	t.Helper()
	v := b.get()
	var a ActionResponse
	b.do("POST", b.planPath("/actions"), map[string]any{
		"plan_version": v.Version, "phase_id": v.Phases[0].ID, "title": "A " + typ, "type": typ, "owner_role": "champion", "details": details,
	}).ok(t, http.StatusCreated, &a)
	return b.planPath("/actions/" + a.ID), a
}

// wantStepRefused checks a 422 invalid_transition on "step" whose message names the type.
func wantStepRefused(t *testing.T, res response, typ plans.ActionType) {
	t.Helper()
	e := res.wantError(t, http.StatusUnprocessableEntity, "invalid_transition", "step")
	if !strings.Contains(e.Message, string(typ)) {
		t.Errorf("message %q does not name the type %s", e.Message, typ)
	}
}

func TestActionTypes(t *testing.T) {
	t.Parallel()
	t.Run("approval", func(t *testing.T) {
		t.Parallel()
		eachStore(t, func(t *testing.T, b *testBundle) {
			path := b.actionPath("review")
			champion := b.plan.Members[1]
			var a ActionResponse
			b.do("PUT", path+"/details", map[string]any{"version": 1, "approver_id": champion.ID}).ok(t, http.StatusOK, &a)
			wantStepRefused(t, b.do("POST", path+"/steps", map[string]any{"version": 2, "step": "acknowledge"}), plans.ActionApproval)
			b.do("POST", path+"/steps", map[string]any{"version": 1, "step": "approve"}, asBuyer...).wantError(t, 409, "conflict", "version")
			b.do("POST", path+"/steps", map[string]any{"version": 2, "step": "reject"}, asBuyer...).wantError(t, 422, "invalid", "reason")
			b.do("POST", path+"/steps", map[string]any{"version": 2, "step": "approve"}).wantError(t, 403, "forbidden", "") // the seller side is not the approver
			a = b.step(t, path, map[string]any{"version": 2, "step": "approve", "reason": "fine"}, asBuyer...)
			if a.Status != plans.StatusDone || a.CompletedAt == nil || len(a.Approval.Decisions) != 1 || a.Approval.Decisions[0].Decision != "approved" ||
				a.Approval.Decisions[0].By.ID != "alice@acme.test" || !a.Approval.Decisions[0].At.Equal(testNow) || a.Approval.ApproverID != champion.ID {
				t.Fatalf("approved: got %+v %+v", a.Status, a.Approval)
			}
			wantStepRefused(t, b.do("POST", path+"/steps", map[string]any{"version": a.Version, "step": "approve"}, asBuyer...), plans.ActionApproval)
			a = b.step(t, path, map[string]any{"version": a.Version, "step": "reject", "reason": "price changed"}, asBuyer...)
			if a.Status != plans.StatusInProgress || a.CompletedAt != nil || len(a.Approval.Decisions) != 2 || a.Approval.Decisions[1].Reason != "price changed" {
				t.Fatalf("rejected: got %s %+v, want reopened with the reason kept", a.Status, a.Approval)
			}
			a = b.step(t, path, map[string]any{"version": a.Version, "step": "approve"}, asBuyer...)
			if a.Status != plans.StatusDone {
				t.Errorf("approved again: got %s", a.Status)
			}
		})
	})
	t.Run("acknowledgement once", func(t *testing.T) {
		t.Parallel()
		eachStore(t, func(t *testing.T, b *testBundle) {
			path, a := b.addTyped(t, "acknowledgement", nil)
			wantStepRefused(t, b.do("POST", path+"/steps", map[string]any{"version": 1, "step": "approve"}), plans.ActionAcknowledgement)
			b.do("POST", path+"/steps", map[string]any{"version": a.Version, "step": "acknowledge"}).wantError(t, 403, "forbidden", "") // the owner role is the buyer's
			var got ActionResponse
			b.do("POST", path+"/steps", map[string]any{"version": a.Version, "step": "acknowledge"}, HeaderActor, "alice@acme.test", HeaderSide, "buyer").ok(t, http.StatusOK, &got)
			if got.Status != plans.StatusDone || got.Acknowledged == nil || got.Acknowledged.By.ID != "alice@acme.test" || got.Acknowledged.By.Side != plans.SideBuyer {
				t.Fatalf("acknowledged: got %s %+v", got.Status, got.Acknowledged)
			}
			wantStepRefused(t, b.do("POST", path+"/steps", map[string]any{"version": got.Version, "step": "acknowledge"}, asBuyer...), plans.ActionAcknowledgement)
			b.do("PUT", path+"/details", map[string]any{"version": got.Version, "url": "https://x.test"}).wantError(t, 422, "invalid", "details")
		})
	})
	t.Run("e_sign", func(t *testing.T) {
		t.Parallel()
		eachStore(t, func(t *testing.T, b *testBundle) {
			path := b.actionPath("sign")
			sign := b.get().action(t, "sign")
			v := sign.Version
			wantStepRefused(t, b.do("POST", path+"/steps", map[string]any{"version": v, "step": "send"}), plans.ActionESign) // no document yet
			wantStepRefused(t, b.do("POST", path+"/steps", map[string]any{"version": v, "step": "sign"}), plans.ActionESign) // not sent
			wantStepRefused(t, b.do("POST", path+"/steps", map[string]any{"version": v, "step": "hold"}), plans.ActionESign)
			b.do("PUT", path+"/details", map[string]any{"version": v, "document_url": "docs.test/contract"}).wantError(t, 422, "invalid", "details.document_url")
			b.do("PUT", path+"/details", map[string]any{"version": v, "signer_id": "nobody"}).wantError(t, 422, "invalid", "details.signer_id")
			var a ActionResponse
			b.do("PUT", path+"/details", map[string]any{"version": v, "document_url": "https://docs.test/contract.pdf", "signer_id": b.plan.Members[1].ID}).ok(t, http.StatusOK, &a)
			a = b.step(t, path, map[string]any{"version": a.Version, "step": "send"})
			if a.ESign.State != plans.ESignSent || a.Status != plans.StatusInProgress {
				t.Fatalf("sent: got %s %s", a.ESign.State, a.Status)
			}
			b.do("POST", path+"/steps", map[string]any{"version": a.Version, "step": "sign"}).wantError(t, 403, "forbidden", "") // the signer is a buyer
			a = b.step(t, path, map[string]any{"version": a.Version, "step": "view"}, asBuyer...)
			a = b.step(t, path, map[string]any{"version": a.Version, "step": "decline", "reason": "wrong entity"}, asBuyer...)
			if a.ESign.State != plans.ESignDeclined || a.Status != plans.StatusBlocked {
				t.Fatalf("declined: got %s %s, want declined, blocked", a.ESign.State, a.Status)
			}
			wantStepRefused(t, b.do("POST", path+"/steps", map[string]any{"version": a.Version, "step": "sign"}, asBuyer...), plans.ActionESign)
			a = b.step(t, path, map[string]any{"version": a.Version, "step": "send"})
			a = b.step(t, path, map[string]any{"version": a.Version, "step": "sign"}, asBuyer...)
			if a.ESign.State != plans.ESignSigned || a.Status != plans.StatusDone || len(a.ESign.History) != 5 {
				t.Fatalf("signed: got %s %s history %d, want signed, done, 5 states", a.ESign.State, a.Status, len(a.ESign.History))
			}
			if m := b.get().Progress.Milestones[1]; m.Name != "Signed" || !m.Reached {
				t.Errorf("milestone Signed: got %+v, want reached by signing", m)
			}
		})
	})
	t.Run("form as today", func(t *testing.T) {
		t.Parallel()
		eachStore(t, func(t *testing.T, b *testBundle) {
			path := b.actionPath("questionnaire")
			q := b.get().action(t, "questionnaire")
			wantStepRefused(t, b.do("POST", path+"/steps", map[string]any{"version": q.Version, "step": "sign"}), plans.ActionForm)
			var a ActionResponse
			b.do("POST", path+"/responses", map[string]any{"responses": map[string]any{"users": 40}, "submit": true}).ok(t, http.StatusOK, &a)
			if a.Status != plans.StatusDone || a.SubmittedAt == nil {
				t.Errorf("submitted: got %s", a.Status)
			}
		})
	})
	t.Run("meeting in the plan's zone", func(t *testing.T) {
		t.Parallel()
		eachStore(t, func(t *testing.T, b *testBundle) {
			withDeals(t, b)
			var pv PlanView
			b.do("POST", "/api/v1/plans", map[string]any{"connection": "sf", "deal_id": "006B"}).ok(t, http.StatusCreated, &pv)
			kick := pv.action(t, "kickoff")
			path := "/api/v1/plans/" + pv.ID + "/actions/" + kick.ID
			b.do("PUT", path+"/details", map[string]any{"version": 1, "scheduled_at": "next tuesday"}).wantError(t, 422, "invalid", "details.scheduled_at")
			var a ActionResponse
			b.do("PUT", path+"/details", map[string]any{"version": 1, "scheduled_at": "2026-03-05T10:00", "url": "https://meet.test/kickoff"}).ok(t, http.StatusOK, &a)
			paris, _ := time.LoadLocation("Europe/Paris")
			if want := time.Date(2026, 3, 5, 10, 0, 0, 0, paris); a.Meeting == nil || a.Meeting.ScheduledAt == nil || !a.Meeting.ScheduledAt.Equal(want) {
				t.Fatalf("scheduled: got %+v, want %s", a.Meeting, want)
			}
			res := b.do("GET", path, nil)
			if !strings.Contains(string(res.body), `"scheduled_at":"2026-03-05T10:00:00+01:00"`) {
				t.Errorf("stored time does not read in Paris: %s", res.body)
			}
			wantStepRefused(t, b.do("POST", path+"/steps", map[string]any{"version": a.Version, "step": "deliver"}), plans.ActionMeeting)
			a = b.step(t, path, map[string]any{"version": a.Version, "step": "hold"})
			if a.Status != plans.StatusDone || a.Meeting.Held == nil {
				t.Errorf("held: got %s %+v", a.Status, a.Meeting)
			}
			wantStepRefused(t, b.do("POST", path+"/steps", map[string]any{"version": a.Version, "step": "hold"}), plans.ActionMeeting)
		})
	})
	t.Run("web_app and file_request", func(t *testing.T) {
		t.Parallel()
		eachStore(t, func(t *testing.T, b *testBundle) {
			app, a := b.addTyped(t, "web_app", map[string]any{"url": "https://app.test/setup"})
			wantStepRefused(t, b.do("POST", app+"/steps", map[string]any{"version": a.Version, "step": "hold"}), plans.ActionWebApp)
			a = b.step(t, app, map[string]any{"version": a.Version, "step": "deliver"})
			if a.Status != plans.StatusDone || a.Link.Delivered == nil || a.Link.URL != "https://app.test/setup" {
				t.Errorf("web app delivered: got %s %+v", a.Status, a.Link)
			}
			file, f := b.addTyped(t, "file_request", nil)
			b.do("POST", file+"/steps", map[string]any{"version": f.Version, "step": "deliver"}).wantError(t, 422, "invalid", "url")
			f = b.step(t, file, map[string]any{"version": f.Version, "step": "deliver", "url": "https://files.acme.test/w9.pdf"})
			if f.Status != plans.StatusDone || f.Link.URL != "https://files.acme.test/w9.pdf" {
				t.Errorf("file delivered: got %s %+v", f.Status, f.Link)
			}
			wantStepRefused(t, b.do("POST", file+"/steps", map[string]any{"version": f.Version, "step": "deliver"}), plans.ActionFileRequest)
		})
	})
	t.Run("task takes no steps", func(t *testing.T) {
		t.Parallel()
		eachStore(t, func(t *testing.T, b *testBundle) {
			wantStepRefused(t, b.do("POST", b.actionPath("forecast")+"/steps", map[string]any{"version": 1, "step": "approve"}), plans.ActionTask)
			b.do("POST", b.actionPath("forecast")+"/steps", map[string]any{"version": 1}).wantError(t, 422, "invalid", "step")
		})
	})
	t.Run("progress counts every type alike", func(t *testing.T) {
		t.Parallel()
		eachStore(t, func(t *testing.T, b *testBundle) {
			ack, a := b.addTyped(t, "acknowledgement", nil)
			total := b.get().Progress.ActionsTotal
			kick := b.get().action(t, "kickoff")
			b.do("PATCH", b.actionPath("kickoff"), map[string]any{"version": kick.Version, "status": "done"}).ok(t, http.StatusOK, nil)
			afterTask := b.get().Progress
			b.step(t, ack, map[string]any{"version": a.Version, "step": "acknowledge"}, asBuyer...)
			afterAck := b.get().Progress
			if afterTask.ActionsDone != 1 || afterAck.ActionsDone != 2 || afterAck.PercentComplete != 2*100/total {
				t.Errorf("progress: got %d then %d done (%d%%), want 1, 2 (%d%%)", afterTask.ActionsDone, afterAck.ActionsDone, afterAck.PercentComplete, 2*100/total)
			}
		})
	})
}
