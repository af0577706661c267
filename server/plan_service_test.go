package server

import (
	"errors"
	"testing"
	"time"

	"github.com/mapsync/mapsync/plans"
)

func TestServiceCreatePlan(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		svc := b.srv.Service()
		again, created, err := svc.CreatePlan(t.Context(), "api-test", 0, testDeal("006A"), time.UTC)
		if err != nil || created || again.ID != b.plan.ID {
			t.Errorf("same deal again: got %v created %v, %v; want the existing plan %s", again.ID, created, err, b.plan.ID)
		}
		if _, _, err := svc.CreatePlan(t.Context(), "nope", 0, testDeal("006B"), time.UTC); !errors.Is(err, plans.ErrNotFound) {
			t.Errorf("unknown template: got %v, want ErrNotFound", err)
		}
		if _, _, err := svc.CreatePlan(t.Context(), "api-test", 0, plans.Deal{ConnectionName: "sf"}, time.UTC); !errors.Is(err, plans.ErrInvalid) {
			t.Errorf("deal without id: got %v, want ErrInvalid", err)
		}
	})
}

func TestServiceNoOpWritesNothing(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		before := len(b.eventTypes())
		p, events, err := b.srv.Service().Change(t.Context(), b.plan.ID, plans.System(), func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
			return nil, nil
		})
		if err != nil || events != nil || p.Version != b.plan.Version || len(b.eventTypes()) != before {
			t.Errorf("no-op: got version %d, events %v, %v; want version %d and nothing written", p.Version, events, err, b.plan.Version)
		}
	})
}
