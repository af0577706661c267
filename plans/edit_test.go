package plans

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
)

// snapshot is p as JSON, to check that a refused operation changed nothing.
func snapshot(t *testing.T, p *Plan) string {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEditsRefusedChangeNothing(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		pre  func(f *fixture) // sets a precondition, if any
		op   func(f *fixture) error
		want error
	}{
		"stale plan version": {nil, func(f *fixture) error {
			_, _, err := f.plan.AddPhase(f.seller(f.start), f.plan.Version+1, "X", nil)
			return err
		}, ErrConflict},
		"buyer adds a phase": {nil, func(f *fixture) error {
			_, _, err := f.plan.AddPhase(f.buyer(f.start), f.plan.Version, "X", nil)
			return err
		}, ErrForbidden},
		"phase position out of range": {nil, func(f *fixture) error {
			_, _, err := f.plan.AddPhase(f.seller(f.start), f.plan.Version, "X", ptr(4))
			return err
		}, ErrInvalid},
		"remove a phase with actions and nowhere to put them": {nil, func(f *fixture) error {
			_, err := f.plan.RemovePhase(f.seller(f.start), f.plan.Version, f.plan.Phases[0].ID, "")
			return err
		}, ErrInvalid},
		"rename and move out of range": {nil, func(f *fixture) error {
			_, err := f.plan.UpdatePhase(f.seller(f.start), f.plan.Version, f.plan.Phases[0].ID, ptr("New"), ptr(3))
			return err
		}, ErrInvalid},
		"add an action with an unknown member": {nil, func(f *fixture) error {
			_, _, err := f.plan.AddAction(f.seller(f.start), f.plan.Version, NewAction{PhaseID: f.plan.Phases[0].ID, Title: "T", AssigneeID: "nobody"})
			return err
		}, ErrInvalid},
		"add an action with a bad sub-task": {nil, func(f *fixture) error {
			_, _, err := f.plan.AddAction(f.seller(f.start), f.plan.Version, NewAction{PhaseID: f.plan.Phases[0].ID, Title: "T", SubTasks: []string{"ok", " "}})
			return err
		}, ErrInvalid},
		"remove a stale action": {nil, func(f *fixture) error {
			_, err := f.plan.RemoveAction(f.seller(f.start), f.action(t, "review").ID, 7)
			return err
		}, ErrConflict},
		"change a done action's type": {func(f *fixture) { f.action(t, "kickoff").Status = StatusDone }, func(f *fixture) error {
			a := f.action(t, "kickoff")
			_, err := f.plan.ChangeType(f.seller(f.start), a.ID, TypeChange{Version: a.Version, Type: ActionTask})
			return err
		}, ErrInvalid},
		"approve a blocked approval": {func(f *fixture) { f.action(t, "review").Status = StatusBlocked }, func(f *fixture) error {
			a := f.action(t, "review")
			_, err := f.plan.TakeStep(f.seller(f.start), a.ID, StepRequest{Version: a.Version, Step: StepApprove})
			return err
		}, ErrInvalid},
		"seller approves for a buyer approver": {func(f *fixture) {
			f.action(t, "review").Approval = &Approval{ApproverRole: "champion"}
		}, func(f *fixture) error {
			a := f.action(t, "review")
			_, err := f.plan.TakeStep(f.seller(f.start), a.ID, StepRequest{Version: a.Version, Step: StepApprove})
			return err
		}, ErrForbidden},
		"target of an unknown milestone": {nil, func(f *fixture) error {
			_, err := f.plan.SetMilestoneTarget(f.seller(f.start), f.plan.Version, "Nope", Date{2025, 4, 1})
			return err
		}, ErrNotFound},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			if tc.pre != nil {
				tc.pre(f)
			}
			before := snapshot(t, f.plan)
			if err := tc.op(f); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if got := snapshot(t, f.plan); got != before {
				t.Errorf("a refused operation changed the plan:\n got %s\nwant %s", got, before)
			}
		})
	}
}

