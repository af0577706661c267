package main

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/mapsync/mapsync/internal/jobs"
)

// Durable background work runs on River (internal/jobs): `mapsync serve` and `mapsync demo
// --serve` start one River client per process on the store's database (PostgreSQL or SQLite),
// which works every registered job kind, and, in the one process River elects leader, runs the
// periodic jobs. Replicas on one PostgreSQL share the jobs; a job of a replica that dies is
// rescued and run again by another.
//
// # Plugging in a job kind
//
// A job kind is plugged in from its own file of this package, without editing daemon.go: a
// jobRegistrar, registered in init, adds the kind's worker to the registry and returns the
// periodic jobs it wants (nil for none):
//
//	func init() { registerJobs(pushJobs) }
//
//	func pushJobs(ctx context.Context, rt *runtime, w *river.Workers) ([]*river.PeriodicJob, error) {
//		river.AddWorker(w, &push.Worker{Store: rt.store /* ... */})
//		rt.store.OnPlansMarked(func(ctx context.Context, tx *sqlx.Tx, marks []store.PlanMark) error {
//			_, err := rt.jobs.InsertTx(ctx, tx, push.Args{ /* ... */ }, nil)
//			return err
//		})
//		return nil, nil
//	}
//
// (push_jobs_wiring.go, web_jobs.go, webhooks_wiring.go and pull_jobs.go are real ones.)
// Registrars run in registration order when the daemon starts, before its HTTP server and
// before River starts; an error stops start-up. rt.jobs, the client to insert jobs with
// (InsertTx in a store transaction, so the job exists exactly when the change that asked for
// it committed), is nil while registrars run and set right after they all did, before any
// request is served or any job worked: a hook a registrar installs reads rt.jobs when it runs,
// not when it is installed. Processes that do not serve (the CLI) have no River client:
// rt.jobs stays nil there, and hooks must then do nothing (or insert with an insert-only
// client of their own, jobs.New with nil Workers).
//
// On SIGTERM the daemon stops HTTP first, so no request inserts a job any more, then stops
// River within --shutdown-timeout: running jobs get that long to finish, after which their
// contexts are cancelled and River runs them again later (on this or another replica).
type jobRegistrar func(ctx context.Context, rt *runtime, w *river.Workers) ([]*river.PeriodicJob, error)

var (
	jobRegistrarsMu sync.Mutex
	jobRegistrars   []jobRegistrar
)

// registerJobs adds a job registrar; call it from init.
func registerJobs(r jobRegistrar) {
	jobRegistrarsMu.Lock()
	defer jobRegistrarsMu.Unlock()
	jobRegistrars = append(jobRegistrars, r)
}

// newJobs builds this process's River client: the workers and periodic jobs of every
// registrar, the queue metrics; it sets rt.jobs. The caller starts it and stops it.
func (rt *runtime) newJobs(ctx context.Context, grace time.Duration) (*jobs.Client, error) {
	workers := jobs.NewWorkers()
	var periodic []*river.PeriodicJob
	jobRegistrarsMu.Lock()
	regs := append([]jobRegistrar(nil), jobRegistrars...)
	jobRegistrarsMu.Unlock()
	for _, r := range regs {
		pj, err := r(ctx, rt, workers)
		if err != nil {
			return nil, err
		}
		periodic = append(periodic, pj...)
	}
	c, err := jobs.New(ctx, rt.store, jobs.Config{
		Workers: workers, PeriodicJobs: periodic, StopTimeout: grace,
		// A pull may run for hours (pullJobTimeout): River must not take it for lost before.
		RescueStuckJobsAfter: pullJobTimeout + time.Hour,
		Logger:               rt.a.log,
	})
	if err != nil {
		return nil, err
	}
	if err := registerJobMetrics(rt.reg, c); err != nil {
		return nil, err
	}
	rt.jobs = c
	rt.a.log.Info().Str("river_client", c.ID()).Int("periodic_jobs", len(periodic)).Msg("jobs ready")
	return c, nil
}

// registerJobMetrics registers mapsync_leader and mapsync_jobs{state,kind}, both read from the
// database at each scrape (bounded queries, 2 s at most).
func registerJobMetrics(reg prometheus.Registerer, c *jobs.Client) error {
	leader := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mapsync_leader",
		Help: "1 while this process is River's elected leader (it runs the schedules and River's maintenance), 0 otherwise, -1: the database did not answer."},
		func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			ok, err := c.IsLeader(ctx)
			switch {
			case err != nil:
				return -1
			case ok:
				return 1
			}
			return 0
		})
	if err := reg.Register(leader); err != nil {
		return err
	}
	return reg.Register(&jobsCollector{client: c, seen: map[[2]string]bool{}})
}

// jobsCollector reports the jobs by state and kind at each scrape. A state and kind seen once
// is reported as 0 when it has no job any more, so its graph falls to 0 rather than stopping.
type jobsCollector struct {
	client *jobs.Client
	mu     sync.Mutex
	seen   map[[2]string]bool
}

var jobsDesc = prometheus.NewDesc("mapsync_jobs",
	"River jobs by state (available, scheduled, running, retryable, discarded, cancelled; completed jobs are not counted) and kind, read at scrape; -1 with state=\"error\": the database did not answer.",
	[]string{"state", "kind"}, nil)

func (j *jobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- jobsDesc }

func (j *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := j.client.Counts(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, -1, "error", "")
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	now := map[[2]string]int64{}
	for _, c := range counts {
		k := [2]string{c.State, c.Kind}
		now[k] = c.N
		j.seen[k] = true
	}
	for k := range j.seen {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(now[k]), k[0], k[1])
	}
}

// stopJobs stops River within grace (see jobs.Client.Stop) and logs how it went.
func (rt *runtime) stopJobs(ctx context.Context, c *jobs.Client, grace time.Duration) {
	rt.a.log.Info().Dur("grace", grace).Msg("stopping jobs")
	start := time.Now()
	if err := c.Stop(context.WithoutCancel(ctx)); err != nil {
		rt.a.log.Error().Err(err).Msg("stopping jobs")
		return
	}
	rt.a.log.Info().Dur("took", time.Since(start)).Msg("jobs stopped")
}
