package plans

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Caps on the texts a person gives a new plan, in bytes.
const (
	MaxPlanName = 200
	MaxPlanText = 10000
)

// PlanOverrides are the texts a person gives a plan instead of the template's (nil keeps the
// template's, placeholders filled).
type PlanOverrides struct {
	// Name is the plan's name.
	Name *string `json:"name,omitempty"`
	// Description is the plan's description.
	Description *string `json:"description,omitempty"`
	// WelcomeMessage greets the plan's members.
	WelcomeMessage *string `json:"welcome_message,omitempty"`
}

// apply checks o and sets its texts on p.
func (o PlanOverrides) apply(p *Plan) error {
	fields := []struct {
		name     string
		v        *string
		dst      *string
		max      int
		required bool
	}{
		{"name", o.Name, &p.Name, MaxPlanName, true},
		{"description", o.Description, &p.Description, MaxPlanText, false},
		{"welcome_message", o.WelcomeMessage, &p.WelcomeMessage, MaxPlanText, false},
	}
	for _, f := range fields {
		if f.v == nil {
			continue
		}
		s, err := checkText(f.name, *f.v, f.max, f.required)
		if err != nil {
			return err
		}
		*f.dst = strings.TrimSpace(s)
	}
	return nil
}

// CreatePlanFor makes the plan for deal from template t (as stored, with its version), as actor
// by, with due dates in loc and the texts of o, and stores it unless a plan for (connection,
// deal, template) exists: then it returns that plan unchanged and created false (o is not
// applied to it).
func (s *Service) CreatePlanFor(ctx context.Context, t *Template, deal Deal, loc *time.Location, by Actor, o PlanOverrides) (*Plan, bool, error) {
	if existing, err := s.store.PlanFor(ctx, deal.ConnectionName, deal.ID, t.Key); err == nil {
		return existing, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, false, fmt.Errorf("find plan for deal %s: %w", deal.ID, err)
	}
	p, events, err := InstantiateBy(t, deal, Change{By: by, At: s.now().UTC(), NewID: s.newID}, loc)
	if err != nil {
		return nil, false, err
	}
	if err := o.apply(p); err != nil {
		return nil, false, err
	}
	stored, created, err := s.store.CreatePlan(ctx, p, events)
	if err != nil {
		return nil, false, fmt.Errorf("create plan for deal %s: %w", deal.ID, err)
	}
	return stored, created, nil
}
