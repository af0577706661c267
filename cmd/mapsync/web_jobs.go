package main

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

func init() { registerJobs(webSessionJobs) }

// webSessionsCleanupArgs asks for the removal of expired web console sessions.
type webSessionsCleanupArgs struct{}

func (webSessionsCleanupArgs) Kind() string { return "mapsync_web_sessions_cleanup" }

// webSessionsCleanupEvery is how often expired sessions are removed (they are refused from the
// moment they expire; this only keeps the table small).
const webSessionsCleanupEvery = time.Hour

type webSessionsCleanupWorker struct {
	river.WorkerDefaults[webSessionsCleanupArgs]
	rt *runtime
}

// Work deletes the sessions expired now.
func (w *webSessionsCleanupWorker) Work(ctx context.Context, job *river.Job[webSessionsCleanupArgs]) error {
	n, err := w.rt.store.DeleteExpiredWebSessions(ctx, time.Now())
	if err != nil {
		return err
	}
	if n > 0 {
		w.rt.a.log.Info().Int64("sessions", n).Int64("job_id", job.ID).Msg("expired web sessions removed")
	}
	return nil
}

// webSessionJobs registers the hourly removal of expired web sessions (run by the leader).
func webSessionJobs(_ context.Context, rt *runtime, w *river.Workers) ([]*river.PeriodicJob, error) {
	river.AddWorker(w, &webSessionsCleanupWorker{rt: rt})
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(webSessionsCleanupEvery),
		func() (river.JobArgs, *river.InsertOpts) { return webSessionsCleanupArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})}, nil
}
