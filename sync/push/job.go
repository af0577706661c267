package push

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/store"
)

// Job kinds, and the queue push jobs run in.
const (
	// JobKind is the kind of the job that pushes one connection's pending plan marks.
	JobKind = "push"
	// SweepKind is the kind of the periodic job that enqueues pushes no job covers.
	SweepKind = "push_sweep"
	// LogCleanKind is the kind of the periodic job that deletes old push_log rows.
	LogCleanKind = "push_log_clean"
)

// Defaults of JobConfig.
const (
	// DefaultWindow is the coalescing window: changes within it are pushed by one job.
	DefaultWindow = time.Second
	// DefaultSweepInterval is how often the sweep runs.
	DefaultSweepInterval = 10 * time.Second
	// DefaultLease is the engine's default lease on claimed marks (Config.Lease).
	DefaultLease = 5 * time.Minute
	// DefaultLogRetention is how long push_log rows are kept.
	DefaultLogRetention = 30 * 24 * time.Hour
	// logCleanInterval is how often old push_log rows are deleted.
	logCleanInterval = time.Hour
)

// JobArgs are a push job's arguments: the connection whose pending plan marks it pushes. Jobs
// are unique by these args within a coalescing window (InsertOpts).
type JobArgs struct {
	Connection string `json:"connection"`
}

// Kind implements river.JobArgs.
func (JobArgs) Kind() string { return JobKind }

// InsertOpts returns the options of a push job inserted at now with coalescing window w: it is
// scheduled at the end of now's window (now truncated to w, plus w) and unique by its args in
// that window in every state but cancelled and discarded, so every change of a connection within
// one window is one job, run once the window has passed. Windows are aligned on the clock, so
// every process (and every replica) puts a change in the same window.
func InsertOpts(now time.Time, w time.Duration) *river.InsertOpts {
	if w <= 0 {
		w = DefaultWindow
	}
	return &river.InsertOpts{
		ScheduledAt: now.Truncate(w).Add(w),
		UniqueOpts:  river.UniqueOpts{ByArgs: true, ByPeriod: w},
	}
}

