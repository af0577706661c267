package server

import (
	"context"
	"sync"

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
