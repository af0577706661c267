package plans

import (
	"slices"
	"strings"
)

// transitions lists, for each status, the statuses an action may move to. Reopening is done or
// skipped back to in_progress or not_started. A blocked action must be unblocked (back to
// not_started or in_progress) before it can be done, but it can be skipped.
var transitions = map[Status][]Status{
	StatusNotStarted: {StatusInProgress, StatusDone, StatusBlocked, StatusSkipped},
	StatusInProgress: {StatusNotStarted, StatusDone, StatusBlocked, StatusSkipped},
	StatusBlocked:    {StatusNotStarted, StatusInProgress, StatusSkipped},
	StatusDone:       {StatusInProgress, StatusNotStarted},
	StatusSkipped:    {StatusInProgress, StatusNotStarted},
}

// CanTransition reports whether an action may go from one status to another. Staying in the same
// status is not a transition (UpdateAction treats it as no change).
func CanTransition(from, to Status) bool {
	return slices.Contains(transitions[from], to)
}

// ActionPatch is an update to an action: the fields to change (nil leaves a field as is) and the
// version of the action the caller read.
type ActionPatch struct {
	// Version is the action's version the caller read; a different current version is a
	// *ConflictError. Required.
	Version int `json:"version"`
	// Status moves the action through the state machine (see CanTransition).
	Status *Status `json:"status,omitempty"`
	// AssigneeID assigns a member; a pointer to "" unassigns (the action stays with its role).
	AssigneeID *string `json:"assignee_id,omitempty"`
	// Due sets the due date by hand: the action's due rule is dropped and it is no longer
	// recomputed. Actions due after it are recomputed from the new date.
	Due *Date `json:"due,omitempty"`
	// ClearDue removes the due date (and the rule).
	ClearDue bool `json:"clear_due,omitempty"`
	// Title renames the action.
	Title *string `json:"title,omitempty"`
	// Description replaces the action's description.
	Description *string `json:"description,omitempty"`
	// Milestone puts the action on the named milestone; a pointer to "" takes it off.
	Milestone *string `json:"milestone,omitempty"`
	// DueRule sets a relative due date, as templates write it (see NewAction.DueRule); exclusive
	// with Due and ClearDue.
	DueRule *DueRule `json:"due_rule,omitempty"`
	// Internal hides the action from the buyer side (true) or shows it (false). Seller side only.
	Internal *bool `json:"internal,omitempty"`
	// OwnerRole hands the action to another role: its first member, unless AssigneeID names one
	// of the role. Seller side only.
	OwnerRole *string `json:"owner_role,omitempty"`
}

// active returns ErrClosed unless the plan is active.
func (p *Plan) active() error {
	if p.Status != PlanActive {
		return ErrClosed
	}
	return nil
}

// findAction returns the action with id as actor sees it: buyers do not see internal actions.
func (p *Plan) findAction(by Actor, id string) (*Action, error) {
	a := p.Action(id)
	if a == nil || (a.Internal && by.Side == SideBuyer) {
		return nil, &NotFoundError{Kind: "action", ID: id}
	}
	return a, nil
}

func checkVersion(a *Action, version int) error {
	if version <= 0 {
		return invalid("version", "required: the action version read")
	}
	if version != a.Version {
		return &ConflictError{ActionID: a.ID, Version: version, Current: a.Version}
	}
	return nil
}

