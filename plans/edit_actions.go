package plans

import (
	"fmt"
	"slices"
	"strings"
)

// Caps on the texts of an action a person adds, in bytes.
const (
	MaxTitle       = 200
	MaxDescription = 10000
	MaxMilestone   = 200
	MaxSubTasks    = 100
)

// NewAction is an action to add to a plan (AddAction).
type NewAction struct {
	// PhaseID is the phase to add it to. Required.
	PhaseID string `json:"phase_id"`
	// Position is its index in the phase, 0 to the number of actions there; nil is the end.
	Position *int `json:"position,omitempty"`
	// Title is required.
	Title string `json:"title"`
	// Description says what the action is about.
	Description string `json:"description,omitempty"`
	// Type is one of ActionTypes; "" is task.
	Type ActionType `json:"type,omitempty"`
	// OwnerRole is the responsible role's key; with no AssigneeID, the action goes to the
	// role's first member.
	OwnerRole string `json:"owner_role,omitempty"`
	// AssigneeID is the responsible member; their role becomes the owner role when none is given.
	AssigneeID string `json:"assignee_id,omitempty"`
	// Due is an absolute due date; exclusive with DueRule.
	Due *Date `json:"due,omitempty"`
	// DueRule is a relative due date, as templates write it: from plan_start or close_date, or
	// after another action (its key or id), plus days or business_days.
	DueRule *DueRule `json:"due_rule,omitempty"`
	// Internal hides the action from the buyer side.
	Internal bool `json:"internal,omitempty"`
	// Milestone names the milestone the action belongs to.
	Milestone string `json:"milestone,omitempty"`
	// SubTasks are the titles of its sub-tasks.
	SubTasks []string `json:"sub_tasks,omitempty"`
	// Questions are a form's questions (required for a form, refused for other types).
	Questions []Question `json:"questions,omitempty"`
	// Details is the setup of the type (see Details).
	Details *Details `json:"details,omitempty"`
}

func checkText(field, s string, maxLen int, required bool) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" && required:
		return "", invalid(field, "required")
	case len(s) > maxLen:
		return "", invalid(field, "at most %d bytes, got %d", maxLen, len(s))
	}
	return s, nil
}

// newActionKey returns a key no action of p has, so that due rules and saved templates can name
// an action added by hand.
func newActionKey(p *Plan) string {
	keys := map[string]bool{}
	for _, a := range p.Actions() {
		keys[a.Key] = true
	}
	for n := len(keys) + 1; ; n++ {
		if k := fmt.Sprintf("action-%d", n); !keys[k] {
			return k
		}
	}
}

// resolveRule checks a due rule given on the plan and returns it with After as an action key
// (a request may name the anchor by id) and the due date it gives now.
func (p *Plan) resolveRule(field string, self *Action, rule DueRule) (DueRule, Date, bool, error) {
	switch {
	case rule.From == "" && rule.After == "":
		return rule, Date{}, false, invalid(field, "want one of from or after")
	case rule.From != "" && rule.After != "":
		return rule, Date{}, false, invalid(field, "from and after are exclusive")
	case rule.Days != 0 && rule.BusinessDays != 0:
		return rule, Date{}, false, invalid(field, "days and business_days are exclusive")
	}
	switch rule.From {
	case "":
	case AnchorPlanStart:
		return rule, rule.apply(p.StartDate), false, nil
	case AnchorCloseDate:
		if p.CloseDate.IsZero() {
			return rule, Date{}, false, invalid(field+".from", "the deal has no close date")
		}
		return rule, rule.apply(p.CloseDate), false, nil
	default:
		return rule, Date{}, false, invalid(field+".from", "unknown anchor %q (want plan_start or close_date)", rule.From)
	}
	var anchor *Action
	for _, a := range p.Actions() {
		if a.ID == rule.After || (a.Key != "" && a.Key == rule.After) {
			anchor = a
		}
	}
	if anchor == nil {
		return rule, Date{}, false, invalid(field+".after", "unknown action %q", rule.After)
	}
	if self != nil && anchor.ID == self.ID {
		return rule, Date{}, false, invalid(field+".after", "an action cannot be due after itself")
	}
	if anchor.Key == "" {
		return rule, Date{}, false, invalid(field+".after", "action %q has no key to count from", rule.After)
	}
	if self != nil && self.Key != "" {
		// The anchor must not count, directly or through others, from self.
		byKey := map[string]*Action{}
		for _, a := range p.Actions() {
			if a.Key != "" {
				byKey[a.Key] = a
			}
		}
		for cur, n := anchor, 0; cur != nil && n <= len(byKey); n++ {
			if cur.Key == self.Key {
				return rule, Date{}, false, invalid(field+".after", "due rules would form a cycle through %q", self.Key)
			}
			if cur.DueRule == nil || cur.DueRule.After == "" {
				break
			}
			cur = byKey[cur.DueRule.After]
		}
	}
	rule.After = anchor.Key
	due, prov := dueAfter(p, anchor, rule)
	return rule, due, prov, nil
}

