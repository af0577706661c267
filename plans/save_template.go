package plans

import "fmt"

// SaveAsTemplate turns the plan as it stands into a new template with the given key and name:
// its description, conversation name and welcome message, roles, phases and actions in their
// current order, titles, types, owners, sub-task titles, form questions, internal flags and
// milestones. The conversation texts are the template's own, placeholders unfilled, when the plan
// kept them (ConversationTemplate); otherwise, for plans made before plans kept them, the plan's
// rendered name and welcome message. Due rules are kept where the action still has one (a date
// set by hand is not carried over). Actions and phases added after creation get generated keys.
// The template has no selection rule (an admin adds one) and is validated. The plan does not
// change; the one event records what was saved.
func (p *Plan) SaveAsTemplate(c Change, key, name string) (*Template, []Event, error) {
	conv := p.ConversationTemplate
	if conv.Name == "" {
		conv = Conversation{Name: p.Name, WelcomeMessage: p.WelcomeMessage}
	}
	t := &Template{
		Key: key, Name: name, Description: p.Description, Conversation: conv, Roles: cloneRoles(p.Roles),
		DueNotBeforeStart: p.DueNotBeforeStart,
	}
	keys := map[string]bool{}
	for _, a := range p.Actions() {
		if a.Key != "" {
			keys[a.Key] = true
		}
	}
	n := 0
	newKey := func() string {
		for {
			n++
			k := fmt.Sprintf("action-%d", n)
			if !keys[k] {
				keys[k] = true
				return k
			}
		}
	}
	phaseKeys := map[string]bool{}
	for _, ph := range p.Phases {
		phaseKeys[ph.Key] = true
	}
	for i, ph := range p.Phases {
		pt := PhaseTemplate{Key: ph.Key, Name: ph.Name}
		for n := i + 1; pt.Key == ""; n++ {
			// Phases added on the plan have no key: make one no other phase has.
			if k := fmt.Sprintf("phase-%d", n); !phaseKeys[k] {
				pt.Key, phaseKeys[k] = k, true
			}
		}
		for _, a := range ph.Actions {
			at := ActionTemplate{
				Key: a.Key, Title: a.Title, Description: a.Description, Type: a.Type, Owner: a.OwnerRole,
				Internal: a.Internal, Milestone: a.Milestone, Questions: cloneQuestions(a.Questions),
			}
			if at.Key == "" {
				at.Key = newKey()
			}
			at.Approver, at.URL = templateSetup(&a)
			if a.DueRule != nil {
				rule := *a.DueRule
				at.Due = &rule
			}
			for _, s := range a.SubTasks {
				at.SubTasks = append(at.SubTasks, s.Title)
			}
			pt.Actions = append(pt.Actions, at)
		}
		t.Phases = append(t.Phases, pt)
	}
	// A rule may point at an action removed since; drop such rules rather than fail.
	for i := range t.Phases {
		for j := range t.Phases[i].Actions {
			at := &t.Phases[i].Actions[j]
			if at.Due != nil && at.Due.After != "" && t.Action(at.Due.After) == nil {
				at.Due = nil
			}
		}
	}
	if err := t.Validate(); err != nil {
		return nil, nil, fmt.Errorf("save plan %s as template: %w", p.ID, err)
	}
	r := &recorder{p: p, c: c}
	r.add(EventPlanSavedAsTemplate, nil, nil, map[string]any{"template": key, "name": name})
	return t, r.events, nil
}
