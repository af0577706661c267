package plans

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultRetries is how many times Service.Change reapplies an operation after the store reports
// that the plan moved underneath it.
const DefaultRetries = 5

// ErrBusy is returned by Service.Change when the plan kept changing under every attempt. It
// matches ErrConflict; the API answers 409 and the client retries.
var ErrBusy = fmt.Errorf("plan changed concurrently on every attempt: %w", ErrConflict)

// Service applies the pure operations of this package to stored plans: load, apply with a
// Change, and write with the store's compare-and-swap, retrying when another change to the
// same plan got in first. The store writes the plan, its events and the CRM projection mark in
// one transaction, so a change is all or nothing.
type Service struct {
	store   Store
	now     func() time.Time
	newID   func() string
	retries int
}

// ServiceOptions configures NewService.
type ServiceOptions struct {
	// Now is the clock (default time.Now). Changes are stamped with Now().UTC().
	Now func() time.Time
	// NewID makes ids of things a change creates (default the package's NewID, a UUIDv7).
	NewID func() string
	// Retries is how many times a change is reapplied after a store conflict (default
	// DefaultRetries; -1 means never).
	Retries int
}

// NewService returns a Service on st.
func NewService(st Store, opts ServiceOptions) (*Service, error) {
	if st == nil {
		return nil, errors.New("new plan service: store is required")
	}
	s := &Service{store: st, now: opts.Now, newID: opts.NewID, retries: opts.Retries}
	if s.now == nil {
		s.now = time.Now
	}
	switch {
	case s.retries == 0:
		s.retries = DefaultRetries
	case s.retries < 0:
		s.retries = 0
	}
	return s, nil
}

// Op is an operation on a plan: one of the methods of *Plan, wrapped. It must change
// nothing when it returns an error (the operations of *Plan guarantee that).
type Op func(p *Plan, c Change) ([]Event, error)

// Change loads plan planID, applies op as actor by, and stores the result with its events. When
// the store reports that the plan's version moved (a concurrent change elsewhere in the plan), it
// reloads and reapplies op, up to the configured retries; op's own checks (an action's version,
// its state) then decide whether the change still holds. An op that records no events writes
// nothing. Change returns the plan as stored after the change and the events recorded.
//
// op may run several times: it must not keep state between runs except what it returns.
func (s *Service) Change(ctx context.Context, planID string, by Actor, op Op) (*Plan, []Event, error) {
	return s.change(ctx, planID, by, op, s.store.UpdatePlan)
}

// AddComment adds a comment on action actionID of plan planID as by (Plan.AddComment), and stores
// it with the plan's change (Store.AddComment), retrying as Change does. It returns the plan as
// stored and the comment.
func (s *Service) AddComment(ctx context.Context, planID string, by Actor, actionID, body string, internal bool) (*Plan, Comment, error) {
	var cm Comment
	p, _, err := s.change(ctx, planID, by,
		func(p *Plan, c Change) ([]Event, error) {
			var (
				events []Event
				err    error
			)
			cm, events, err = p.AddComment(c, actionID, body, internal)
			return events, err
		},
		func(ctx context.Context, p *Plan, base int, events []Event) error {
			return s.store.AddComment(ctx, p, base, cm, events)
		})
	if err != nil {
		return nil, Comment{}, err
	}
	return p, cm, nil
}

// change is Change with the write given: UpdatePlan, or a write that stores more with it.
func (s *Service) change(ctx context.Context, planID string, by Actor, op Op, write func(ctx context.Context, p *Plan, base int, events []Event) error) (*Plan, []Event, error) {
	for attempt := 0; ; attempt++ {
		p, err := s.store.Plan(ctx, planID)
		if err != nil {
			return nil, nil, planLoadError(planID, err)
		}
		base := p.Version
		c := Change{By: by, At: s.now().UTC(), NewID: s.newID}
		events, err := op(p, c)
		if err != nil {
			return nil, nil, err
		}
		if len(events) == 0 {
			return p, nil, nil
		}
		err = write(ctx, p, base, events)
		if err == nil {
			return p, events, nil
		}
		if errors.Is(err, ErrNotFound) {
			return nil, nil, planLoadError(planID, err) // deleted since it was read
		}
		if !errors.Is(err, ErrConflict) {
			return nil, nil, fmt.Errorf("update plan %s: %w", planID, err)
		}
		if attempt >= s.retries {
			return nil, nil, ErrBusy
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
	}
}

// SaveAsTemplate makes a new template from plan planID as it stands (Plan.SaveAsTemplate)
// and stores it as version 1 of key together with the plan.saved_as_template event, in one
// transaction (Store.SaveTemplateFromPlan). A key that exists is a *ExistsError on "key"
// (409), also when two saves race for it: exactly one of them creates the template.
func (s *Service) SaveAsTemplate(ctx context.Context, planID string, by Actor, key, name string) (*Template, error) {
	p, err := s.store.Plan(ctx, planID)
	if err != nil {
		return nil, planLoadError(planID, err)
	}
	t, events, err := p.SaveAsTemplate(Change{By: by, At: s.now().UTC(), NewID: s.newID}, key, name)
	if err != nil {
		return nil, err
	}
	if err := s.store.SaveTemplateFromPlan(ctx, planID, t, events); err != nil {
		switch {
		case errors.Is(err, ErrConflict):
			return nil, fmt.Errorf("save plan %s as template: %w", planID, &ExistsError{Kind: "template", Key: key, Field: "key"})
		case errors.Is(err, ErrNotFound):
			return nil, planLoadError(planID, err)
		}
		return nil, fmt.Errorf("save plan %s as template %s: %w", planID, key, err)
	}
	t.Version = 1
	return t, nil
}

// planLoadError is the error of loading plan planID: a *NotFoundError naming the plan
// when it does not exist, else err with the plan's id.
func planLoadError(planID string, err error) error {
	if errors.Is(err, ErrNotFound) {
		return &NotFoundError{Kind: "plan", ID: planID}
	}
	return fmt.Errorf("load plan %s: %w", planID, err)
}

// CreatePlan makes the plan for deal from the latest version of template key (or version, when
// not 0), with due dates in loc, as mapsync itself, and stores it unless a plan for (connection,
// deal, template) exists. It returns the stored plan and whether it was created now. Choosing the
// template by selection rule is the caller's (Selector).
func (s *Service) CreatePlan(ctx context.Context, key string, version int, deal Deal, loc *time.Location) (*Plan, bool, error) {
	t, err := s.store.Template(ctx, key, version)
	if err != nil {
		return nil, false, fmt.Errorf("load template %s: %w", key, err)
	}
	p, events, err := InstantiateBy(t, deal, Change{By: System(), At: s.now().UTC(), NewID: s.newID}, loc)
	if err != nil {
		return nil, false, err
	}
	stored, created, err := s.store.CreatePlan(ctx, p, events)
	if err != nil {
		return nil, false, fmt.Errorf("create plan for deal %s: %w", deal.ID, err)
	}
	return stored, created, nil
}
