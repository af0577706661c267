package web

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
)

// roomView is what the room's templates read: the plan as the audience sees it, and labels made
// once in Go so templates stay simple.
type roomView struct {
	Plan     *plans.Plan
	Buyer    bool
	Progress plans.Progress
	Phases   []phaseView
	// Timeline are the milestones in plan order, each with its target and whether reached.
	Timeline []milestoneView
	Members  []memberView
	// BuyerRoles are the roles an invitation may name (seller view).
	BuyerRoles []plans.RoleTemplate
	// Invitations are the plan's invitation links (seller view).
	Invitations []store.Invitation
	// NewLink is the link of an invitation just made, shown once to the seller.
	NewLink   string
	NewMailed bool
	// Statuses, Types and Kinds are the choices of the forms.
	Statuses []plans.Status
	Types    []plans.ActionType
	// Problem is what went wrong with the last form, shown at the top; Stale marks a version
	// conflict. Draft holds what the person typed, to fill the forms again.
	Problem  string
	Stale    bool
	Draft    url.Values
	DraftFor string
	// Me is who the session acts as.
	Me plans.Actor
	// Closed is true when the page offers no change: the plan is closed or cancelled, or this is
	// a seller's read-only preview of the buyer's view (Preview).
	Closed bool
	// Preview is a seller looking at the buyer's view (?view=buyer): read-only.
	Preview bool
	// Today is the plan's date now.
	Today plans.Date
}

type phaseView struct {
	ID       string
	Name     string
	Position int
	First    bool
	Last     bool
	Actions  []actionView
}

type actionView struct {
	*plans.Action
	PhaseID     string
	OwnerLabel  string
	Assignee    string
	Overdue     bool
	DaysLate    int
	StatusLabel string
	TypeLabel   string
	// Next lists the statuses the action may move to (the state machine).
	Next  []statusChoice
	Steps []stepView
	// SubTasksDone counts ticked sub-tasks.
	SubTasksDone int
	// Moves are the places the action can be moved to (the keyboard alternative to dragging).
	Moves []moveChoice
	// Decision, SignState, MeetingAt and Delivered describe a typed action's state.
	Decision  string
	SignState string
	MeetingAt string
	Delivered string
}

type statusChoice struct {
	Status plans.Status
	Label  string
}

type stepView struct {
	Step  plans.Step
	Label string
	// Reason is true for steps that take a reason (reject, decline); URL for deliver.
	Reason bool
	URL    bool
}

type moveChoice struct {
	Value   string
	Label   string
	Current bool
}

type milestoneView struct {
	plans.Milestone
	Target string
}

type memberView struct {
	plans.Member
	RoleLabel string
}

// statusLabels are the words the pages use for statuses.
var statusLabels = map[plans.Status]string{
	plans.StatusNotStarted: "Not started", plans.StatusInProgress: "In progress", plans.StatusDone: "Done",
	plans.StatusBlocked: "Blocked", plans.StatusSkipped: "Skipped",
}

var typeLabels = map[plans.ActionType]string{
	plans.ActionTask: "Task", plans.ActionApproval: "Approval", plans.ActionAcknowledgement: "Acknowledgement",
	plans.ActionESign: "E-sign", plans.ActionForm: "Form", plans.ActionMeeting: "Meeting",
	plans.ActionWebApp: "Web app", plans.ActionFileRequest: "File request",
}

var stepLabels = map[plans.Step]string{
	plans.StepApprove: "Approve", plans.StepReject: "Reject", plans.StepAcknowledge: "Acknowledge",
	plans.StepSend: "Mark sent", plans.StepView: "Mark viewed", plans.StepSign: "Sign", plans.StepDecline: "Decline",
	plans.StepHold: "Mark held", plans.StepDeliver: "Deliver",
}

