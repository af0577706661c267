package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/pull"
)

func init() { registerJobs(pullJobs) }

// pullJobArgs asks for one pull of a connection, with its plan catch-up, under the
// connection's run lock (which also keeps it from overlapping a `sync run` of another process).
type pullJobArgs struct {
	Connection   string `json:"connection"`
	ConnectionID int64  `json:"connection_id"`
	Full         bool   `json:"full,omitempty"`
	Trigger      string `json:"trigger"`
}

func (pullJobArgs) Kind() string { return "mapsync_pull" }

// InsertOpts: one attempt: a failed pull is recorded as a failed run, and the next tick pulls
// again. No uniqueness: the run lock keeps runs of a connection apart, and a job left running
// by a replica killed mid-pull must not block the next ticks until River rescues it.
func (pullJobArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 1} }

// pullJobTimeout bounds one pull job: a full reconcile of a large org through the CRMs' rate
// limits takes long; River's default (10 min) would cut it short.
const pullJobTimeout = 6 * time.Hour

type pullWorker struct {
	river.WorkerDefaults[pullJobArgs]
	rt *runtime
}

func (w *pullWorker) Timeout(*river.Job[pullJobArgs]) time.Duration { return pullJobTimeout }

// Work runs the pull. A run of the same connection in progress (another replica, `sync run`)
// makes it a skip, not a failure: that run pulls the same changes.
func (w *pullWorker) Work(ctx context.Context, job *river.Job[pullJobArgs]) error {
	a := job.Args
	log := w.rt.a.log.With().Str("connection", a.Connection).Int64("job_id", job.ID).Str("trigger", a.Trigger).Bool("full", a.Full).Logger()
	if a.Trigger == store.TriggerSchedule {
		// River inserts a periodic job with its tick as ScheduledAt. Claiming the tick in the
		// database runs it once even if two processes believed themselves leader for a moment
		// (a leader that lost the database while its successor was elected).
		mode := store.RunIncremental
		if a.Full {
			mode = store.RunFull
		}
		ok, err := w.rt.store.ClaimScheduleTick(ctx, a.ConnectionID, mode, job.ScheduledAt)
		if err != nil {
			return fmt.Errorf("claim schedule tick: %w", err)
		}
		if !ok {
			log.Info().Time("tick", job.ScheduledAt).Msg("scheduled pull already run for this tick")
			return nil
		}
	}
	err := w.rt.daemonPull(ctx, w.rt.dm, a.Connection, pull.Request{Full: a.Full, Trigger: a.Trigger}, 0)
	switch {
	case errors.Is(err, store.ErrLocked):
		log.Info().Msg("pull skipped: a run of this connection is in progress")
		return nil
	case err != nil:
		return fmt.Errorf("pull %s: %w", a.Connection, err)
	}
	return nil
}

// pullJobs registers the pull worker and, per connection, the schedule (incremental pulls) and
// full_schedule (reconciles) as periodic jobs: River's leader alone enqueues them, at their ticks
// in the connection's time zone.
func pullJobs(ctx context.Context, rt *runtime, w *river.Workers) ([]*river.PeriodicJob, error) {
	river.AddWorker(w, &pullWorker{rt: rt})
	entries, err := rt.scheduleEntries(ctx)
	if err != nil {
		return nil, err
	}
	var out []*river.PeriodicJob
	for _, e := range entries {
		args := pullJobArgs{Connection: e.Connection, ConnectionID: e.ConnectionID, Full: e.Full, Trigger: store.TriggerSchedule}
		out = append(out, river.NewPeriodicJob(e, func() (river.JobArgs, *river.InsertOpts) { return args, nil }, nil))
	}
	return out, nil
}