func TestSteps(t *testing.T) {
	t.Parallel()
	type step struct {
		step   Step
		reason string
		want   Status // "" for a refused step (a *StepError)
	}
	tests := map[string]struct {
		typ     ActionType
		details Details
		steps   []step
	}{
		"approval": {ActionApproval, Details{}, []step{
			{StepAcknowledge, "", ""}, {StepApprove, "", StatusDone}, {StepApprove, "", ""},
			{StepReject, "late", StatusInProgress}, {StepApprove, "", StatusDone},
		}},
		"acknowledgement": {ActionAcknowledgement, Details{}, []step{
			{StepSign, "", ""}, {StepAcknowledge, "", StatusDone}, {StepAcknowledge, "", ""},
		}},
		"e_sign": {ActionESign, Details{DocumentURL: ptr("https://docs.test/c.pdf"), SignerID: ptr("id-5")}, []step{
			{StepSign, "", ""}, {StepSend, "", StatusInProgress}, {StepSend, "", ""}, {StepView, "", StatusInProgress},
			{StepDecline, "no", StatusBlocked}, {StepSend, "", StatusInProgress}, {StepSign, "", StatusDone},
		}},
		"meeting": {ActionMeeting, Details{ScheduledAt: ptr("2025-03-10T09:00")}, []step{
			{StepDeliver, "", ""}, {StepHold, "", StatusDone}, {StepHold, "", ""},
		}},
		"web_app": {ActionWebApp, Details{URL: ptr("https://app.test")}, []step{
			{StepHold, "", ""}, {StepDeliver, "", StatusDone}, {StepDeliver, "", ""},
		}},
		"form": {ActionForm, Details{}, []step{{StepApprove, "", ""}}},
		"task": {ActionTask, Details{}, []step{{StepHold, "", ""}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			in := NewAction{PhaseID: f.plan.Phases[0].ID, Title: "T", Type: tc.typ, OwnerRole: "owner"}
			if tc.typ == ActionForm {
				in.Questions = []Question{{Key: "q", Text: "Q", Kind: QuestionText}}
			}
			if tc.details != (Details{}) {
				in.Details = &tc.details
			}
			a, _, err := f.plan.AddAction(f.seller(f.start), f.plan.Version, in)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tc.steps {
				cur := f.plan.Action(a.ID)
				c := f.seller(f.start)
				if tc.typ == ActionESign {
					c = f.buyer(f.start) // the signer is a buyer
				}
				ev, err := f.plan.TakeStep(c, a.ID, StepRequest{Version: cur.Version, Step: s.step, Reason: s.reason})
				var se *StepError
				switch {
				case s.want == "" && (!errors.As(err, &se) || se.Type != tc.typ):
					t.Fatalf("step %d %s: got %v, want a StepError naming %s", i, s.step, err, tc.typ)
				case s.want != "" && err != nil:
					t.Fatalf("step %d %s: %v", i, s.step, err)
				case s.want != "" && (f.plan.Action(a.ID).Status != s.want || ev[0].Type != EventActionStep):
					t.Fatalf("step %d %s: got status %s, events %v; want %s", i, s.step, f.plan.Action(a.ID).Status, eventTypes(ev), s.want)
				}
			}
		})
	}
}