// UpdateAction applies patch to the action with id actionID and returns one event per changed
// field (plus action.due_recomputed for actions due after it whose date moves). The whole patch is
// checked before anything changes: on error the plan is unchanged. A patch that changes nothing
// returns no events and leaves the version as is.
//
// Completing (done) or skipping an action stamps CompletedAt and recomputes the open actions due
// after it from that day; reopening clears CompletedAt and makes them provisional again.
func (p *Plan) UpdateAction(c Change, actionID string, patch ActionPatch) ([]Event, error) {
	if err := p.active(); err != nil {
		return nil, err
	}
	a, err := p.findAction(c.By, actionID)
	if err != nil {
		return nil, err
	}
	if err := checkVersion(a, patch.Version); err != nil {
		return nil, err
	}
	if s := patch.Status; s != nil && *s != a.Status {
		if !s.Valid() {
			return nil, invalid("status", "unknown status %q (want one of %s)", *s, listOf(Statuses))
		}
		if !CanTransition(a.Status, *s) {
			return nil, &TransitionError{From: a.Status, To: *s}
		}
	}
	if id := patch.AssigneeID; id != nil && *id != "" {
		m := p.Member(*id)
		if m == nil {
			return nil, &NotFoundError{Kind: "member", ID: *id}
		}
		if a.Internal && m.Side == SideBuyer {
			return nil, invalid("assignee_id", "internal action cannot be assigned to buyer %q", m.Name)
		}
	}
	if patch.Due != nil && patch.ClearDue {
		return nil, invalid("due", "due and clear_due are exclusive")
	}
	if patch.Due != nil && patch.Due.IsZero() {
		return nil, invalid("due", "want a date (use clear_due to remove it)")
	}
	if t := patch.Title; t != nil && strings.TrimSpace(*t) == "" {
		return nil, invalid("title", "required")
	}
	if t := patch.Title; t != nil {
		if err := checkLength("title", *t, MaxTitle); err != nil {
			return nil, err
		}
	}
	if d := patch.Description; d != nil {
		if err := checkLength("description", *d, MaxDescription); err != nil {
			return nil, err
		}
	}
	if d := patch.Due; d != nil && *d != a.Due {
		if err := p.checkDueStart("due", *d); err != nil {
			return nil, err
		}
	}
	if (patch.Internal != nil || patch.OwnerRole != nil) && c.By.Side == SideBuyer {
		return nil, &ForbiddenError{Message: "buyers cannot change an action's owner role or internal flag"}
	}
	internal := a.Internal
	if patch.Internal != nil {
		internal = *patch.Internal
	}
	ownerRole, assignee := a.OwnerRole, a.AssigneeID
	if patch.AssigneeID != nil {
		assignee = *patch.AssigneeID
	}
	if r := patch.OwnerRole; r != nil && *r != a.OwnerRole {
		if *r != "" && p.Role(*r) == nil {
			return nil, invalid("owner_role", "unknown role %q", *r)
		}
		ownerRole = *r
		if m := p.Member(assignee); patch.AssigneeID != nil && m != nil && m.Role != ownerRole {
			return nil, invalid("assignee_id", "member %q is %s, not %s", assignee, m.Role, ownerRole)
		}
		if patch.AssigneeID == nil {
			assignee = ""
			for _, m := range p.Members {
				if ownerRole != "" && m.Role == ownerRole && !(internal && m.Side == SideBuyer) {
					assignee = m.ID
					break
				}
			}
		}
	}
	if internal {
		if role := p.Role(ownerRole); role != nil && role.Side == SideBuyer {
			return nil, invalid("internal", "an internal action cannot be owned by buyer role %q", ownerRole)
		}
		if m := p.Member(assignee); m != nil && m.Side == SideBuyer {
			return nil, invalid("internal", "an internal action cannot be assigned to buyer %q", m.Name)
		}
	}
	var (
		rule     DueRule
		ruleDue  Date
		ruleProv bool
	)
	if patch.DueRule != nil {
		if patch.Due != nil || patch.ClearDue {
			return nil, invalid("due_rule", "due_rule, due and clear_due are exclusive")
		}
		var err error
		if rule, ruleDue, ruleProv, err = p.resolveRule("due_rule", a, *patch.DueRule); err != nil {
			return nil, err
		}
		if err := p.checkDueStart("due_rule", ruleDue); err != nil {
			return nil, err
		}
	}
	var milestone string
	if m := patch.Milestone; m != nil {
		if c.By.Side == SideBuyer {
			return nil, &ForbiddenError{Message: "buyers cannot change milestones"}
		}
		var err error
		if milestone, err = checkText("milestone", *m, MaxMilestone, false); err != nil {
			return nil, err
		}
	}

	r := &recorder{p: p, c: c}
	changed := false
	if t := patch.Title; t != nil && *t != a.Title {
		r.add(EventActionTitle, a, a.Title, *t)
		a.Title, changed = *t, true
	}
	if d := patch.Description; d != nil && *d != a.Description {
		r.add(EventActionDescription, a, a.Description, *d)
		a.Description, changed = *d, true
	}
	if id := patch.AssigneeID; id != nil && *id != a.AssigneeID {
		r.add(EventActionAssignee, a, a.AssigneeID, *id)
		a.AssigneeID, changed = *id, true
		if m := p.Member(*id); m != nil {
			a.OwnerRole = m.Role
		}
	}
	if internal != a.Internal {
		r.add(EventActionInternal, a, a.Internal, internal)
		a.Internal, changed = internal, true
		r.events[len(r.events)-1].Internal = true // the flag's change is the seller's business
	}
	if patch.OwnerRole != nil && ownerRole != a.OwnerRole {
		r.add(EventActionOwnerRole, a, a.OwnerRole, ownerRole)
		a.OwnerRole, changed = ownerRole, true
		if patch.AssigneeID == nil && assignee != a.AssigneeID {
			r.add(EventActionAssignee, a, a.AssigneeID, assignee)
			a.AssigneeID = assignee
		}
	}
	if patch.Milestone != nil && milestone != a.Milestone {
		r.add(EventActionMilestone, a, a.Milestone, milestone)
		a.Milestone, changed = milestone, true
		p.dropUnusedTargets()
	}
	dueMoved := false
	if d := patch.Due; d != nil && (*d != a.Due || a.DueRule != nil) {
		r.add(EventActionDue, a, a.Due, *d)
		a.Due, a.DueRule, a.DueProvisional = *d, nil, false
		changed, dueMoved = true, true
	}
	if patch.DueRule != nil && (a.DueRule == nil || *a.DueRule != rule || a.Due != ruleDue) {
		r.add(EventActionDue, a, map[string]any{"due": a.Due, "due_rule": a.DueRule}, map[string]any{"due": ruleDue, "due_rule": rule})
		a.Due, a.DueRule, a.DueProvisional = ruleDue, &rule, ruleProv
		changed, dueMoved = true, true
	}
	if patch.ClearDue && (!a.Due.IsZero() || a.DueRule != nil) {
		r.add(EventActionDue, a, a.Due, nil)
		a.Due, a.DueRule, a.DueProvisional = Date{}, nil, false
		changed, dueMoved = true, true
	}
	statusMoved := false
	if s := patch.Status; s != nil && *s != a.Status {
		setStatus(r, a, *s)
		changed, statusMoved = true, true
	}
	if changed {
		r.touch(a)
	}
	if dueMoved || statusMoved {
		recomputeDependents(p, r, a)
	}
	return r.done(), nil
}

