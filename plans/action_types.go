package plans

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Action types that behave: besides its status, an action of some types has a setup (who
// approves, which document is signed by whom, when the meeting is, which link to open) and steps
// that move it (approve, sign, hold, deliver). A step that completes the action moves it to done
// through the state machine (CanTransition), so progress, status and the CRM read model count
// every type the same way: by status. A step the type does not take, or its state does not
// allow, is a *StepError naming the type.
//
//	approval         approve (done), reject with a reason (reopens: in_progress)
//	acknowledgement  acknowledge, once (done)
//	e_sign           send (in_progress), view, sign (done), decline (blocked); send again after a decline
//	meeting          hold (done)
//	web_app          deliver (done)
//	file_request     deliver, with the delivered file's link unless the action has one (done)
//	form             none: submit the responses (RecordResponses)
//	task             none: set the status

// Step is something that happens to an action of a type that behaves.
type Step string

// The steps.
const (
	StepApprove     Step = "approve"
	StepReject      Step = "reject"
	StepAcknowledge Step = "acknowledge"
	StepSend        Step = "send"
	StepView        Step = "view"
	StepSign        Step = "sign"
	StepDecline     Step = "decline"
	StepHold        Step = "hold"
	StepDeliver     Step = "deliver"
)

// Steps lists the steps each action type takes; types not listed take none.
var Steps = map[ActionType][]Step{
	ActionApproval:        {StepApprove, StepReject},
	ActionAcknowledgement: {StepAcknowledge},
	ActionESign:           {StepSend, StepView, StepSign, StepDecline},
	ActionMeeting:         {StepHold},
	ActionWebApp:          {StepDeliver},
	ActionFileRequest:     {StepDeliver},
}

// MaxReason caps a step's reason, in bytes.
const MaxReason = 2000

// Approval is an approval action's approver and the decisions taken on it, oldest first.
type Approval struct {
	// ApproverRole is the key of the role that approves; "" when a member is named.
	ApproverRole string `json:"approver_role,omitempty"`
	// ApproverID is the id of the member who approves; "" when only a role is named.
	ApproverID string `json:"approver_id,omitempty"`
	// Decisions are the approvals and rejections so far; the last one stands.
	Decisions []Decision `json:"decisions,omitempty"`
}

// Decision is one approval or rejection.
type Decision struct {
	// Decision is "approved" or "rejected".
	Decision string `json:"decision"`
	// Reason is why; required for a rejection.
	Reason string `json:"reason,omitempty"`
	// By is who decided.
	By Actor `json:"by"`
	// At is when.
	At time.Time `json:"at"`
}

// Stamp is who did something, and when.
type Stamp struct {
	// By is who.
	By Actor `json:"by"`
	// At is when.
	At time.Time `json:"at"`
}

// ESignState is where an e-signature stands.
type ESignState string

// The e-signature states; "" is not sent yet.
const (
	ESignSent     ESignState = "sent"
	ESignViewed   ESignState = "viewed"
	ESignSigned   ESignState = "signed"
	ESignDeclined ESignState = "declined"
)

// ESign is an e_sign action's document, signer and state. A signature provider's webhook could
// record the states later; today the API does.
type ESign struct {
	// DocumentURL is the absolute http(s) link of the document to sign.
	DocumentURL string `json:"document_url,omitempty"`
	// SignerID is the id of the member who signs.
	SignerID string `json:"signer_id,omitempty"`
	// State is sent, viewed, signed or declined; "" before it is sent.
	State ESignState `json:"state,omitempty"`
	// History lists every state reached, oldest first.
	History []ESignChange `json:"history,omitempty"`
}

// ESignChange is one state an e-signature reached.
type ESignChange struct {
	// State is the state reached.
	State ESignState `json:"state"`
	// Reason is why it was declined, when given.
	Reason string `json:"reason,omitempty"`
	// By is who recorded it.
	By Actor `json:"by"`
	// At is when.
	At time.Time `json:"at"`
}

// Meeting is a meeting action's time and link.
type Meeting struct {
	// ScheduledAt is when the meeting is, with the plan's time zone's offset.
	ScheduledAt *time.Time `json:"scheduled_at,omitempty"`
	// URL is the meeting's link (video call, calendar invite); optional.
	URL string `json:"url,omitempty"`
	// Held is who recorded the meeting as held, and when.
	Held *Stamp `json:"held,omitempty"`
}

// Link is the link of a web_app action (the app to open) or a file_request action (the file
// delivered), and its delivery.
type Link struct {
	// URL is the absolute http(s) link.
	URL string `json:"url,omitempty"`
	// Delivered is who delivered, and when.
	Delivered *Stamp `json:"delivered,omitempty"`
}

// Details is the setup of an action's type, as a request gives it: nil fields are left as they
// are, a pointer to "" clears one. Each field belongs to some types only; a field another type's
// setup would take is an *InputError naming it.
type Details struct {
	// ApproverRole is the role that approves (approval).
	ApproverRole *string `json:"approver_role,omitempty"`
	// ApproverID is the member who approves (approval).
	ApproverID *string `json:"approver_id,omitempty"`
	// DocumentURL is the document to sign (e_sign).
	DocumentURL *string `json:"document_url,omitempty"`
	// SignerID is the member who signs (e_sign).
	SignerID *string `json:"signer_id,omitempty"`
	// ScheduledAt is when the meeting is (meeting): RFC 3339 with an offset, or a local
	// "YYYY-MM-DDTHH:MM" read in the plan's time zone; "" clears it.
	ScheduledAt *string `json:"scheduled_at,omitempty"`
	// URL is the meeting's link (meeting), the app's link (web_app) or the file's link
	// (file_request).
	URL *string `json:"url,omitempty"`
}

// detailTypes says which types take each Details field.
var detailTypes = map[string][]ActionType{
	"approver_role": {ActionApproval},
	"approver_id":   {ActionApproval},
	"document_url":  {ActionESign},
	"signer_id":     {ActionESign},
	"scheduled_at":  {ActionMeeting},
	"url":           {ActionMeeting, ActionWebApp, ActionFileRequest},
}

func (d *Details) fields() map[string]bool {
	if d == nil {
		return nil
	}
	return map[string]bool{
		"approver_role": d.ApproverRole != nil, "approver_id": d.ApproverID != nil,
		"document_url": d.DocumentURL != nil, "signer_id": d.SignerID != nil,
		"scheduled_at": d.ScheduledAt != nil, "url": d.URL != nil,
	}
}

// checkURL checks an absolute http(s) URL ("" is allowed: it clears).
func checkURL(field, s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid(field, "want an absolute http(s) URL, got %q", firstN(s, 80))
	}
	if len(s) > MaxURL {
		return invalid(field, "at most %d bytes, got %d", MaxURL, len(s))
	}
	return nil
}

