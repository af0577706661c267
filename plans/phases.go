package plans

import (
	"slices"
	"strings"
)

// Structural edits (phases, adding and removing actions, milestones) change the plan as a whole,
// so they name the plan version the caller read (plan_version) rather than an action's version:
// a plan that changed since is a *PlanConflictError. Like every operation they check everything
// before changing anything, and record one event per change.

// MaxPhaseName caps a phase name, in bytes.
const MaxPhaseName = 200

// checkPlanVersion returns a *PlanConflictError unless version is p's current version.
func checkPlanVersion(p *Plan, version int) error {
	if version <= 0 {
		return invalid("plan_version", "required: the plan version read")
	}
	if version != p.Version {
		return &PlanConflictError{PlanID: p.ID, Version: version, Current: p.Version}
	}
	return nil
}

// editable checks that p is active, that c's actor may change its structure (the seller side or
// mapsync) and that version is current.
func (p *Plan) editable(c Change, version int) error {
	if err := p.active(); err != nil {
		return err
	}
	if c.By.Side == SideBuyer {
		return &ForbiddenError{Message: "buyers cannot change the plan's phases, actions or milestones"}
	}
	return checkPlanVersion(p, version)
}

// phaseIndex returns the index of phase id, or -1.
func (p *Plan) phaseIndex(id string) int {
	return slices.IndexFunc(p.Phases, func(ph Phase) bool { return ph.ID == id })
}

// Phase returns the phase with id, or nil.
func (p *Plan) Phase(id string) *Phase {
	if i := p.phaseIndex(id); i >= 0 {
		return &p.Phases[i]
	}
	return nil
}

func checkPhaseName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", invalid("name", "required")
	case len(name) > MaxPhaseName:
		return "", invalid("name", "at most %d bytes, got %d", MaxPhaseName, len(name))
	}
	return name, nil
}

// checkPosition checks an insert or move position against n places (0..max).
func checkPosition(position, maxPos int) error {
	if position < 0 || position > maxPos {
		return invalid("position", "out of range: want 0 to %d, got %d", maxPos, position)
	}
	return nil
}

func renumberPhases(p *Plan) {
	for i := range p.Phases {
		p.Phases[i].Position = i
	}
}

// AddPhase adds an empty phase named name at position (nil: at the end) and returns it. version
// is the plan version read.
func (p *Plan) AddPhase(c Change, version int, name string, position *int) (Phase, []Event, error) {
	if err := p.editable(c, version); err != nil {
		return Phase{}, nil, err
	}
	name, err := checkPhaseName(name)
	if err != nil {
		return Phase{}, nil, err
	}
	if err := checkCount("name", "phases", len(p.Phases), MaxPhases); err != nil {
		return Phase{}, nil, err
	}
	at := len(p.Phases)
	if position != nil {
		if err := checkPosition(*position, len(p.Phases)); err != nil {
			return Phase{}, nil, err
		}
		at = *position
	}
	ph := Phase{ID: c.id(), Name: name, Actions: []Action{}}
	p.Phases = slices.Insert(p.Phases, at, ph)
	renumberPhases(p)
	ph = p.Phases[at]
	r := &recorder{p: p, c: c}
	r.add(EventPhaseAdded, nil, nil, phaseRef(ph))
	return ph, r.done(), nil
}

func phaseRef(ph Phase) map[string]any {
	return map[string]any{"phase_id": ph.ID, "name": ph.Name, "position": ph.Position}
}

// RenamePhase renames phase phaseID. The same name changes nothing.
func (p *Plan) RenamePhase(c Change, version int, phaseID, name string) ([]Event, error) {
	return p.UpdatePhase(c, version, phaseID, &name, nil)
}

// MovePhase moves phase phaseID to position (its index after the move, 0 to the number of phases
// minus one). Moving a phase onto its own place changes nothing.
func (p *Plan) MovePhase(c Change, version int, phaseID string, position int) ([]Event, error) {
	return p.UpdatePhase(c, version, phaseID, nil, &position)
}

// UpdatePhase renames phase phaseID (name not nil) and/or moves it to position (not nil), as one
// change: a phase.renamed and a phase.moved event, one plan version. See RenamePhase and
// MovePhase.
func (p *Plan) UpdatePhase(c Change, version int, phaseID string, name *string, position *int) ([]Event, error) {
	if err := p.editable(c, version); err != nil {
		return nil, err
	}
	i := p.phaseIndex(phaseID)
	if i < 0 {
		return nil, &NotFoundError{Kind: "phase", ID: phaseID}
	}
	var newName string
	if name != nil {
		var err error
		if newName, err = checkPhaseName(*name); err != nil {
			return nil, err
		}
	}
	if position != nil {
		if err := checkPosition(*position, len(p.Phases)-1); err != nil {
			return nil, err
		}
	}
	r := &recorder{p: p, c: c}
	if ph := &p.Phases[i]; name != nil && ph.Name != newName {
		r.add(EventPhaseRenamed, nil,
			map[string]any{"phase_id": ph.ID, "name": ph.Name},
			map[string]any{"phase_id": ph.ID, "name": newName})
		ph.Name = newName
	}
	if position != nil && *position != i {
		ph := p.Phases[i]
		p.Phases = slices.Delete(p.Phases, i, i+1)
		p.Phases = slices.Insert(p.Phases, *position, ph)
		renumberPhases(p)
		r.add(EventPhaseMoved, nil,
			map[string]any{"phase_id": ph.ID, "position": i},
			map[string]any{"phase_id": ph.ID, "position": *position})
	}
	return r.done(), nil
}

// RemovePhase removes phase phaseID. A phase that holds actions needs moveTo, the id of another
// phase: its actions are appended there, in order, each with an action.moved event. The removed
// phase's event keeps its name and position.
func (p *Plan) RemovePhase(c Change, version int, phaseID, moveTo string) ([]Event, error) {
	if err := p.editable(c, version); err != nil {
		return nil, err
	}
	i := p.phaseIndex(phaseID)
	if i < 0 {
		return nil, &NotFoundError{Kind: "phase", ID: phaseID}
	}
	src := p.Phases[i]
	if len(src.Actions) > 0 || moveTo != "" {
		switch j := p.phaseIndex(moveTo); {
		case moveTo == "":
			return nil, invalid("move_actions_to", "required: phase %q holds %d action(s); name the phase they move to", src.Name, len(src.Actions))
		case moveTo == phaseID:
			return nil, invalid("move_actions_to", "want another phase than the one removed")
		case j < 0:
			return nil, invalid("move_actions_to", "unknown phase %q", moveTo)
		}
	}
	r := &recorder{p: p, c: c}
	if len(src.Actions) > 0 {
		dst := &p.Phases[p.phaseIndex(moveTo)]
		for k := range src.Actions {
			a := src.Actions[k]
			dst.Actions = append(dst.Actions, a)
			moved := &dst.Actions[len(dst.Actions)-1]
			moved.Position = len(dst.Actions) - 1
			r.add(EventActionMoved, moved,
				map[string]any{"phase_id": src.ID, "position": k},
				map[string]any{"phase_id": dst.ID, "position": moved.Position})
			r.touch(moved)
		}
	}
	p.Phases = slices.Delete(p.Phases, i, i+1)
	renumberPhases(p)
	e := r.add(EventPhaseRemoved, nil, phaseRef(src), nil)
	if moveTo != "" {
		e.After = map[string]any{"actions_moved_to": moveTo}
	}
	return r.done(), nil
}