// checkDueStart refuses a due date before the plan's start when the template forbids it.
func (p *Plan) checkDueStart(field string, d Date) error {
	if p.DueNotBeforeStart && !d.IsZero() && d.Before(p.StartDate) {
		return invalid(field, "%s is before the plan started (%s), which the template %s forbids", d, p.StartDate, p.TemplateKey)
	}
	return nil
}

// AddAction adds an action to a phase and returns it. version is the plan version read. The
// action gets a generated key (so due rules and saved templates can name it), is assigned like
// an instantiated one (its assignee, else the first member of its owner role), and its due date
// comes from Due or DueRule. A buyer-side actor cannot add actions.
func (p *Plan) AddAction(c Change, version int, in NewAction) (Action, []Event, error) {
	if err := p.editable(c, version); err != nil {
		return Action{}, nil, err
	}
	pi := p.phaseIndex(in.PhaseID)
	if in.PhaseID == "" {
		return Action{}, nil, invalid("phase_id", "required")
	}
	if pi < 0 {
		return Action{}, nil, invalid("phase_id", "unknown phase %q", in.PhaseID)
	}
	if err := checkCount("phase_id", "actions on the plan", len(p.Actions()), MaxActions); err != nil {
		return Action{}, nil, err
	}
	ph := &p.Phases[pi]
	at := len(ph.Actions)
	if in.Position != nil {
		if err := checkPosition(*in.Position, len(ph.Actions)); err != nil {
			return Action{}, nil, err
		}
		at = *in.Position
	}
	a := Action{
		ID: c.id(), Key: newActionKey(p), Type: in.Type, Status: StatusNotStarted, Internal: in.Internal,
		UpdatedAt: c.At, Version: 1,
	}
	var err error
	if a.Title, err = checkText("title", in.Title, MaxTitle, true); err != nil {
		return Action{}, nil, err
	}
	if a.Description, err = checkText("description", in.Description, MaxDescription, false); err != nil {
		return Action{}, nil, err
	}
	if a.Milestone, err = checkText("milestone", in.Milestone, MaxMilestone, false); err != nil {
		return Action{}, nil, err
	}
	if a.Type == "" {
		a.Type = ActionTask
	}
	if !a.Type.Valid() {
		return Action{}, nil, invalid("type", "unknown type %q (want one of %s)", a.Type, listOf(ActionTypes))
	}
	if err := p.assignNew(&a, in.OwnerRole, in.AssigneeID); err != nil {
		return Action{}, nil, err
	}
	switch {
	case in.Due != nil && in.DueRule != nil:
		return Action{}, nil, invalid("due", "due and due_rule are exclusive")
	case in.Due != nil && !in.Due.IsZero():
		if err := p.checkDueStart("due", *in.Due); err != nil {
			return Action{}, nil, err
		}
		a.Due = *in.Due
	case in.DueRule != nil:
		rule, due, prov, err := p.resolveRule("due_rule", nil, *in.DueRule)
		if err != nil {
			return Action{}, nil, err
		}
		if err := p.checkDueStart("due_rule", due); err != nil {
			return Action{}, nil, err
		}
		a.DueRule, a.Due, a.DueProvisional = &rule, due, prov
	}
	if len(in.SubTasks) > MaxSubTasks {
		return Action{}, nil, invalid("sub_tasks", "at most %d, got %d", MaxSubTasks, len(in.SubTasks))
	}
	for i, title := range in.SubTasks {
		t, err := checkText(fmt.Sprintf("sub_tasks[%d]", i), title, MaxTitle, true)
		if err != nil {
			return Action{}, nil, err
		}
		a.SubTasks = append(a.SubTasks, SubTask{ID: c.id(), Title: t})
	}
	if err := checkQuestions(a.Type, in.Questions); err != nil {
		return Action{}, nil, err
	}
	a.Questions = cloneQuestions(in.Questions)
	st, err := p.applyDetails(&a, a.Type, in.Details)
	if err != nil {
		return Action{}, nil, err
	}
	st.set(&a)

	ph.Actions = slices.Insert(ph.Actions, at, a)
	renumber(ph)
	r := &recorder{p: p, c: c}
	added := &ph.Actions[at]
	r.add(EventActionAdded, added, nil, map[string]any{
		"phase_id": ph.ID, "position": at, "key": a.Key, "title": a.Title, "type": a.Type,
		"internal": a.Internal, "milestone": a.Milestone,
	})
	return added.clone(), r.done(), nil
}

// assignNew sets a new action's owner role and assignee from a request.
func (p *Plan) assignNew(a *Action, ownerRole, assigneeID string) error {
	if ownerRole != "" {
		role := p.Role(ownerRole)
		if role == nil {
			return invalid("owner_role", "unknown role %q", ownerRole)
		}
		if a.Internal && role.Side == SideBuyer {
			return invalid("owner_role", "an internal action cannot be owned by buyer role %q", ownerRole)
		}
		a.OwnerRole = ownerRole
	}
	if assigneeID != "" {
		m := p.Member(assigneeID)
		if m == nil {
			return invalid("assignee_id", "unknown member %q", assigneeID)
		}
		if a.Internal && m.Side == SideBuyer {
			return invalid("assignee_id", "an internal action cannot be assigned to buyer %q", m.Name)
		}
		if ownerRole != "" && m.Role != ownerRole {
			return invalid("assignee_id", "member %q is %s, not %s", assigneeID, m.Role, ownerRole)
		}
		a.AssigneeID, a.OwnerRole = m.ID, m.Role
		return nil
	}
	for _, m := range p.Members {
		if a.OwnerRole != "" && m.Role == a.OwnerRole {
			a.AssigneeID = m.ID
			break
		}
	}
	return nil
}

