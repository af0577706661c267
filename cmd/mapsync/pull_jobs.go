package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/pull"
)

func init() { registerJobs(pullJobs) }

// pullJobArgs asks for one pull of a connection, with its plan catch-up, under the
// connection's run lock.
type pullJobArgs struct {
	Connection string `json:"connection"`
	Full       bool   `json:"full,omitempty"`
	Trigger    string `json:"trigger"`
}

func (pullJobArgs) Kind() string { return "mapsync_pull" }

// InsertOpts: one attempt (a failed pull is recorded as a failed run, and the next tick pulls
// again); one such job per connection, mode and trigger waiting or running at a time.
func (pullJobArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled}}}
}

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

// pullJobs registers the pull worker.
func pullJobs(_ context.Context, rt *runtime, w *river.Workers) ([]*river.PeriodicJob, error) {
	river.AddWorker(w, &pullWorker{rt: rt})
	return nil, nil
}