// TxInserter inserts a job in a store transaction (*jobs.Client).
type TxInserter interface {
	InsertTx(ctx context.Context, tx *sqlx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// EnqueueHook returns the store.MarkHook that inserts, inside the plan write's transaction, one
// push job per connection of the marks (InsertOpts with window w; now nil means time.Now). The
// job commits exactly when the plan change does; a job of the same window already there is left
// as is (River's unique insert), so a burst of changes is one push.
func EnqueueHook(ins TxInserter, w time.Duration, now func() time.Time) store.MarkHook {
	return EnqueueHookFor(func(context.Context) (TxInserter, error) { return ins, nil }, w, now, nil)
}

// EnqueueHookFor is EnqueueHook with the inserter looked up when the hook runs (a process may
// build its client after installing the hook, or only when a plan is first written), and only
// for connections that push (pushes nil: all).
func EnqueueHookFor(inserter func(context.Context) (TxInserter, error), w time.Duration, now func() time.Time, pushes func(string) bool) store.MarkHook {
	if now == nil {
		now = time.Now
	}
	return func(ctx context.Context, tx *sqlx.Tx, marks []store.PlanMark) error {
		var conns []string
		for _, m := range marks {
			if pushes != nil && !pushes(m.Connection) {
				continue
			}
			if !slices.Contains(conns, m.Connection) {
				conns = append(conns, m.Connection)
			}
		}
		if len(conns) == 0 {
			return nil
		}
		ins, err := inserter(ctx)
		if err != nil {
			return fmt.Errorf("enqueue push: %w", err)
		}
		t := now()
		for _, c := range conns {
			if _, err := ins.InsertTx(ctx, tx, JobArgs{Connection: c}, InsertOpts(t, w)); err != nil {
				return fmt.Errorf("enqueue push of %s: %w", c, err)
			}
		}
		return nil
	}
}

// Engine pushes a connection's pending plan marks (*Pusher).
type Engine interface {
	Push(ctx context.Context, connection string, opts Options) (Summary, error)
}

// JobWorker runs push jobs: one Engine.Push of the job's connection. A connection that needs
// to be authorised again cancels its job (the connection stops; others go on; its marks stay
// pending until `mapsync connections reauth` and the next change or sweep); any other error
// fails the attempt and River retries it with backoff.
type JobWorker struct {
	river.WorkerDefaults[JobArgs]
	engine  Engine
	log     zerolog.Logger
	metrics *JobMetrics
}

// NewJobWorker returns the worker of push jobs. metrics may be nil.
func NewJobWorker(engine Engine, metrics *JobMetrics, log zerolog.Logger) *JobWorker {
	return &JobWorker{engine: engine, log: log, metrics: metrics}
}

// Work implements river.Worker.
func (w *JobWorker) Work(ctx context.Context, job *river.Job[JobArgs]) error {
	start := time.Now()
	conn := job.Args.Connection
	sum, err := w.engine.Push(ctx, conn, Options{JobID: job.ID})
	took := time.Since(start)
	outcome := "succeeded"
	switch {
	case errors.Is(err, ErrNeedsReauth):
		outcome = "needs_reauth"
	case err != nil:
		outcome = "failed"
	}
	w.metrics.observe(conn, outcome)
	// The engine logs a push that succeeded (with its counts); a failed one is logged here,
	// once, with what River does next.
	switch outcome {
	case "needs_reauth":
		w.log.Warn().Err(err).Str("connection", conn).Int64("job_id", job.ID).Int("attempt", job.Attempt).
			Dur("took", took.Round(time.Millisecond)).Msg("push job cancelled: the connection needs to be authorised again")
	case "failed":
		w.log.Warn().Err(err).Str("connection", conn).Int64("job_id", job.ID).Int("attempt", job.Attempt).Int("max_attempts", job.MaxAttempts).
			Int("written", sum.Written).Int("failed", sum.Failed).Dur("took", took.Round(time.Millisecond)).Msg("push job failed; River retries it with backoff")
	}
	switch outcome {
	case "needs_reauth":
		return river.JobCancel(err)
	case "failed":
		return err
	}
	return nil
}

// SweepArgs are the arguments of the periodic sweep.
type SweepArgs struct{}

// Kind implements river.JobArgs.
func (SweepArgs) Kind() string { return SweepKind }

// SweepStore is what the sweep reads (*store.Store).
type SweepStore interface {
	ClaimablePushConnections(ctx context.Context) ([]string, error)
}

// SweepWorker enqueues a push for every connection with plan marks nobody holds and no push
// job waiting to run (available, scheduled, retryable or pending) or running for less than the
// marks' lease: marks written by a process that had no enqueue hook (a CLI command without a job
// client), and marks a killed push held until their lease expired (its job stays "running" in
// River's table, but is older than the lease by then). A connection whose job waits for a retry
// is left to that retry, so the sweep never shortens River's backoff.
type SweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	store  SweepStore
	window time.Duration
	lease  time.Duration
	pushes func(string) bool
	log    zerolog.Logger
}

// NewSweepWorker returns the sweep's worker; window is the push jobs' coalescing window, lease
// the engine's lease on claimed marks (a push job running longer is taken for dead), pushes
// says which connections push (nil: all).
func NewSweepWorker(s SweepStore, window, lease time.Duration, pushes func(string) bool, log zerolog.Logger) *SweepWorker {
	return &SweepWorker{store: s, window: window, lease: lease, pushes: pushes, log: log}
}

// Work implements river.Worker.
func (w *SweepWorker) Work(ctx context.Context, job *river.Job[SweepArgs]) error {
	conns, err := w.store.ClaimablePushConnections(ctx)
	if err != nil || len(conns) == 0 {
		return err
	}
	client, err := river.ClientFromContextSafely[*sql.Tx](ctx)
	if err != nil {
		return fmt.Errorf("push sweep: %w", err)
	}
	waiting, err := WaitingPushes(ctx, client, time.Now().Add(-w.lease))
	if err != nil {
		return err
	}
	for _, c := range conns {
		if waiting[c] || (w.pushes != nil && !w.pushes(c)) {
			continue
		}
		res, err := client.Insert(ctx, JobArgs{Connection: c}, InsertOpts(time.Now(), w.window))
		if err != nil {
			return fmt.Errorf("push sweep: enqueue push of %s: %w", c, err)
		}
		if !res.UniqueSkippedAsDuplicate {
			w.log.Info().Str("connection", c).Int64("job_id", res.Job.ID).Int64("sweep_job_id", job.ID).Msg("push sweep enqueued a push for pending plan changes no job covered")
		}
	}
	return nil
}

// WaitingPushes returns the connections that have a push job waiting to run (available,
// scheduled, retryable or pending) or running since runningSince or later (an older running job
// may belong to a process that died).
func WaitingPushes(ctx context.Context, client *river.Client[*sql.Tx], runningSince time.Time) (map[string]bool, error) {
	out := map[string]bool{}
	params := river.NewJobListParams().Kinds(JobKind).First(1000).
		States(rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable, rivertype.JobStatePending, rivertype.JobStateRunning)
	for {
		res, err := client.JobList(ctx, params)
		if err != nil {
			return nil, fmt.Errorf("list waiting push jobs: %w", err)
		}
		for _, j := range res.Jobs {
			if j.State == rivertype.JobStateRunning && (j.AttemptedAt == nil || j.AttemptedAt.Before(runningSince)) {
				continue
			}
			var a JobArgs
			if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
				return nil, fmt.Errorf("push job %d: %w", j.ID, err)
			}
			out[a.Connection] = true
		}
		if len(res.Jobs) < 1000 || res.LastCursor == nil {
			return out, nil
		}
		params = params.After(res.LastCursor)
	}
}

// LogCleanArgs are the arguments of the periodic push_log cleaner.
type LogCleanArgs struct{}

// Kind implements river.JobArgs.
func (LogCleanArgs) Kind() string { return LogCleanKind }

// LogStore is what the cleaner deletes from (*store.Store).
type LogStore interface {
	DeletePushLog(ctx context.Context, before time.Time, limit int) (int64, error)
}

// LogCleanWorker deletes push_log rows older than the retention, in bounded batches.
type LogCleanWorker struct {
	river.WorkerDefaults[LogCleanArgs]
	store     LogStore
	retention time.Duration
	log       zerolog.Logger
}

// NewLogCleanWorker returns the cleaner's worker.
func NewLogCleanWorker(s LogStore, retention time.Duration, log zerolog.Logger) *LogCleanWorker {
	return &LogCleanWorker{store: s, retention: retention, log: log}
}

// Work implements river.Worker.
func (w *LogCleanWorker) Work(ctx context.Context, job *river.Job[LogCleanArgs]) error {
	const batch = 10_000
	before := time.Now().Add(-w.retention)
	var total int64
	for {
		n, err := w.store.DeletePushLog(ctx, before, batch)
		total += n
		if err != nil {
			return err
		}
		if n < batch {
			break
		}
	}
	if total > 0 {
		w.log.Info().Int64("job_id", job.ID).Int64("deleted", total).Time("before", before).Msg("push log rows past their retention deleted")
	}
	return nil
}