// MaxURL caps a link, in bytes.
const MaxURL = 2048

// ParseMeetingTime reads a meeting time: RFC 3339 with an offset, or a local "YYYY-MM-DDTHH:MM"
// (or with ":SS") read in loc. The result is in loc.
func ParseMeetingTime(s string, loc *time.Location) (time.Time, error) {
	inRange := func(t time.Time) (time.Time, error) {
		// Zones had odd local-mean-time offsets before 1900 that RFC 3339 cannot write back.
		if y := t.Year(); y < 1970 || y > 9999 {
			return time.Time{}, fmt.Errorf("want a time between 1970 and 9999, got %q", firstN(s, 40))
		}
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return inRange(t.In(loc))
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return inRange(t)
		}
	}
	return time.Time{}, fmt.Errorf(`want RFC 3339 ("2026-03-05T10:00:00+01:00") or a local time in %s ("2026-03-05T10:00"), got %q`, loc, firstN(s, 40))
}

// applyDetails checks d against a's type (typ, the type a has or is about to have) and returns a
// copy of a's type state with d applied; a is unchanged. Members and roles are checked on p.
func (p *Plan) applyDetails(a *Action, typ ActionType, d *Details) (typeState, error) {
	st := stateOf(a)
	if typ != a.Type {
		st = typeState{}
	}
	fields := d.fields()
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if fields[name] && !slices.Contains(detailTypes[name], typ) {
			return st, invalid("details."+name, "a %s action takes no %s (it belongs to %s)", typ, name, listOf(detailTypes[name]))
		}
	}
	if d == nil {
		return st, nil
	}
	switch typ {
	case ActionApproval:
		ap := Approval{}
		if st.approval != nil {
			ap = *st.approval
			ap.Decisions = slices.Clone(ap.Decisions)
		}
		if v := d.ApproverRole; v != nil {
			if *v != "" && p.Role(*v) == nil {
				return st, invalid("details.approver_role", "unknown role %q", *v)
			}
			ap.ApproverRole = *v
		}
		if v := d.ApproverID; v != nil {
			if *v != "" && p.Member(*v) == nil {
				return st, invalid("details.approver_id", "unknown member %q", *v)
			}
			ap.ApproverID = *v
		}
		st.approval = &ap
	case ActionESign:
		es := ESign{}
		if st.esign != nil {
			es = *st.esign
			es.History = slices.Clone(es.History)
		}
		if v := d.DocumentURL; v != nil {
			if err := checkURL("details.document_url", *v); err != nil {
				return st, err
			}
			es.DocumentURL = *v
		}
		if v := d.SignerID; v != nil {
			if *v != "" && p.Member(*v) == nil {
				return st, invalid("details.signer_id", "unknown member %q", *v)
			}
			es.SignerID = *v
		}
		st.esign = &es
	case ActionMeeting:
		m := Meeting{}
		if st.meeting != nil {
			m = *st.meeting
		}
		if v := d.ScheduledAt; v != nil {
			m.ScheduledAt = nil
			if *v != "" {
				t, err := ParseMeetingTime(*v, p.Location())
				if err != nil {
					return st, invalid("details.scheduled_at", "%s", err)
				}
				m.ScheduledAt = &t
			}
		}
		if v := d.URL; v != nil {
			if err := checkURL("details.url", *v); err != nil {
				return st, err
			}
			m.URL = *v
		}
		st.meeting = &m
	case ActionWebApp, ActionFileRequest:
		l := Link{}
		if st.link != nil {
			l = *st.link
		}
		if v := d.URL; v != nil {
			if err := checkURL("details.url", *v); err != nil {
				return st, err
			}
			l.URL = *v
		}
		st.link = &l
	}
	return st, nil
}

