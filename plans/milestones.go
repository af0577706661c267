package plans

import "strings"

// A milestone is a name that actions carry (Action.Milestone); it is reached when every action
// carrying it is done or skipped (see Progress). A milestone may have a target date, set on the
// plan; Progress reports it next to whether and when the milestone was reached.

// hasMilestone reports whether an action of p carries the milestone name.
func (p *Plan) hasMilestone(name string) bool {
	for _, a := range p.Actions() {
		if a.Milestone == name {
			return true
		}
	}
	return false
}

// SetMilestoneTarget sets, moves or (with a zero date) clears the target date of the milestone
// name, which an action of the plan must carry. version is the plan version read. A date before
// the plan started is refused when the template forbids it. Setting the date it has changes
// nothing.
func (p *Plan) SetMilestoneTarget(c Change, version int, name string, target Date) ([]Event, error) {
	if err := p.editable(c, version); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if !p.hasMilestone(name) {
		return nil, &NotFoundError{Kind: "milestone", ID: name}
	}
	if err := p.checkDueStart("target_date", target); err != nil {
		return nil, err
	}
	old, had := p.MilestoneTargets[name]
	if old == target && (had || target.IsZero()) {
		return nil, nil
	}
	r := &recorder{p: p, c: c}
	var before, after any
	if had {
		before = map[string]any{"milestone": name, "target_date": old}
	}
	if !target.IsZero() {
		after = map[string]any{"milestone": name, "target_date": target}
	}
	r.add(EventMilestoneTarget, nil, before, after)
	if target.IsZero() {
		delete(p.MilestoneTargets, name)
	} else {
		if p.MilestoneTargets == nil {
			p.MilestoneTargets = map[string]Date{}
		}
		p.MilestoneTargets[name] = target
	}
	return r.done(), nil
}

// dropUnusedTargets forgets the target dates of milestones no action carries any more.
func (p *Plan) dropUnusedTargets() {
	for name := range p.MilestoneTargets {
		if !p.hasMilestone(name) {
			delete(p.MilestoneTargets, name)
		}
	}
}
