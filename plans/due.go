package plans

import (
	"errors"
	"fmt"
)

var errDueCycle = errors.New("due rules form a cycle")

// resolveDueDates computes every action's due date from its rule, anchors first.
func resolveDueDates(p *Plan, r *recorder) error {
	byKey := map[string]*Action{}
	for _, a := range p.Actions() {
		if a.Key != "" {
			byKey[a.Key] = a
		}
	}
	const (
		visiting = 1
		resolved = 2
	)
	state := map[*Action]int{}
	var resolve func(a *Action) error
	resolve = func(a *Action) error {
		switch state[a] {
		case resolved:
			return nil
		case visiting:
			return fmt.Errorf("action %q: %w", a.Key, errDueCycle)
		}
		state[a] = visiting
		defer func() { state[a] = resolved }()
		rule := a.DueRule
		if rule == nil {
			return nil
		}
		switch {
		case rule.After != "":
			anchor, ok := byKey[rule.After]
			if !ok {
				return &NotFoundError{Kind: "action", ID: rule.After}
			}
			if err := resolve(anchor); err != nil {
				return err
			}
			a.Due, a.DueProvisional = dueAfter(p, anchor, *rule)
			if a.Due.IsZero() {
				unresolved(r, a, fmt.Sprintf("action %q has no due date: its anchor %q has none", a.Key, anchor.Key))
			}
		case rule.From == AnchorCloseDate:
			if p.CloseDate.IsZero() {
				unresolved(r, a, fmt.Sprintf("action %q has no due date: the deal has no close date", a.Key))
				return nil
			}
			a.Due = rule.apply(p.CloseDate)
		default:
			a.Due = rule.apply(p.StartDate)
		}
		return nil
	}
	for _, a := range p.Actions() {
		if err := resolve(a); err != nil {
			return err
		}
	}
	return nil
}

func unresolved(r *recorder, a *Action, msg string) {
	e := r.add(EventDueUnresolved, a, nil, nil)
	e.Level = LevelWarning
	e.Message = msg
}

// dueAfter computes the due date of an action due after anchor: from the anchor's completion day
// when it is done or skipped, else provisionally from its due date (zero when it has none).
func dueAfter(p *Plan, anchor *Action, rule DueRule) (Date, bool) {
	if anchor.Status.Closed() && anchor.CompletedAt != nil {
		return rule.apply(DateOf(*anchor.CompletedAt, p.Location())), false
	}
	if anchor.Due.IsZero() {
		return Date{}, false
	}
	return rule.apply(anchor.Due), true
}

// recomputeDependents recomputes the due dates of the open actions due after anchor (and of
// theirs, in turn), recording an event for each date that moves.
func recomputeDependents(p *Plan, r *recorder, anchor *Action) {
	seen := map[*Action]bool{anchor: true}
	queue := []*Action{anchor}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur.Key == "" {
			continue
		}
		for _, a := range p.Actions() {
			if seen[a] || a.DueRule == nil || a.DueRule.After != cur.Key || a.Status.Closed() {
				continue
			}
			seen[a] = true
			due, prov := dueAfter(p, cur, *a.DueRule)
			if due != a.Due || prov != a.DueProvisional {
				before := a.Due
				a.Due, a.DueProvisional = due, prov
				r.add(EventActionDueRecomputed, a, before, due)
				r.touch(a)
			}
			queue = append(queue, a)
		}
	}
}
