package plans

import (
	"fmt"
	"strings"
	"time"
)

// Instantiate makes the plan for deal from template t at now, with due dates in loc (the
// connection's time zone; nil means UTC). Ids are time-ordered UUIDs, the plan's own id is
// PlanID(connection, deal, template). See InstantiateBy.
func Instantiate(t *Template, deal Deal, now time.Time, loc *time.Location) (*Plan, []Event, error) {
	return InstantiateBy(t, deal, Change{By: System(), At: now}, loc)
}

// InstantiateBy makes the plan for deal from template t, as c.By at c.At, taking new ids from
// c.NewID. It returns the plan and its events: plan.created, then a warning for every role that
// owns actions but has nobody to fill it (its actions stay assigned to the role) and for every
// due date that cannot be computed (a close_date rule on a deal without a close date).
//
// Members come from the roles' fill rules: the deal owner, the contacts whose role is in the
// list (compared case-insensitively), the primary contact (or the first contact when none is
// marked primary). A person filling two roles is a member twice. Each action is assigned to the
// first member of its owner role.
//
// Due dates are computed in loc from plan_start (the day of c.At in loc), the deal's close date,
// or another action: in topological order, an action due after another counts from that action's
// due date and is marked provisional until the anchor is completed (see UpdateAction).
//
// t should be valid (Parse and the store validate); an invalid due-rule graph is an error.
func InstantiateBy(t *Template, deal Deal, c Change, loc *time.Location) (*Plan, []Event, error) {
	if loc == nil {
		loc = time.UTC
	}
	if t == nil {
		return nil, nil, invalid("template", "required")
	}
	if deal.ID == "" {
		return nil, nil, invalid("deal.id", "required")
	}
	name := t.Conversation.Name
	if name == "" {
		name = DefaultConversationName
	}
	p := &Plan{
		ID:                   PlanID(deal.ConnectionName, deal.ID, t.Key),
		Connection:           deal.ConnectionName,
		DealID:               deal.ID,
		TemplateKey:          t.Key,
		TemplateVersion:      t.Version,
		Name:                 render(name, &deal, t),
		Description:          t.Description,
		WelcomeMessage:       render(t.Conversation.WelcomeMessage, &deal, t),
		ConversationTemplate: Conversation{Name: name, WelcomeMessage: t.Conversation.WelcomeMessage},
		Status:               PlanActive,
		TimeZone:             loc.String(),
		StartDate:            DateOf(c.At, loc),
		CloseDate:            deal.CloseDate,
		Roles:                cloneRoles(t.Roles),
		DueNotBeforeStart:    t.DueNotBeforeStart,
		CreatedAt:            c.At,
		UpdatedAt:            c.At,
		Version:              1,
	}
	r := &recorder{p: p, c: c}
	r.add(EventPlanCreated, nil, nil, map[string]any{
		"template": t.Key, "template_version": t.Version, "deal_id": deal.ID,
		"connection": deal.ConnectionName, "actions": t.ActionCount(),
	})

	fillMembers(p, &deal, c)
	firstByRole := map[string]string{}
	for _, m := range p.Members {
		if _, ok := firstByRole[m.Role]; !ok {
			firstByRole[m.Role] = m.ID
		}
	}

	p.Phases = make([]Phase, len(t.Phases))
	actionsByRole := map[string]int{}
	for i, pt := range t.Phases {
		ph := Phase{ID: c.id(), Key: pt.Key, Name: pt.Name, Position: i, Actions: make([]Action, len(pt.Actions))}
		for j, at := range pt.Actions {
			a := Action{
				ID: c.id(), Key: at.Key, Title: at.Title, Description: at.Description, Type: at.Type,
				Status: StatusNotStarted, OwnerRole: at.Owner, AssigneeID: firstByRole[at.Owner],
				Internal: at.Internal, Milestone: at.Milestone, Position: j,
				Questions: cloneQuestions(at.Questions), UpdatedAt: c.At, Version: 1,
			}
			templateState(at).set(&a)
			if at.Due != nil {
				rule := *at.Due
				a.DueRule = &rule
			}
			if len(at.SubTasks) > 0 {
				a.SubTasks = make([]SubTask, len(at.SubTasks))
				for k, title := range at.SubTasks {
					a.SubTasks[k] = SubTask{ID: c.id(), Title: title}
				}
			}
			if at.Owner != "" {
				actionsByRole[at.Owner]++
			}
			ph.Actions[j] = a
		}
		p.Phases[i] = ph
	}

	for _, role := range t.Roles {
		if n := actionsByRole[role.Key]; n > 0 && firstByRole[role.Key] == "" {
			e := r.add(EventRoleUnfilled, nil, nil, map[string]any{"role": role.Key, "actions": n})
			e.Level = LevelWarning
			e.Message = fmt.Sprintf("role %q (%s) has nobody to fill it: %d actions stay assigned to the role", role.Key, role.Label, n)
		}
	}
	if err := resolveDueDates(p, r); err != nil {
		return nil, nil, fmt.Errorf("instantiate %s for deal %s: %w", t.Key, deal.ID, err)
	}
	events := r.events // creation: the plan starts at version 1 with no recorded activity
	return p, events, nil
}

// fillMembers adds the members the roles' fill rules find on the deal.
func fillMembers(p *Plan, d *Deal, c Change) {
	add := func(role RoleTemplate, name, email, crmID string, src MemberSource) {
		p.Members = append(p.Members, Member{
			ID: c.id(), Role: role.Key, Side: role.Side, Name: name, Email: email, CRMID: crmID,
			Source: src, JoinedAt: c.At,
		})
	}
	for _, role := range p.Roles {
		switch role.Fill.From {
		case FillDealOwner:
			if d.Owner != nil {
				add(role, d.Owner.Name, d.Owner.Email, d.Owner.ID, SourceDealOwner)
			} else if d.OwnerID != "" {
				add(role, "", "", d.OwnerID, SourceDealOwner)
			}
		case FillPrimaryContact:
			if pc := d.primaryContact(); pc != nil {
				add(role, pc.Name, pc.Email, pc.ContactID, SourceContact)
			}
		case FillContactRoles:
			for _, dc := range d.Contacts {
				for _, want := range role.Fill.Roles {
					if dc.Role != "" && strings.EqualFold(strings.TrimSpace(dc.Role), strings.TrimSpace(want)) {
						add(role, dc.Name, dc.Email, dc.ContactID, SourceContact)
						break
					}
				}
			}
		}
	}
}
