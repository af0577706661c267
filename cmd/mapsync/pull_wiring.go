package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mapsync/mapsync/scheduler"
	"github.com/mapsync/mapsync/secrets"
	"github.com/mapsync/mapsync/sync/instantiate"
	"github.com/mapsync/mapsync/sync/pull"
)

// locker returns the process's per-connection run lock, built once.
func (rt *runtime) locker() (*scheduler.Locker, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.runLocker != nil {
		return rt.runLocker, nil
	}
	l, err := scheduler.NewLocker(rt.store, scheduler.LockerConfig{Logger: rt.a.log})
	if err != nil {
		return nil, err
	}
	rt.runLocker = l
	return l, nil
}

// pullOnce runs one pull of a configured connection under its run lock (waiting up to wait for
// a run in progress elsewhere), followed by the plan catch-up of new and changed deals.
func (rt *runtime) pullOnce(ctx context.Context, name string, req pull.Request, wait time.Duration, progress func(pull.Progress)) (*scheduler.PullOutcome, error) {
	l, err := rt.locker()
	if err != nil {
		return nil, err
	}
	p, err := rt.puller(ctx, name, progress)
	if err != nil {
		return nil, err
	}
	in, err := rt.instantiator(ctx, name)
	if err != nil {
		return nil, err
	}
	_, sc, err := rt.connection(ctx, name)
	if err != nil {
		return nil, err
	}
	out, err := scheduler.PullAndInstantiate(ctx, l, sc.ID, p, in, req, wait)
	if errors.Is(err, secrets.ErrDecrypt) {
		// The key is wrong, or the one the token was sealed with is lost: say both ways out.
		err = fmt.Errorf("%w; export the key the token was sealed with or, if it is lost, store a new refresh token under this key with `mapsync connections reauth %s`", err, name)
	}
	return out, err
}

// printPlans says how many plans a run's catch-up made.
func printPlans(a *app, out *scheduler.PullOutcome) {
	switch {
	case out.Plans != nil:
		fmt.Fprintf(a.stdout, "plans: %s\n", describePlans(*out.Plans))
	case out.PlansSkipped != "":
		fmt.Fprintf(a.stdout, "plans: none made: %s\n", out.PlansSkipped)
	}
}

// describePlans says what a catch-up did, deals and plans apart: "200 deals evaluated: 142 got
// new plans, 58 matched no template; 156 plans created (142 main, 14 additive)".
func describePlans(s instantiate.Summary) string {
	if s.Evaluated == 0 {
		return "no new or changed deals to evaluate"
	}
	var deals []string
	if s.DealsPlanned > 0 {
		deals = append(deals, fmt.Sprintf("%d got new plans", s.DealsPlanned))
	}
	if had := s.Evaluated - s.DealsPlanned - s.NoMatch; had > 0 {
		deals = append(deals, fmt.Sprintf("%d had their plans already", had))
	}
	if s.NoMatch > 0 {
		deals = append(deals, fmt.Sprintf("%d matched no template", s.NoMatch))
	}
	out := fmt.Sprintf("%d deals evaluated", s.Evaluated)
	if len(deals) > 0 {
		out += ": " + strings.Join(deals, ", ")
	}
	out += fmt.Sprintf("; %d plans created", s.Created)
	if s.Created > 0 {
		out += fmt.Sprintf(" (%d main, %d additive)", s.Created-s.Additive, s.Additive)
	}
	return out
}