// setStatus moves a to status s (already checked) and records the event.
func setStatus(r *recorder, a *Action, s Status) {
	r.add(EventActionStatus, a, a.Status, s)
	wasClosed := a.Status.Closed()
	a.Status = s
	switch {
	case s.Closed() && !wasClosed:
		at := r.c.At
		a.CompletedAt = &at
	case !s.Closed():
		a.CompletedAt = nil
	}
}

// MoveAction moves an action to position (from 0) in the phase toPhaseID, with drag-and-drop
// semantics: position is the action's index after the move, clamped to the end of the phase, and
// the positions of both phases' actions are renumbered 0, 1, 2 ... Only the moved action's version
// increments. Moving an action onto its own place changes nothing and returns no events.
func (p *Plan) MoveAction(c Change, actionID string, version int, toPhaseID string, position int) ([]Event, error) {
	if err := p.active(); err != nil {
		return nil, err
	}
	if _, err := p.findAction(c.By, actionID); err != nil {
		return nil, err
	}
	fromPhase, fromIdx := p.locate(actionID)
	toPhase := -1
	for i := range p.Phases {
		if p.Phases[i].ID == toPhaseID {
			toPhase = i
		}
	}
	if toPhase < 0 {
		return nil, &NotFoundError{Kind: "phase", ID: toPhaseID}
	}
	if err := checkVersion(&p.Phases[fromPhase].Actions[fromIdx], version); err != nil {
		return nil, err
	}
	if position < 0 {
		return nil, invalid("position", "want 0 or more, got %d", position)
	}
	a := p.Phases[fromPhase].Actions[fromIdx]
	src := &p.Phases[fromPhase]
	src.Actions = slices.Delete(src.Actions, fromIdx, fromIdx+1)
	dst := &p.Phases[toPhase]
	position = min(position, len(dst.Actions))
	if fromPhase == toPhase && position == fromIdx {
		src.Actions = slices.Insert(src.Actions, fromIdx, a)
		return nil, nil
	}
	dst.Actions = slices.Insert(dst.Actions, position, a)
	renumber(src)
	renumber(dst)
	r := &recorder{p: p, c: c}
	moved := &dst.Actions[position]
	r.add(EventActionMoved, moved,
		map[string]any{"phase_id": src.ID, "position": fromIdx},
		map[string]any{"phase_id": dst.ID, "position": position})
	r.touch(moved)
	return r.done(), nil
}

// locate returns the phase and action index of an action known to exist.
func (p *Plan) locate(actionID string) (int, int) {
	for i := range p.Phases {
		for j := range p.Phases[i].Actions {
			if p.Phases[i].Actions[j].ID == actionID {
				return i, j
			}
		}
	}
	return -1, -1
}

func renumber(ph *Phase) {
	for i := range ph.Actions {
		ph.Actions[i].Position = i
	}
}
