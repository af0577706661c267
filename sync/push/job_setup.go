package push

import (
	"cmp"
	"time"

	"github.com/riverqueue/river"
	"github.com/rs/zerolog"
)

// JobStore is what the push jobs read and delete besides the engine's work (*store.Store).
type JobStore interface {
	SweepStore
	LogStore
}

// JobConfig configures AddJobs.
type JobConfig struct {
	// Engine pushes a connection (*Pusher).
	Engine Engine
	// Store backs the sweep and the push_log cleaner.
	Store JobStore
	// Window is the coalescing window of push jobs the sweep inserts (default DefaultWindow);
	// use the same as EnqueueHook's.
	Window time.Duration
	// SweepInterval is how often the leader sweeps (default DefaultSweepInterval).
	SweepInterval time.Duration
	// Lease is the engine's lease on claimed marks (default DefaultLease): the sweep takes a push
	// job running longer for one whose process died.
	Lease time.Duration
	// LogRetention is how long push_log rows are kept (default DefaultLogRetention).
	LogRetention time.Duration
	// Pushes says whether a connection pushes (has a push mapping); the sweep leaves the marks
	// of others alone. Nil: every connection.
	Pushes func(connection string) bool
	// Metrics, when not nil, counts jobs and records.
	Metrics *JobMetrics
	// Logger receives one line per push job and the sweep's and cleaner's actions.
	Logger zerolog.Logger
}

// AddJobs registers the push, sweep and push_log cleaner workers on workers and returns the
// periodic jobs to give River (Config.PeriodicJobs): the sweep every SweepInterval and the
// cleaner every hour, both also at the leader's start. River runs periodic jobs on the elected
// leader only, so several replicas sweep once.
func AddJobs(workers *river.Workers, cfg JobConfig) []*river.PeriodicJob {
	window := cmp.Or(cfg.Window, DefaultWindow)
	log := cfg.Logger.With().Str("component", "push").Logger()
	river.AddWorker(workers, NewJobWorker(cfg.Engine, cfg.Metrics, log))
	river.AddWorker(workers, NewSweepWorker(cfg.Store, window, cmp.Or(cfg.Lease, DefaultLease), cfg.Pushes, log))
	river.AddWorker(workers, NewLogCleanWorker(cfg.Store, cmp.Or(cfg.LogRetention, DefaultLogRetention), log))
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(cmp.Or(cfg.SweepInterval, DefaultSweepInterval)),
			func() (river.JobArgs, *river.InsertOpts) {
				// One attempt: the next sweep comes soon anyway.
				return SweepArgs{}, &river.InsertOpts{MaxAttempts: 1}
			}, &river.PeriodicJobOpts{ID: SweepKind, RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(logCleanInterval),
			func() (river.JobArgs, *river.InsertOpts) {
				return LogCleanArgs{}, &river.InsertOpts{MaxAttempts: 3}
			}, &river.PeriodicJobOpts{ID: LogCleanKind, RunOnStart: true}),
	}
}

// *Pusher is the Engine push jobs run.
var _ Engine = (*Pusher)(nil)