func TestPhaseEdits(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c := f.seller(f.start)
	names := func() []string {
		var out []string
		for i, ph := range f.plan.Phases {
			if ph.Position != i {
				t.Fatalf("phase %s at position %d, index %d", ph.Name, ph.Position, i)
			}
			out = append(out, ph.Name)
		}
		return out
	}
	ph, ev, err := f.plan.AddPhase(c, f.plan.Version, " Legal ", ptr(1))
	if err != nil || ph.Name != "Legal" || len(ev) != 1 || ev[0].Type != EventPhaseAdded {
		t.Fatalf("add: got %+v %v %v", ph, eventTypes(ev), err)
	}
	if ev, err = f.plan.UpdatePhase(c, f.plan.Version, ph.ID, ptr("Legal review"), ptr(3)); err != nil || !slices.Equal(eventTypes(ev), []EventType{EventPhaseRenamed, EventPhaseMoved}) {
		t.Fatalf("rename and move: got %v %v", eventTypes(ev), err)
	}
	if got := names(); !slices.Equal(got, []string{"Pre-sales", "Buying", "Onboarding", "Legal review"}) {
		t.Fatalf("phases: got %v", got)
	}
	v := f.plan.Version
	if ev, _ = f.plan.UpdatePhase(c, v, ph.ID, ptr("Legal review"), ptr(3)); ev != nil || f.plan.Version != v {
		t.Errorf("no-op update: got %v, version %d; want nothing", eventTypes(ev), f.plan.Version)
	}
	onboard := f.plan.Phases[2]
	if ev, err = f.plan.RemovePhase(c, f.plan.Version, onboard.ID, ph.ID); err != nil {
		t.Fatal(err)
	}
	if got := names(); !slices.Equal(got, []string{"Pre-sales", "Buying", "Legal review"}) || len(f.plan.Phases[2].Actions) != 1 {
		t.Errorf("after remove: got %v with %d actions in Legal review", got, len(f.plan.Phases[2].Actions))
	}
	if !slices.Equal(eventTypes(ev), []EventType{EventActionMoved, EventPhaseRemoved}) {
		t.Errorf("remove events: got %v", eventTypes(ev))
	}
}

func TestTypeSetupRoundTrip(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c := f.seller(f.start)
	review, sign := f.action(t, "review"), f.action(t, "sign")
	if _, err := f.plan.SetDetails(c, review.ID, review.Version, Details{ApproverRole: ptr("legal")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.plan.SetDetails(c, sign.ID, sign.Version, Details{DocumentURL: ptr("https://docs.test/msa.pdf"), SignerID: ptr(f.plan.Members[1].ID)}); err != nil {
		t.Fatal(err)
	}
	tpl, _, err := f.plan.SaveAsTemplate(c, "saved", "Saved")
	if err != nil {
		t.Fatal(err)
	}
	if r, s := tpl.Action("review"), tpl.Action("sign"); r.Approver != "legal" || s.URL != "https://docs.test/msa.pdf" {
		t.Fatalf("template: got approver %q url %q", r.Approver, s.URL)
	}
	p, _, err := Instantiate(tpl, testDeal(), f.start, f.loc)
	if err != nil {
		t.Fatal(err)
	}
	if r, s := p.ActionByKey("review"), p.ActionByKey("sign"); r.Approval == nil || r.Approval.ApproverRole != "legal" || s.ESign == nil || s.ESign.DocumentURL != "https://docs.test/msa.pdf" || s.ESign.SignerID != "" {
		t.Errorf("instantiated: got approval %+v e-sign %+v, want legal and the document without a signer (members stay with the plan)", r.Approval, s.ESign)
	}
}

func TestTemplateTypeSetupProblems(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		action, path string
	}{
		"approver of a task":     {"{key: a, title: A, type: task, approver: owner}", "phases[0].actions[0].approver"},
		"unknown approver role":  {"{key: a, title: A, type: approval, approver: cfo}", "phases[0].actions[0].approver"},
		"url of an approval":     {"{key: a, title: A, type: approval, url: 'https://x.test'}", "phases[0].actions[0].url"},
		"url that is not a link": {"{key: a, title: A, type: web_app, url: 'docs/x'}", "phases[0].actions[0].url"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			doc := "key: k\nname: K\nroles:\n  - {key: owner, label: Owner, side: seller}\nphases:\n  - key: p\n    name: P\n    actions:\n      - " + tc.action + "\n"
			_, err := Parse([]byte(doc))
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Path != tc.path {
				t.Errorf("got %v, want one problem at %s", err, tc.path)
			}
		})
	}
}
