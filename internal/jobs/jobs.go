package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/store"
)

// Defaults of Config.
const (
	// DefaultFetchPollInterval is how often an idle client looks for new jobs.
	DefaultFetchPollInterval = 100 * time.Millisecond
	// DefaultMaxWorkers is how many jobs of the default queue run at once in one process.
	DefaultMaxWorkers = 10
	// DefaultStopTimeout is how long Stop waits for running jobs before cancelling them.
	DefaultStopTimeout = 30 * time.Second
	// DefaultJobTimeout is how long one job may run before its context is cancelled.
	DefaultJobTimeout = 10 * time.Minute
)

// soonWindow is how far ahead a job may be scheduled and still be inserted as available (with
// its scheduled time), because River's scheduler promotes scheduled jobs only this often.
const soonWindow = 5 * time.Second

// Config configures New.
type Config struct {
	// Workers holds the workers of every job kind this process works or inserts. Nil makes an
	// insert-only client (Start then fails).
	Workers *river.Workers
	// Queues maps queue names to their settings. Default: river.QueueDefault with
	// DefaultMaxWorkers workers.
	Queues map[string]river.QueueConfig
	// PeriodicJobs run on their schedules, by the elected leader only.
	PeriodicJobs []*river.PeriodicJob
	// FetchPollInterval is how often an idle client looks for new jobs: the bound on the delay
	// from an insert to its work. Default DefaultFetchPollInterval.
	FetchPollInterval time.Duration
	// JobTimeout cancels a job's context after this long. Default DefaultJobTimeout; -1 never.
	JobTimeout time.Duration
	// StopTimeout is how long Stop waits for running jobs to finish before it cancels them.
	// Default DefaultStopTimeout.
	StopTimeout time.Duration
	// MaxAttempts is how many times a failing job runs before River discards it. Default 25
	// (River's default: about three weeks of backoff).
	MaxAttempts int
	// Logger receives River's warnings and errors (River's info is not passed on).
	Logger zerolog.Logger
	// TestOnly tells River it runs in a test: maintenance starts without its jittered delays.
	TestOnly bool
	// RescueStuckJobsAfter is how long a job may stay running before River's leader takes it
	// for lost (its process died) and retries or discards it. It must exceed the longest
	// timeout of any worker (Worker.Timeout). Default: River's (JobTimeout + 1 h).
	RescueStuckJobsAfter time.Duration
	// ID names this client among the processes sharing the database (River's client id, the
	// leader_id of river_leader when it leads). Default: River's, the host name and start time.
	ID string
}

// Client is a River client on a store's database.
type Client struct {
	store       *store.Store
	river       *river.Client[*sql.Tx]
	stopTimeout time.Duration
	canWork     bool
}

// NewWorkers returns an empty worker registry to pass in Config.Workers after other packages
// add theirs (river.AddWorker).
func NewWorkers() *river.Workers { return river.NewWorkers() }

