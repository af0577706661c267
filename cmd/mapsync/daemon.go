package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/scheduler"
	"github.com/mapsync/mapsync/server"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/pull"
)

// daemonMetrics are the figures of the daemon's own work.
type daemonMetrics struct {
	plans   *prometheus.CounterVec
	runs    *prometheus.CounterVec
	fetches *prometheus.CounterVec
}

func newDaemonMetrics(reg prometheus.Registerer) (*daemonMetrics, error) {
	m := &daemonMetrics{
		plans: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mapsync_plans_instantiated_total",
			Help: "Plans created by the catch-up after pulls, by connection."}, []string{"connection"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mapsync_daemon_runs_total",
			Help: "Pulls the daemon started, by connection, trigger (schedule, webhook) and outcome (succeeded, failed, skipped)."},
			[]string{"connection", "trigger", "outcome"}),
	}
	m.fetches = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mapsync_webhook_deal_fetches_total",
		Help: "Deals webhooks had fetched by id, by connection and outcome (fetched, missing: the CRM no longer knows it, failed)."},
		[]string{"connection", "outcome"})
	for _, c := range []prometheus.Collector{m.plans, m.runs, m.fetches} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// daemonPull runs one pull with its catch-up for the daemon and counts it.
func (rt *runtime) daemonPull(ctx context.Context, m *daemonMetrics, name string, req pull.Request, wait time.Duration) error {
	out, err := rt.pullOnce(ctx, name, req, wait, nil)
	outcome := "succeeded"
	switch {
	case errors.Is(err, store.ErrLocked):
		outcome = "skipped"
	case err != nil:
		outcome = "failed"
	}
	m.runs.WithLabelValues(name, req.Trigger, outcome).Inc()
	if out != nil && out.Plans != nil {
		m.plans.WithLabelValues(name).Add(float64(out.Plans.Created))
	}
	return err
}

// scheduleEntries are the configured schedules of every connection.
func (rt *runtime) scheduleEntries(ctx context.Context) ([]scheduler.Entry, error) {
	var out []scheduler.Entry
	for i := range rt.cfg.Connections {
		cn := &rt.cfg.Connections[i]
		_, sc, err := rt.connection(ctx, cn.Name)
		if err != nil {
			return nil, err
		}
		loc, err := time.LoadLocation(cn.TimeZone)
		if err != nil {
			return nil, err
		}
		for _, s := range []struct {
			expr *string
			full bool
		}{{cn.Schedule, false}, {cn.FullSchedule, true}} {
			if s.expr == nil || *s.expr == "" {
				continue
			}
			sched, err := config.CronParser.Parse(*s.expr)
			if err != nil {
				return nil, fmt.Errorf("connection %s schedule %q: %w", cn.Name, *s.expr, err)
			}
			out = append(out, scheduler.NewEntry(cn.Name, sc.ID, s.full, sched, loc))
		}
	}
	return out, nil
}

// daemon runs `mapsync serve` (and `demo --serve`) on ln: the HTTP server (API, webhook
// receivers, metrics) and River, which works the registered job kinds (jobs_wiring.go: webhook
// events, pulls, and what other files register) and, in the process River elects leader, runs
// the schedules as periodic jobs. It runs until ctx ends, then stops HTTP first (no request
// inserts a job any more), then River within grace: jobs cut short are run again by River, on
// this process's next start or another replica (pulls resume from their last committed page).
func (rt *runtime) daemon(ctx context.Context, ln net.Listener, grace time.Duration, ready func(net.Addr)) error {
	a := rt.a
	m, err := newDaemonMetrics(rt.reg)
	if err != nil {
		return err
	}
	rt.dm = m
	entries, err := rt.scheduleEntries(ctx)
	if err != nil {
		return err
	}
	// Queue depth and dead letters, read at each scrape (a bounded query); schedule entries.
	webhookGauge := func(status string) func() float64 {
		return func() float64 {
			qctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			n, err := rt.store.CountWebhookEvents(qctx, 0)
			if err != nil {
				return -1
			}
			return float64(n[status])
		}
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mapsync_webhook_queue_depth", Help: "Webhook events stored and not yet processed (-1: the database did not answer)."}, webhookGauge(store.WebhookPending)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mapsync_webhook_dead_letters", Help: "Webhook events whose job failed its last attempt (River discarded it)."}, webhookGauge(store.WebhookDead)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mapsync_schedule_entries", Help: "Configured schedules (periodic jobs; only River's leader runs them)."}, func() float64 { return float64(len(entries)) }),
	} {
		if err := rt.reg.Register(c); err != nil {
			return err
		}
	}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	jc, err := rt.newJobs(ctx, grace)
	if err != nil {
		return err
	}
	hooks, err := rt.webhooks(ctx, enqueueWebhookEvents(jc), nil)
	if err != nil {
		return err
	}
	h, err := server.New(rt.withInvitations(server.Options{Store: rt.store, Logger: a.log, Registerer: rt.reg, Gatherer: rt.reg, Deals: dealSource{rt}, Webhooks: hooks, Admin: adminSource{rt}, Push: pushAPI{rt}}))
	if err != nil {
		return err
	}
	pages, err := rt.console(workCtx, h, nil) // the web console next to the API (web_wiring.go)
	if err != nil {
		return err
	}
	if err := jc.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	a.log.Info().Int("schedules", len(entries)).Int("connections", len(rt.cfg.Connections)).Msg("daemon started")

	httpErr := a.serveListener(ctx, ln, pages, ready) // returns once ctx ends and HTTP has shut down
	rt.stopJobs(ctx, jc, grace)
	stopWork() // what the console started in the background (web_wiring.go) is cancelled now
	a.log.Info().Msg("daemon stopped")
	return httpErr
}

// migrateFirst applies pending migrations (serve --migrate).
func (a *app) migrateFirst(ctx context.Context) error {
	s, err := a.openStore(ctx, false)
	if err != nil {
		return err
	}
	defer s.Close()
	_, err = s.MigrateUp(ctx)
	return err
}
