package main

import (
	"context"
	"fmt"
	"time"

	"github.com/mapsync/mapsync/scheduler"
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
	return scheduler.PullAndInstantiate(ctx, l, sc.ID, p, in, req, wait)
}

// printPlans says how many plans a run's catch-up made.
func printPlans(a *app, out *scheduler.PullOutcome) {
	switch {
	case out.Plans != nil:
		fmt.Fprintf(a.stdout, "plans: %d created (%d deals evaluated, %d already had theirs, %d matched no template)\n",
			out.Plans.Created, out.Plans.Evaluated, out.Plans.Existing, out.Plans.NoMatch)
	case out.PlansSkipped != "":
		fmt.Fprintf(a.stdout, "plans: none made: %s\n", out.PlansSkipped)
	}
}