// New builds a River client on s's database. On PostgreSQL River's tables are looked up in the
// schema the store's connections use (the first of their search_path).
func New(ctx context.Context, s *store.Store, cfg Config) (*Client, error) {
	rc := &river.Config{
		FetchPollInterval:    cmp.Or(cfg.FetchPollInterval, DefaultFetchPollInterval),
		FetchCooldown:        min(cmp.Or(cfg.FetchPollInterval, DefaultFetchPollInterval), river.FetchCooldownDefault),
		JobTimeout:           cmp.Or(cfg.JobTimeout, DefaultJobTimeout),
		MaxAttempts:          cfg.MaxAttempts,
		PeriodicJobs:         cfg.PeriodicJobs,
		PollOnly:             true,
		Workers:              cfg.Workers,
		Middleware:           []rivertype.Middleware{&soonAvailable{}},
		Logger:               slog.New(zerolog.NewSlogHandler(cfg.Logger.Level(max(cfg.Logger.GetLevel(), zerolog.WarnLevel)).With().Str("component", "river").Logger())),
		TestOnly:             cfg.TestOnly,
		ID:                   cfg.ID,
		RescueStuckJobsAfter: cfg.RescueStuckJobsAfter,
	}
	if cfg.Workers != nil {
		rc.Queues = cfg.Queues
		if rc.Queues == nil {
			rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: DefaultMaxWorkers}}
		}
	}
	var (
		client *river.Client[*sql.Tx]
		err    error
	)
	switch s.Dialect() {
	case store.Postgres:
		if err := s.DB().GetContext(ctx, &rc.Schema, `SELECT current_schema()`); err != nil {
			return nil, fmt.Errorf("jobs: find the schema: %w", err)
		}
		client, err = river.NewClient(riverdatabasesql.New(s.DB().DB), rc)
	default:
		client, err = river.NewClient(riversqlite.New(s.DB().DB), rc)
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &Client{store: s, river: client, stopTimeout: cmp.Or(cfg.StopTimeout, DefaultStopTimeout), canWork: cfg.Workers != nil}, nil
}

// River returns the River client, for what this package does not wrap (listing jobs,
// JobRetry, subscriptions in tests).
func (c *Client) River() *river.Client[*sql.Tx] { return c.river }

// Insert inserts one job in its own transaction.
func (c *Client) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := c.river.Insert(ctx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("insert %s job: %w", args.Kind(), err)
	}
	return res, nil
}

// InsertTx inserts one job in tx, a transaction of the store's database: the job exists if and
// only if tx commits, and no worker sees it before then. A unique job that already exists is
// not inserted again (res.UniqueSkippedAsDuplicate).
func (c *Client) InsertTx(ctx context.Context, tx *sqlx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := c.river.InsertTx(ctx, tx.Tx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("insert %s job: %w", args.Kind(), err)
	}
	return res, nil
}

// Start starts working jobs until Stop or until ctx is cancelled (which stops softly too).
func (c *Client) Start(ctx context.Context) error {
	if !c.canWork {
		return errors.New("jobs: an insert-only client (no workers) cannot start")
	}
	if err := c.river.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	return nil
}

// Stop stops fetching jobs and waits for running ones to finish, up to Config.StopTimeout (or
// ctx's deadline, if sooner); then it cancels the contexts of those still running and waits
// for them to return. A cancelled job is not lost: River retries it. Stop returns when no job
// runs anymore.
func (c *Client) Stop(ctx context.Context) error {
	soft, cancel := context.WithTimeout(ctx, c.stopTimeout)
	defer cancel()
	err := c.river.Stop(soft)
	if err == nil || (!errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled)) {
		return err
	}
	hard, cancelHard := context.WithTimeout(context.WithoutCancel(ctx), c.stopTimeout)
	defer cancelHard()
	if err := c.river.StopAndCancel(hard); err != nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	return nil
}

// soonAvailable inserts jobs scheduled at most soonWindow ahead as available at their
// scheduled time instead of scheduled: River fetches an available job only once its scheduled
// time has come, and otherwise would wait for its scheduler (every 5 s) to promote it.
type soonAvailable struct {
	river.MiddlewareDefaults
}

func (*soonAvailable) InsertMany(ctx context.Context, params []*rivertype.JobInsertParams, doInner func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	now := time.Now()
	for _, p := range params {
		if p.State == rivertype.JobStateScheduled && p.ScheduledAt != nil && p.ScheduledAt.Sub(now) <= soonWindow {
			p.State = rivertype.JobStateAvailable
		}
	}
	return doInner(ctx)
}

// InsertSQLTx is InsertTx for a *sql.Tx of the store's database (the transaction store hooks
// such as store.OnWebhookEventsStored receive).
func (c *Client) InsertSQLTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := c.river.InsertTx(ctx, tx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("insert %s job: %w", args.Kind(), err)
	}
	return res, nil
}