// newRoomView builds the view of full (the stored plan) for the audience at now.
func newRoomView(full *plans.Plan, buyer bool, now time.Time, me plans.Actor) *roomView {
	p := full
	if buyer {
		p = plans.BuyerView(full)
	}
	loc := p.Location()
	v := &roomView{
		Plan: p, Buyer: buyer, Progress: p.Progress(now), Statuses: plans.Statuses, Types: plans.ActionTypes,
		Me: me, Closed: p.Status != plans.PlanActive, Today: plans.DateOf(now, loc),
	}
	roles := map[string]string{}
	for _, r := range p.Roles {
		roles[r.Key] = r.Label
		if r.Side == plans.SideBuyer {
			v.BuyerRoles = append(v.BuyerRoles, r)
		}
	}
	names := map[string]string{}
	for _, m := range p.Members {
		names[m.ID] = cmpOr(m.Name, m.Email)
		v.Members = append(v.Members, memberView{Member: m, RoleLabel: cmpOr(roles[m.Role], m.Role)})
	}
	for i, ph := range p.Phases {
		pv := phaseView{ID: ph.ID, Name: ph.Name, Position: ph.Position, First: i == 0, Last: i == len(p.Phases)-1}
		for j := range ph.Actions {
			a := &ph.Actions[j]
			av := actionView{
				Action: a, PhaseID: ph.ID, OwnerLabel: cmpOr(roles[a.OwnerRole], a.OwnerRole), Assignee: names[a.AssigneeID],
				StatusLabel: statusLabels[a.Status], TypeLabel: cmpOr(typeLabels[a.Type], string(a.Type)),
			}
			for _, st := range plans.Steps[a.Type] {
				av.Steps = append(av.Steps, stepView{Step: st, Label: stepLabels[st],
					Reason: st == plans.StepReject || st == plans.StepDecline, URL: st == plans.StepDeliver && a.Type == plans.ActionFileRequest})
			}
			if !a.Status.Closed() && !a.Due.IsZero() && a.Due.Before(v.Today) {
				av.Overdue, av.DaysLate = true, a.Due.DaysUntil(v.Today)
			}
			for _, s := range plans.Statuses {
				if s == a.Status || plans.CanTransition(a.Status, s) {
					av.Next = append(av.Next, statusChoice{Status: s, Label: statusLabels[s]})
				}
			}
			for _, st := range a.SubTasks {
				if st.Done {
					av.SubTasksDone++
				}
			}
			describeType(&av, names, loc)
			av.Moves = moveChoices(p, a)
			pv.Actions = append(pv.Actions, av)
		}
		v.Phases = append(v.Phases, pv)
	}
	for _, m := range v.Progress.Milestones {
		mv := milestoneView{Milestone: m}
		if !m.TargetDate.IsZero() {
			mv.Target = m.TargetDate.String()
		}
		v.Timeline = append(v.Timeline, mv)
	}
	return v
}

// moveChoices lists where a can go, for the keyboard alternative to dragging: before each
// other action the audience sees, or at the end of each phase. A value is "PHASE|BEFORE" (BEFORE
// empty for the end); the server turns it into a position in the full plan (movePosition).
func moveChoices(view *plans.Plan, a *plans.Action) []moveChoice {
	var out []moveChoice
	for _, ph := range view.Phases {
		next := "" // the action after a in its phase: a's own slot is "before next"
		for i, x := range ph.Actions {
			if x.ID == a.ID && i+1 < len(ph.Actions) {
				next = ph.Actions[i+1].ID
			}
		}
		inPhase := slices.ContainsFunc(ph.Actions, func(x plans.Action) bool { return x.ID == a.ID })
		for _, x := range ph.Actions {
			if x.ID == a.ID {
				continue
			}
			out = append(out, moveChoice{Value: ph.ID + "|" + x.ID, Label: ph.Name + ": before " + x.Title, Current: inPhase && x.ID == next})
		}
		out = append(out, moveChoice{Value: ph.ID + "|", Label: ph.Name + ": at the end", Current: inPhase && next == ""})
	}
	return out
}

// movePosition returns the position (MoveAction's: the index after the move) in the full plan
// p that puts action id before action before in phase phaseID, or at its end when before is "".
func movePosition(p *plans.Plan, id, phaseID, before string) (int, error) {
	ph := p.Phase(phaseID)
	if ph == nil {
		return 0, &plans.NotFoundError{Kind: "phase", ID: phaseID}
	}
	pos := 0
	for _, x := range ph.Actions {
		if x.ID == id {
			continue
		}
		if x.ID == before {
			return pos, nil
		}
		pos++
	}
	if before != "" {
		return 0, &plans.InputError{Field: "before", Message: "that action is no longer in " + ph.Name + ": reload the page"}
	}
	return pos, nil
}

// describeType fills the words for a typed action's state.
func describeType(av *actionView, names map[string]string, loc *time.Location) {
	a := av.Action
	switch {
	case a.Approval != nil && len(a.Approval.Decisions) > 0:
		d := a.Approval.Decisions[len(a.Approval.Decisions)-1]
		av.Decision = d.Decision + " by " + d.By.Name
		if d.Reason != "" {
			av.Decision += ": " + d.Reason
		}
	case a.ESign != nil:
		av.SignState = cmpOr(string(a.ESign.State), "not sent")
	case a.Meeting != nil && a.Meeting.ScheduledAt != nil:
		av.MeetingAt = a.Meeting.ScheduledAt.In(loc).Format("2006-01-02T15:04")
	}
	if a.Link != nil && a.Link.Delivered != nil {
		av.Delivered = "delivered by " + a.Link.Delivered.By.Name
	}
	if a.Acknowledged != nil {
		av.Decision = "acknowledged by " + a.Acknowledged.By.Name
	}
	if a.Meeting != nil && a.Meeting.Held != nil {
		av.Decision = "held (recorded by " + a.Meeting.Held.By.Name + ")"
	}
}

// Val is what field key of a form shows: what the person typed when the page is shown again
// after that form was refused, else current. form is "ACTION_ID|FORM" (the action the form is
// about, "" for the plan, and its hidden field form).
func (v *roomView) Val(form, key, current string) string {
	if v.DraftFor == form && v.Draft != nil && v.Draft.Has(key) {
		return v.Draft.Get(key)
	}
	return current
}

// formCtx is what a partial form template reads: the view, where the form posts, the CSRF
// token and the action it is about ("" for the plan).
type formCtx struct {
	V        *roomView
	Action   string
	CSRF     string
	ActionID string
}

