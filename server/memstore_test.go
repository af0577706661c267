package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/mapsync/mapsync/plans"
)

// memStore is a small in-memory Store for handler tests: plans kept as deep copies with a
// compare-and-swap on the plan version, as the real store does. Its hooks inject faults.
type memStore struct {
	mu        sync.Mutex
	templates map[string][]*plans.Template
	plans     map[string]*plans.Plan
	events    map[string][]plans.Event
	tokens    map[string]string
	pingErr   error
	verifyErr error
	// beforeUpdate runs (unlocked) at the start of UpdatePlan; tests use it to slip in a
	// concurrent change.
	beforeUpdate func(p *plans.Plan)
	// updateErr, when set, is what UpdatePlan returns.
	updateErr error
	updates   int
}

var _ Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{
		templates: map[string][]*plans.Template{}, plans: map[string]*plans.Plan{},
		events: map[string][]plans.Event{}, tokens: map[string]string{},
	}
}

func notFound(what string) error { return fmt.Errorf("%s: %w", what, plans.ErrNotFound) }

func (m *memStore) VerifyAPIToken(_ context.Context, token string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.verifyErr != nil {
		return "", m.verifyErr
	}
	name, ok := m.tokens[token]
	if !ok {
		return "", notFound("api token")
	}
	return name, nil
}

func (m *memStore) Ping(context.Context) error { return m.pingErr }

func (m *memStore) ImportTemplate(_ context.Context, t *plans.Template) (int, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	vs := m.templates[t.Key]
	if n := len(vs); n > 0 && vs[n-1].Hash() == t.Hash() {
		return n, false, nil
	}
	c := *t
	c.Version = len(vs) + 1
	m.templates[t.Key] = append(vs, &c)
	return c.Version, true, nil
}

func (m *memStore) Template(_ context.Context, key string, version int) (*plans.Template, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	vs := m.templates[key]
	if version == 0 {
		version = len(vs)
	}
	if version < 1 || version > len(vs) {
		return nil, notFound("template " + key)
	}
	c := *vs[version-1]
	return &c, nil
}

func (m *memStore) Templates(context.Context) ([]*plans.Template, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*plans.Template
	for _, vs := range m.templates {
		c := *vs[len(vs)-1]
		out = append(out, &c)
	}
	slices.SortFunc(out, func(a, b *plans.Template) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

func (m *memStore) CreatePlan(_ context.Context, p *plans.Plan, events []plans.Event) (*plans.Plan, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.plans {
		if x.Connection == p.Connection && x.DealID == p.DealID && x.TemplateKey == p.TemplateKey {
			return x.Clone(), false, nil
		}
	}
	m.plans[p.ID] = p.Clone()
	m.events[p.ID] = append(m.events[p.ID], events...)
	return p.Clone(), true, nil
}

func (m *memStore) Plan(_ context.Context, id string) (*plans.Plan, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.plans[id]
	if !ok {
		return nil, notFound("plan " + id)
	}
	return p.Clone(), nil
}

func (m *memStore) PlanFor(ctx context.Context, connection, dealID, templateKey string) (*plans.Plan, error) {
	return m.Plan(ctx, plans.PlanID(connection, dealID, templateKey))
}

func (m *memStore) UpdatePlan(_ context.Context, p *plans.Plan, base int, events []plans.Event) error {
	if m.beforeUpdate != nil {
		m.beforeUpdate(p)
	}
	return m.update(p, base, events)
}

// update is UpdatePlan without the hook.
func (m *memStore) update(p *plans.Plan, base int, events []plans.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.updateErr != nil {
		return m.updateErr
	}
	cur, ok := m.plans[p.ID]
	if !ok {
		return notFound("plan " + p.ID)
	}
	if cur.Version != base {
		return fmt.Errorf("plan %s version %d is stale, current is %d: %w", p.ID, base, cur.Version, plans.ErrConflict)
	}
	m.plans[p.ID] = p.Clone()
	m.events[p.ID] = append(m.events[p.ID], events...)
	m.updates++
	return nil
}

func (m *memStore) AppendEvents(_ context.Context, planID string, events []plans.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.plans[planID]; !ok {
		return notFound("plan " + planID)
	}
	m.events[planID] = append(m.events[planID], events...)
	return nil
}

func (m *memStore) ListPlans(_ context.Context, f plans.PlanFilter) ([]plans.PlanSummary, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]string, 0, len(m.plans))
	for id := range m.plans {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var out []plans.PlanSummary
	for _, id := range ids {
		p := m.plans[id]
		if id <= f.After && f.After != "" ||
			f.Connection != "" && p.Connection != f.Connection ||
			f.DealID != "" && p.DealID != f.DealID ||
			f.Status != "" && p.Status != f.Status ||
			f.Owner != "" && !slices.ContainsFunc(p.Members, func(x plans.Member) bool {
				return x.Source == plans.SourceDealOwner && (x.CRMID == f.Owner || x.Email == f.Owner)
			}) {
			continue
		}
		if len(out) == limit {
			return out, out[len(out)-1].ID, nil
		}
		out = append(out, plans.PlanSummary{
			ID: p.ID, Connection: p.Connection, DealID: p.DealID, TemplateKey: p.TemplateKey,
			TemplateVersion: p.TemplateVersion, Name: p.Name, Status: p.Status, UpdatedAt: p.UpdatedAt, Version: p.Version,
		})
	}
	return out, "", nil
}

func (m *memStore) Events(_ context.Context, planID, after string, limit int) ([]plans.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.plans[planID]; !ok {
		return nil, notFound("plan " + planID)
	}
	evs := m.events[planID]
	start := 0
	if after != "" {
		i := slices.IndexFunc(evs, func(e plans.Event) bool { return e.ID == after })
		if i < 0 {
			return nil, errors.New("unknown cursor")
		}
		start = i + 1
	}
	end := min(len(evs), start+limit)
	return slices.Clone(evs[start:end]), nil
}