// typeState is the type-specific part of an action.
type typeState struct {
	approval     *Approval
	acknowledged *Stamp
	esign        *ESign
	meeting      *Meeting
	link         *Link
}

func stateOf(a *Action) typeState {
	return typeState{approval: a.Approval, acknowledged: a.Acknowledged, esign: a.ESign, meeting: a.Meeting, link: a.Link}
}

func (st typeState) set(a *Action) {
	a.Approval, a.Acknowledged, a.ESign, a.Meeting, a.Link = st.approval, st.acknowledged, st.esign, st.meeting, st.link
}

// detailsView is the type state as events record it.
func (st typeState) view() map[string]any {
	out := map[string]any{}
	if st.approval != nil {
		out["approval"] = st.approval
	}
	if st.acknowledged != nil {
		out["acknowledged"] = st.acknowledged
	}
	if st.esign != nil {
		out["e_sign"] = st.esign
	}
	if st.meeting != nil {
		out["meeting"] = st.meeting
	}
	if st.link != nil {
		out["link"] = st.link
	}
	return out
}

// SetDetails changes the setup of an action's type (see Details). version is the action's
// version read. A setup that changes nothing records nothing.
func (p *Plan) SetDetails(c Change, actionID string, version int, d Details) ([]Event, error) {
	a, err := p.openAction(c, actionID)
	if err != nil {
		return nil, err
	}
	if err := checkVersion(a, version); err != nil {
		return nil, err
	}
	if !slices.Contains([]ActionType{ActionApproval, ActionESign, ActionMeeting, ActionWebApp, ActionFileRequest}, a.Type) {
		return nil, invalid("details", "a %s action has no setup", a.Type)
	}
	before := stateOf(a)
	st, err := p.applyDetails(a, a.Type, &d)
	if err != nil {
		return nil, err
	}
	bv, av := before.view(), st.view()
	if jsonEqual(bv, av) {
		return nil, nil
	}
	r := &recorder{p: p, c: c}
	r.add(EventActionDetails, a, bv, av)
	st.set(a)
	r.touch(a)
	return r.done(), nil
}

