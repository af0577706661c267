package plans_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// serviceTemplate is the template the service tests make plans from.
const serviceTemplate = `key: svc-test
name: Service test plan
selection:
  rule: '!deal.is_closed'
roles:
  - {key: owner, label: Seller - Opp Owner, side: seller, fill: {from: deal_owner}}
phases:
  - key: pre
    name: Pre-sales
    actions:
      - {key: kickoff, title: Kickoff, type: meeting, owner: owner, due: {from: plan_start, days: 1}}
      - {key: review, title: Review, type: task, owner: owner, due: {after: kickoff, days: 2}}
`

var serviceNow = time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)

func serviceDeal(id string) plans.Deal {
	return plans.Deal{
		ConnectionName: "sf", CRM: "salesforce", ID: id, Name: "Acme " + id, Account: "Acme",
		Stage: "Discovery", Pipeline: "default", CloseDate: plans.Date{Year: 2026, Month: time.April, Day: 30},
		OwnerID: "005O", Owner: &plans.Person{ID: "005O", Name: "Sam Seller", Email: "sam@vendor.test"},
	}
}

// sneakyStore is a real store whose UpdatePlan first runs before (when set), to slip a change
// in between the service's load and its write.
type sneakyStore struct {
	*store.Store
	before func()
}

func (s *sneakyStore) UpdatePlan(ctx context.Context, p *plans.Plan, base int, events []plans.Event) error {
	if s.before != nil {
		s.before()
	}
	return s.Store.UpdatePlan(ctx, p, base, events)
}

type serviceBundle struct {
	st   *sneakyStore
	svc  *plans.Service
	plan *plans.Plan
}

// eachService runs fn on every backend with a service on a fresh store holding the test
// template and one plan made from it for deal 006A.
func eachService(t *testing.T, fn func(t *testing.T, b *serviceBundle)) {
	t.Helper()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		st := &sneakyStore{Store: s}
		svc, err := plans.NewService(st, plans.ServiceOptions{Now: func() time.Time { return serviceNow }})
		if err != nil {
			t.Fatal(err)
		}
		tpl, err := plans.Parse([]byte(serviceTemplate))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.ImportTemplate(t.Context(), tpl); err != nil {
			t.Fatal(err)
		}
		p, created, err := svc.CreatePlan(t.Context(), "svc-test", 0, serviceDeal("006A"), time.UTC)
		if err != nil || !created {
			t.Fatalf("create plan: created %v, %v", created, err)
		}
		fn(t, &serviceBundle{st: st, svc: svc, plan: p})
	})
}

func (b *serviceBundle) eventCount(t *testing.T) int {
	t.Helper()
	events, err := b.st.Events(t.Context(), b.plan.ID, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(events)
}

func setStatus(id string, version int, s plans.Status) plans.Op {
	return func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		return p.UpdateAction(c, id, plans.ActionPatch{Version: version, Status: &s})
	}
}

func TestServiceCreatePlan(t *testing.T) {
	t.Parallel()
	eachService(t, func(t *testing.T, b *serviceBundle) {
		again, created, err := b.svc.CreatePlan(t.Context(), "svc-test", 0, serviceDeal("006A"), time.UTC)
		if err != nil || created || again.ID != b.plan.ID {
			t.Errorf("same deal again: got %v created %v, %v; want the existing plan %s", again.ID, created, err, b.plan.ID)
		}
		if _, _, err := b.svc.CreatePlan(t.Context(), "nope", 0, serviceDeal("006B"), time.UTC); !errors.Is(err, plans.ErrNotFound) {
			t.Errorf("unknown template: got %v, want ErrNotFound", err)
		}
		if _, _, err := b.svc.CreatePlan(t.Context(), "svc-test", 0, plans.Deal{ConnectionName: "sf"}, time.UTC); !errors.Is(err, plans.ErrInvalid) {
			t.Errorf("deal without id: got %v, want ErrInvalid", err)
		}
	})
}

func TestServiceNoOpWritesNothing(t *testing.T) {
	t.Parallel()
	eachService(t, func(t *testing.T, b *serviceBundle) {
		before := b.eventCount(t)
		p, events, err := b.svc.Change(t.Context(), b.plan.ID, plans.System(), func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
			return nil, nil
		})
		if err != nil || events != nil || p.Version != b.plan.Version || b.eventCount(t) != before {
			t.Errorf("no-op: got version %d, events %v, %v; want version %d and nothing written", p.Version, events, err, b.plan.Version)
		}
	})
}

func TestServiceChangeUnknownPlan(t *testing.T) {
	t.Parallel()
	eachService(t, func(t *testing.T, b *serviceBundle) {
		_, _, err := b.svc.Change(t.Context(), "nope", plans.System(), setStatus("x", 1, plans.StatusDone))
		var nf *plans.NotFoundError
		if !errors.As(err, &nf) || nf.Kind != "plan" || nf.ID != "nope" {
			t.Errorf("unknown plan: got %v, want a NotFoundError naming plan nope", err)
		}
	})
}

// TestServiceChangeRetries slips a change to another action in between the load and the write:
// the store refuses the stale plan version, the service reloads and reapplies, and both changes
// survive. A plan that changes under every attempt ends in ErrBusy after DefaultRetries.
func TestServiceChangeRetries(t *testing.T) {
	t.Parallel()
	eachService(t, func(t *testing.T, b *serviceBundle) {
		kickoff, review := b.plan.ActionByKey("kickoff").ID, b.plan.ActionByKey("review").ID
		sneak := func(op plans.Op) {
			p, err := b.st.Plan(t.Context(), b.plan.ID)
			if err != nil {
				t.Error(err)
				return
			}
			base := p.Version
			events, err := op(p, plans.Change{By: plans.System(), At: serviceNow})
			if err == nil {
				err = b.st.Store.UpdatePlan(t.Context(), p, base, events)
			}
			if err != nil {
				t.Error(err)
			}
		}
		sneaked := false
		b.st.before = func() {
			if !sneaked {
				sneaked = true
				sneak(setStatus(review, 1, plans.StatusInProgress))
			}
		}
		p, _, err := b.svc.Change(t.Context(), b.plan.ID, plans.System(), setStatus(kickoff, 1, plans.StatusDone))
		if err != nil {
			t.Fatalf("change with one conflict: %v", err)
		}
		if p.ActionByKey("kickoff").Status != plans.StatusDone || p.ActionByKey("review").Status != plans.StatusInProgress || p.Version != b.plan.Version+2 {
			t.Errorf("after retry: got kickoff %s, review %s, version %d; want done, in_progress, %d",
				p.ActionByKey("kickoff").Status, p.ActionByKey("review").Status, p.Version, b.plan.Version+2)
		}

		before := b.eventCount(t)
		b.st.before = func() {
			sneak(func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
				_, ev, err := p.AddComment(c, review, "meanwhile", false)
				return ev, err
			})
		}
		_, _, err = b.svc.Change(t.Context(), b.plan.ID, plans.System(), setStatus(kickoff, 2, plans.StatusInProgress))
		if !errors.Is(err, plans.ErrBusy) || !errors.Is(err, plans.ErrConflict) {
			t.Errorf("always conflicting: got %v, want ErrBusy (matching ErrConflict)", err)
		}
		if got, want := b.eventCount(t)-before, plans.DefaultRetries+1; got != want {
			t.Errorf("events: got %d new, want %d (the sneaked comments only)", got, want)
		}
	})
}