// Form bundles what a partial form needs (templates pass one value to a partial).
func (v *roomView) Form(action, csrf, actionID string) formCtx {
	return formCtx{V: v, Action: action, CSRF: csrf, ActionID: actionID}
}

// StatusLabel is the word for a status.
func (v *roomView) StatusLabel(s plans.Status) string { return statusLabels[s] }

// TypeLabel is the word for an action type.
func (v *roomView) TypeLabel(t plans.ActionType) string { return cmpOr(typeLabels[t], string(t)) }

// Kinds are the kinds of link a person can add.
func (v *roomView) Kinds() []plans.AttachmentKind { return plans.AttachmentKinds }

// action returns the view of action id, or nil.
func (v *roomView) action(id string) *actionView {
	for i := range v.Phases {
		for j := range v.Phases[i].Actions {
			if v.Phases[i].Actions[j].ID == id {
				return &v.Phases[i].Actions[j]
			}
		}
	}
	return nil
}

// actionPageView is the action page's data: the room's view, the action, its conversation and
// its form.
type actionPageView struct {
	*roomView
	A        *actionView
	Phase    string
	Comments []plans.Comment
	// Next is the cursor of the next page of comments ("" on the last).
	Next      string
	Questions []questionView
	Signer    string
	Approver  string
}

type questionView struct {
	plans.Question
	Field   string
	Value   string
	Values  []string
	Checked map[string]bool
}

// questionViews pairs a form's questions with their answers (or the draft typed).
func questionViews(a *plans.Action, draft url.Values) []questionView {
	var out []questionView
	for _, q := range a.Questions {
		qv := questionView{Question: q, Field: "q_" + q.Key, Checked: map[string]bool{}}
		if draft != nil && draft.Has(qv.Field) {
			qv.Values = draft[qv.Field]
		} else if v, ok := a.Responses[q.Key]; ok {
			switch x := v.(type) {
			case []any:
				for _, e := range x {
					qv.Values = append(qv.Values, fmt.Sprint(e))
				}
			case []string:
				qv.Values = x
			case bool:
				qv.Values = []string{map[bool]string{true: "yes", false: "no"}[x]}
			case float64:
				qv.Values = []string{strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%f", x), "0"), ".")}
			default:
				qv.Values = []string{fmt.Sprint(x)}
			}
		}
		if len(qv.Values) > 0 {
			qv.Value = qv.Values[0]
		}
		for _, s := range qv.Values {
			qv.Checked[s] = true
		}
		out = append(out, qv)
	}
	return out
}

// eventView is one line of the events page.
type eventView struct {
	plans.Event
	Action string
	What   string
}

// eventWords are what the events page says for event types ("" keeps the type's name).
var eventWords = map[plans.EventType]string{
	plans.EventPlanCreated: "created the plan", plans.EventActionStatus: "changed the status", plans.EventActionAssignee: "changed the assignee",
	plans.EventActionDue: "changed the due date", plans.EventActionTitle: "renamed the action", plans.EventActionMoved: "moved the action",
	plans.EventSubTaskAdded: "added a sub-task", plans.EventSubTaskCompleted: "ticked a sub-task", plans.EventSubTaskReopened: "unticked a sub-task",
	plans.EventCommentAdded: "commented", plans.EventFormResponses: "answered the form", plans.EventFormSubmitted: "submitted the form",
	plans.EventAttachmentAdded: "added a link", plans.EventAttachmentRemoved: "removed a link", plans.EventMemberInvited: "invited a member",
	plans.EventPhaseAdded: "added a phase", plans.EventPhaseRenamed: "renamed a phase", plans.EventPhaseMoved: "moved a phase",
	plans.EventPhaseRemoved: "removed a phase", plans.EventActionAdded: "added the action", plans.EventActionRemoved: "removed the action",
	plans.EventActionTypeChanged: "changed the type", plans.EventActionStep: "took a step", plans.EventMilestoneTarget: "set a milestone's target",
	store.EventMemberJoined: "joined the room", store.EventInvitationCreated: "made an invitation link", store.EventInvitationRevoked: "revoked an invitation link",
}

// describeEvent says what an event did in words: the verb for its type, and "before → after"
// when both are plain values (member ids shown as names).
func describeEvent(e plans.Event, titles, names map[string]string) eventView {
	ev := eventView{Event: e, Action: titles[e.ActionID]}
	ev.What = cmpOr(eventWords[e.Type], strings.ReplaceAll(string(e.Type), "_", " "))
	plain := func(v any) (string, bool) {
		switch x := v.(type) {
		case nil:
			return "none", true
		case string:
			if n, ok := names[x]; ok {
				return n, true
			}
			return cmpOr(x, "none"), true
		case bool, float64, int:
			return fmt.Sprint(x), true
		}
		return "", false
	}
	if b, ok := plain(e.Before); ok {
		if a, ok := plain(e.After); ok && (e.Before != nil || e.After != nil) {
			ev.What += ": " + b + " → " + a
		}
	}
	return ev
}