// checkQuestions checks a form's questions: required for a form, refused for other types.
func checkQuestions(typ ActionType, qs []Question) error {
	switch {
	case typ == ActionForm && len(qs) == 0:
		return invalid("questions", "required for a form: at least one question")
	case typ != ActionForm && len(qs) > 0:
		return invalid("questions", "only form actions have questions")
	}
	if probs := validateQuestions(qs); len(probs) > 0 {
		return invalid("questions."+probs[0].Path, "%s", probs[0].Message)
	}
	return nil
}

// RemoveAction removes an action. version is the action's version read. The action.removed
// event keeps the whole action as it was (and its phase and position). Actions due after it keep
// their current due date, no longer computed (an action.due_changed event each).
func (p *Plan) RemoveAction(c Change, actionID string, version int) ([]Event, error) {
	if err := p.active(); err != nil {
		return nil, err
	}
	if c.By.Side == SideBuyer {
		return nil, &ForbiddenError{Message: "buyers cannot remove actions"}
	}
	a, err := p.findAction(c.By, actionID)
	if err != nil {
		return nil, err
	}
	if err := checkVersion(a, version); err != nil {
		return nil, err
	}
	pi, ai := p.locate(actionID)
	ph := &p.Phases[pi]
	old := ph.Actions[ai].clone()
	r := &recorder{p: p, c: c}
	e := r.add(EventActionRemoved, &old, map[string]any{"phase_id": ph.ID, "position": ai, "action": old}, nil)
	e.Message = fmt.Sprintf("action %q removed from phase %q", old.Title, ph.Name)
	ph.Actions = slices.Delete(ph.Actions, ai, ai+1)
	renumber(ph)
	if old.Key != "" {
		for _, d := range p.Actions() {
			if d.DueRule != nil && d.DueRule.After == old.Key {
				e := r.add(EventActionDue, d, map[string]any{"due": d.Due, "due_rule": *d.DueRule}, map[string]any{"due": d.Due})
				e.Message = fmt.Sprintf("due date kept as %s: the action it counted from (%q) was removed", d.Due, old.Title)
				d.DueRule, d.DueProvisional = nil, false
				r.touch(d)
			}
		}
	}
	p.dropUnusedTargets()
	return r.done(), nil
}

// TypeChange changes an action's type (ChangeType).
type TypeChange struct {
	// Version is the action's version read. Required.
	Version int `json:"version"`
	// Type is the new type. Required.
	Type ActionType `json:"type"`
	// Questions are the questions when the new type is form (required then).
	Questions []Question `json:"questions,omitempty"`
	// Details is the new type's setup (see Details).
	Details *Details `json:"details,omitempty"`
}

// ChangeType changes an open action's type: the old type's state (approval decisions, e-sign
// state, meeting, link, form questions and responses) goes, and the new type starts with the
// setup given. A done action must be reopened first.
func (p *Plan) ChangeType(c Change, actionID string, tc TypeChange) ([]Event, error) {
	if err := p.active(); err != nil {
		return nil, err
	}
	if c.By.Side == SideBuyer {
		return nil, &ForbiddenError{Message: "buyers cannot change an action's type"}
	}
	a, err := p.findAction(c.By, actionID)
	if err != nil {
		return nil, err
	}
	if err := checkVersion(a, tc.Version); err != nil {
		return nil, err
	}
	switch {
	case tc.Type == "":
		return nil, invalid("type", "required")
	case !tc.Type.Valid():
		return nil, invalid("type", "unknown type %q (want one of %s)", tc.Type, listOf(ActionTypes))
	case tc.Type == a.Type:
		return nil, invalid("type", "the action is a %s already (set its details instead)", a.Type)
	case a.Status == StatusDone:
		return nil, invalid("type", "the action is done: reopen it before changing its type")
	}
	if err := checkQuestions(tc.Type, tc.Questions); err != nil {
		return nil, err
	}
	st, err := p.applyDetails(a, tc.Type, tc.Details)
	if err != nil {
		return nil, err
	}
	r := &recorder{p: p, c: c}
	r.add(EventActionTypeChanged, a,
		map[string]any{"type": a.Type, "details": stateOf(a).view(), "questions": a.Questions, "responses": a.Responses},
		map[string]any{"type": tc.Type, "details": st.view(), "questions": tc.Questions})
	a.Type = tc.Type
	st.set(a)
	a.Questions = cloneQuestions(tc.Questions)
	if tc.Type != ActionForm {
		a.Questions, a.Responses, a.SubmittedAt = nil, nil, nil
	} else {
		a.Responses, a.SubmittedAt = nil, nil
	}
	r.touch(a)
	return r.done(), nil
}
