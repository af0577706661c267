package main

import (
	"context"
	"sync"

	"github.com/riverqueue/river"

	"github.com/mapsync/mapsync/internal/jobs"
	"github.com/mapsync/mapsync/sync/push"
)

// The push pipeline on River (sync/push/job*.go): plan_marks is the durable set of pending
// changes (claimed with leases by the engine), River is what runs the pushes. Every plan write
// inserts, in its own transaction, one push job per connection of its marks, unique in the
// coalescing window (push.window); `mapsync serve` works those jobs, and its leader sweeps for
// marks no job covers (push.sweep_interval) and deletes old push_log rows (push.log_retention).

func init() { registerJobs(pushJobs) }

// pushJobs is serve's job registrar for pushes: the push worker over the process's Pusher, the
// sweep and the push_log cleaner, and their metrics.
func pushJobs(ctx context.Context, rt *runtime, w *river.Workers) ([]*river.PeriodicJob, error) {
	p, err := rt.pusher(ctx)
	if err != nil {
		return nil, err
	}
	m, err := push.NewJobMetrics(rt.reg, rt.store, rt.pushes)
	if err != nil {
		return nil, err
	}
	return push.AddJobs(w, push.JobConfig{
		Engine: p, Store: rt.store, Pushes: rt.pushes, Metrics: m, Logger: rt.a.log,
		Window: rt.cfg.Push.Window.D(), SweepInterval: rt.cfg.Push.SweepInterval.D(), Lease: rt.cfg.Push.Lease.D(), LogRetention: rt.cfg.Push.LogRetention.D(),
	}), nil
}

// pushes reports whether a configured connection has a push mapping.
func (rt *runtime) pushes(connection string) bool {
	cn, ok := rt.cfg.Connection(connection)
	return ok && cn.Push != nil
}

// installPushHook makes every plan write of this process enqueue its push (push.EnqueueHookFor),
// in the write's transaction, for connections with a push mapping. In `serve` the job goes
// through the daemon's River client (rt.jobs); a CLI process that writes plans (sync run's
// catch-up, plans create, the demo) inserts through an insert-only client of its own, built on
// the first write, so a running daemon pushes the change within the window instead of at its
// next sweep.
func (rt *runtime) installPushHook() {
	var (
		once sync.Once
		own  *jobs.Client
		err  error
	)
	inserter := func(ctx context.Context) (push.TxInserter, error) {
		if rt.jobs != nil {
			return rt.jobs, nil
		}
		once.Do(func() { own, err = jobs.New(context.WithoutCancel(ctx), rt.store, jobs.Config{Logger: rt.a.log}) })
		return own, err
	}
	rt.store.OnPlansMarked(push.EnqueueHookFor(inserter, rt.cfg.Push.Window.D(), nil, rt.pushes))
}
