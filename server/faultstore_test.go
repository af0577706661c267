package server

import (
	"context"
	"sync"
	"time"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
)

var _ Store = (*store.Store)(nil)

// faultStore is the real store with faults a test can inject: an error from UpdatePlan, Ping or
// VerifyAPIToken, or a hook that runs before UpdatePlan (to slip in a concurrent change).
type faultStore struct {
	*store.Store
	mu sync.Mutex
	f  faults
}

type faults struct {
	beforeUpdate func(p *plans.Plan)
	updateErr    error
	pingErr      error
	verifyErr    error
	// afterRead runs after Plan or Template has read (to line up racing requests).
	afterRead func()
	// badEvents makes the events given to SaveTemplateFromPlan or AppendEvents impossible to
	// encode, so that recording them fails inside the store's transaction.
	badEvents bool
}

func (s *faultStore) set(fn func(f *faults)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.f)
}

func (s *faultStore) faults() faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f
}

func (s *faultStore) UpdatePlan(ctx context.Context, p *plans.Plan, base int, events []plans.Event) error {
	f := s.faults()
	if f.beforeUpdate != nil {
		f.beforeUpdate(p)
	}
	if f.updateErr != nil {
		return f.updateErr
	}
	return s.Store.UpdatePlan(ctx, p, base, events)
}

func (s *faultStore) Ping(ctx context.Context) error {
	if err := s.faults().pingErr; err != nil {
		return err
	}
	return s.Store.Ping(ctx)
}

func (s *faultStore) VerifyAPIToken(ctx context.Context, token string) (string, error) {
	if err := s.faults().verifyErr; err != nil {
		return "", err
	}
	return s.Store.VerifyAPIToken(ctx, token)
}

func (s *faultStore) SaveTemplateFromPlan(ctx context.Context, planID string, t *plans.Template, events []plans.Event) error {
	if s.faults().badEvents {
		events = unencodable(events)
	}
	return s.Store.SaveTemplateFromPlan(ctx, planID, t, events)
}

func (s *faultStore) Plan(ctx context.Context, id string) (*plans.Plan, error) {
	p, err := s.Store.Plan(ctx, id)
	if f := s.faults(); f.afterRead != nil {
		f.afterRead()
	}
	return p, err
}

func (s *faultStore) Template(ctx context.Context, key string, version int) (*plans.Template, error) {
	t, err := s.Store.Template(ctx, key, version)
	if f := s.faults(); f.afterRead != nil {
		f.afterRead()
	}
	return t, err
}

// barrier lines up n goroutines, again and again: wait returns once n calls of the current
// round have arrived (or after a timeout, so that a test fails instead of hanging).
type barrier struct {
	mu    sync.Mutex
	n     int
	count int
	ch    chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, ch: make(chan struct{})} }

func (b *barrier) wait() {
	b.mu.Lock()
	ch := b.ch
	if b.count++; b.count == b.n {
		close(ch)
		b.ch, b.count = make(chan struct{}), 0
	}
	b.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
	}
}

func (s *faultStore) AppendEvents(ctx context.Context, planID string, events []plans.Event) error {
	if s.faults().badEvents {
		events = unencodable(events)
	}
	return s.Store.AppendEvents(ctx, planID, events)
}

// unencodable returns a copy of events whose last one cannot be encoded as JSON.
func unencodable(events []plans.Event) []plans.Event {
	out := append([]plans.Event(nil), events...)
	if len(out) == 0 {
		out = append(out, plans.Event{Type: plans.EventPlanSavedAsTemplate})
	}
	out[len(out)-1].After = func() {}
	return out
}