// StepRequest is a step to take on an action.
type StepRequest struct {
	// Version is the action's version read. Required.
	Version int `json:"version"`
	// Step is the step (see Steps).
	Step Step `json:"step"`
	// Reason is why: required to reject, optional to approve or decline.
	Reason string `json:"reason,omitempty"`
	// URL is the delivered file's link (file_request deliver), when the action has none.
	URL string `json:"url,omitempty"`
}

// TakeStep takes a step on an action of a type that behaves (see Steps): the step is recorded
// (who, when, and the reason) and the action's status moves as the type says. A step the type
// does not take, or that its state does not allow, is a *StepError naming the type.
func (p *Plan) TakeStep(c Change, actionID string, req StepRequest) ([]Event, error) {
	a, err := p.openAction(c, actionID)
	if err != nil {
		return nil, err
	}
	if err := checkVersion(a, req.Version); err != nil {
		return nil, err
	}
	if req.Step == "" {
		return nil, invalid("step", "required")
	}
	steps := Steps[a.Type]
	if !slices.Contains(steps, req.Step) {
		reason := "it takes no steps"
		switch {
		case a.Type == ActionForm:
			reason = "it takes none: submit its responses"
		case len(steps) > 0:
			reason = "want " + listOf(steps)
		}
		return nil, &StepError{Type: a.Type, Step: req.Step, Reason: reason}
	}
	req.Reason = strings.TrimSpace(req.Reason)
	if len(req.Reason) > MaxReason {
		return nil, invalid("reason", "at most %d bytes, got %d", MaxReason, len(req.Reason))
	}
	if err := p.checkStepSide(c.By, a, req.Step); err != nil {
		return nil, err
	}
	refuse := func(format string, args ...any) error {
		return &StepError{Type: a.Type, Step: req.Step, Reason: fmt.Sprintf(format, args...)}
	}
	// to is the status the step moves the action to ("" keeps it).
	var to Status
	st := stateOf(a)
	at := c.At
	switch req.Step {
	case StepApprove, StepReject:
		ap := Approval{}
		if st.approval != nil {
			ap = *st.approval
			ap.Decisions = slices.Clone(ap.Decisions)
		}
		d := Decision{Decision: "approved", Reason: req.Reason, By: c.By, At: at}
		if req.Step == StepApprove {
			if a.Status == StatusDone {
				return nil, refuse("it is approved already")
			}
			to = StatusDone
		} else {
			if req.Reason == "" {
				return nil, invalid("reason", "required to reject")
			}
			d.Decision = "rejected"
			to = StatusInProgress
		}
		ap.Decisions = append(ap.Decisions, d)
		st.approval = &ap
	case StepAcknowledge:
		if st.acknowledged != nil {
			return nil, refuse("it was acknowledged already by %s at %s", st.acknowledged.By.Name, st.acknowledged.At.Format(time.RFC3339))
		}
		st.acknowledged = &Stamp{By: c.By, At: at}
		to = StatusDone
	case StepSend, StepView, StepSign, StepDecline:
		es := ESign{}
		if st.esign != nil {
			es = *st.esign
			es.History = slices.Clone(es.History)
		}
		var next ESignState
		switch req.Step {
		case StepSend:
			if es.State != "" && es.State != ESignDeclined {
				return nil, refuse("it is %s already", es.State)
			}
			if es.DocumentURL == "" || es.SignerID == "" {
				return nil, refuse("set its document_url and signer_id first")
			}
			next, to = ESignSent, StatusInProgress
		case StepView:
			if es.State != ESignSent && es.State != ESignViewed {
				return nil, refuse("it is %s, not sent", stateName(es.State))
			}
			next = ESignViewed
		case StepSign:
			if es.State != ESignSent && es.State != ESignViewed {
				return nil, refuse("it is %s, not sent", stateName(es.State))
			}
			next, to = ESignSigned, StatusDone
		case StepDecline:
			if es.State != ESignSent && es.State != ESignViewed {
				return nil, refuse("it is %s, not sent", stateName(es.State))
			}
			next, to = ESignDeclined, StatusBlocked
		}
		es.State = next
		es.History = append(es.History, ESignChange{State: next, Reason: req.Reason, By: c.By, At: at})
		st.esign = &es
	case StepHold:
		m := Meeting{}
		if st.meeting != nil {
			m = *st.meeting
		}
		if m.Held != nil {
			return nil, refuse("it was held already")
		}
		m.Held = &Stamp{By: c.By, At: at}
		st.meeting = &m
		to = StatusDone
	case StepDeliver:
		l := Link{}
		if st.link != nil {
			l = *st.link
		}
		if l.Delivered != nil {
			return nil, refuse("it was delivered already")
		}
		if err := checkURL("url", req.URL); err != nil {
			return nil, err
		}
		if req.URL != "" {
			l.URL = req.URL
		}
		if l.URL == "" {
			return nil, invalid("url", "required: the action has no link to deliver")
		}
		l.Delivered = &Stamp{By: c.By, At: at}
		st.link = &l
		to = StatusDone
	}
	if to == a.Status {
		to = ""
	}
	if to != "" && !CanTransition(a.Status, to) {
		return nil, refuse("its status is %s (cannot go to %s)", a.Status, to)
	}
	r := &recorder{p: p, c: c}
	r.add(EventActionStep, a, nil, map[string]any{"step": req.Step, "reason": req.Reason, "type": a.Type})
	st.set(a)
	if to != "" {
		setStatus(r, a, to)
	}
	r.touch(a)
	if to != "" {
		recomputeDependents(p, r, a)
	}
	return r.done(), nil
}

func stateName(s ESignState) string {
	if s == "" {
		return "not sent"
	}
	return string(s)
}

// jsonEqual reports whether a and b encode to the same JSON.
func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// templateState is the type state an action made from at starts with: its approver role or link.
func templateState(at ActionTemplate) typeState {
	var st typeState
	switch at.Type {
	case ActionApproval:
		if at.Approver != "" {
			st.approval = &Approval{ApproverRole: at.Approver}
		}
	case ActionESign:
		if at.URL != "" {
			st.esign = &ESign{DocumentURL: at.URL}
		}
	case ActionMeeting:
		if at.URL != "" {
			st.meeting = &Meeting{URL: at.URL}
		}
	case ActionWebApp, ActionFileRequest:
		if at.URL != "" {
			st.link = &Link{URL: at.URL}
		}
	}
	return st
}

// templateSetup returns what of a's type state a template can say: its approver role and link
// (members, times and what happened stay with the plan).
func templateSetup(a *Action) (approver, url string) {
	switch {
	case a.Approval != nil:
		approver = a.Approval.ApproverRole
	case a.ESign != nil:
		url = a.ESign.DocumentURL
	case a.Meeting != nil:
		url = a.Meeting.URL
	case a.Link != nil && (a.Type == ActionWebApp || a.Link.Delivered == nil):
		url = a.Link.URL // a delivered file_request's link is the file, not part of the request
	}
	return approver, url
}

// checkStepSide refuses a decision step taken from the wrong side of the table: an approval is
// decided from its approver's side, an e-signature viewed, signed or declined from its signer's,
// an acknowledgement made from its owner role's. Who exactly is recorded, not checked: API actors
// are tokens or names, not members. mapsync itself (a signature provider's webhook, say) may take
// any step; a step with nobody named is open to both sides.
func (p *Plan) checkStepSide(by Actor, a *Action, step Step) error {
	if by.Side == SideSystem {
		return nil
	}
	var side Side
	var who string
	switch step {
	case StepApprove, StepReject:
		if ap := a.Approval; ap != nil {
			if m := p.Member(ap.ApproverID); m != nil {
				side, who = m.Side, "the approver "+m.Name
			} else if r := p.Role(ap.ApproverRole); r != nil {
				side, who = r.Side, "the approver role "+r.Label
			}
		}
	case StepView, StepSign, StepDecline:
		if es := a.ESign; es != nil {
			if m := p.Member(es.SignerID); m != nil {
				side, who = m.Side, "the signer "+m.Name
			}
		}
	case StepAcknowledge:
		if r := p.Role(a.OwnerRole); r != nil {
			side, who = r.Side, "the owner role "+r.Label
		}
	}
	if side != "" && by.Side != side {
		return &ForbiddenError{Message: fmt.Sprintf("%s: only the %s side (%s) may %s this %s action", step, side, who, step, a.Type)}
	}
	return nil
}
