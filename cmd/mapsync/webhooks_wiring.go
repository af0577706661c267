package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/internal/jobs"
	"github.com/mapsync/mapsync/server"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/inbox"
	"github.com/mapsync/mapsync/sync/pull"
)

// webhooks builds the webhook receivers of every configured connection; onStored runs in the
// transaction that stores new events (their processing is enqueued there), stored after it.
func (rt *runtime) webhooks(ctx context.Context, onStored store.OnWebhookEventsStored, stored func([]int64)) (*server.Webhooks, error) {
	conns, err := rt.webhookConnections(ctx)
	if err != nil {
		return nil, err
	}
	return server.NewWebhooks(server.WebhookOptions{
		Store: rt.store, Connections: conns, PublicURL: strings.TrimRight(rt.cfg.Server.PublicURL, "/"),
		OnStored: onStored, Stored: stored, Registerer: rt.reg, Logger: rt.a.log,
	})
}

// webhookConnections are the webhook settings of every configured connection.
func (rt *runtime) webhookConnections(ctx context.Context) ([]server.WebhookConnection, error) {
	var conns []server.WebhookConnection
	for i := range rt.cfg.Connections {
		cn := &rt.cfg.Connections[i]
		sc, err := rt.store.EnsureConnection(ctx, cn.Name, cn.Kind)
		if err != nil {
			return nil, err
		}
		wc := server.WebhookConnection{Name: cn.Name, ID: sc.ID, Kind: cn.Kind,
			OrganizationID: cn.Webhooks.OrganizationID, Tolerance: cn.Webhooks.Tolerance.D()}
		if cn.Kind == config.KindHubSpot {
			wc.ClientSecret = cn.Webhooks.ClientSecret.Reveal()
		}
		for _, s := range cn.Webhooks.Secrets {
			key, err := config.DecodeWebhookSecret(s.Reveal())
			if err != nil {
				return nil, err // validated at load: not reached
			}
			wc.Keys = append(wc.Keys, key)
		}
		conns = append(conns, wc)
	}
	return conns, nil
}

func init() { registerJobs(webhookJobs) }

// webhookJobArgs asks for the processing of stored webhook events: one job per group commit of
// the receivers (the new events of every request committed together, at most 1,000), inserted in
// the transaction that stored them, so an acknowledged event always has its job. A job names its events rather than its connection: a per-connection unique job
// could not take events stored while it runs (River's uniqueness always covers running jobs),
// and they would wait for the next event.
type webhookJobArgs struct {
	Events []int64 `json:"events"`
}

func (webhookJobArgs) Kind() string { return "mapsync_webhook_events" }

// webhookMaxAttempts is how many times a webhook job runs before River discards it and its
// events become dead letters; webhookBackoff the pause before attempt n+1 after n failed
// (1 s doubling, at most 5 min: 8 attempts span about 2 minutes). Variables for tests.
var (
	webhookMaxAttempts = 8
	webhookBackoff     = func(attempt int) time.Duration { return min(time.Second<<min(max(attempt-1, 0), 20), 5*time.Minute) }
)

type webhookWorker struct {
	river.WorkerDefaults[webhookJobArgs]
	proc *inbox.Processor
}

// NextRetry replaces River's default backoff (attempt^4 seconds) with webhookBackoff.
func (w *webhookWorker) NextRetry(job *river.Job[webhookJobArgs]) time.Time {
	return time.Now().Add(webhookBackoff(job.Attempt))
}

// Work processes the job's events still pending. A failure is returned for River to retry;
// on the last attempt the events are made dead letters first, and River discards the job.
func (w *webhookWorker) Work(ctx context.Context, job *river.Job[webhookJobArgs]) error {
	_, err := w.proc.Process(ctx, job.Args.Events, job.Attempt >= job.MaxAttempts)
	return err
}

// webhookJobs registers the webhook worker: deletions and merges are marked at once, the deals
// events name are fetched with their contacts and roles and get their plans, other events pull.
func webhookJobs(ctx context.Context, rt *runtime, w *river.Workers) ([]*river.PeriodicJob, error) {
	names := map[int64]string{}
	for i := range rt.cfg.Connections {
		_, sc, err := rt.connection(ctx, rt.cfg.Connections[i].Name)
		if err != nil {
			return nil, err
		}
		names[sc.ID] = sc.Name
	}
	name := func(id int64) (string, error) {
		n, ok := names[id]
		if !ok {
			return "", fmt.Errorf("connection %d is not in the configuration", id)
		}
		return n, nil
	}
	proc, err := inbox.New(inbox.Options{
		Store: rt.store, Registerer: rt.reg, Logger: rt.a.log,
		Pull: func(ctx context.Context, id int64) error {
			n, err := name(id)
			if err != nil {
				return err
			}
			// Behind a run in progress (a schedule, another replica), then pull what it missed.
			return rt.daemonPull(ctx, rt.dm, n, pull.Request{Trigger: store.TriggerWebhook}, 10*time.Minute)
		},
		Fetch:        rt.fetcher(name),
		ContactDeals: rt.store.ContactDeals,
	})
	if err != nil {
		return nil, err
	}
	river.AddWorker(w, &webhookWorker{proc: proc})
	river.AddWorker(w, &webhookSweepWorker{rt: rt})
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(webhookSweepEvery),
		func() (river.JobArgs, *river.InsertOpts) { return webhookSweepArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})}, nil
}

// enqueueWebhookEvents is the store hook (OnWebhookEventsStored) that inserts the processing
// job of newly stored (or retried) events in the transaction that stored them.
func enqueueWebhookEvents(jc *jobs.Client) store.OnWebhookEventsStored {
	return func(ctx context.Context, tx *sql.Tx, ids []int64) error {
		if jc == nil {
			return errors.New("webhook events cannot be enqueued: no job client in this process")
		}
		_, err := jc.InsertSQLTx(ctx, tx, webhookJobArgs{Events: ids}, &river.InsertOpts{MaxAttempts: webhookMaxAttempts})
		return err
	}
}

// webhookSweepArgs is the leader's periodic sweep (at start and every webhookSweepEvery): events
// still pending webhookSweepAge after they were received get a new job. Every event gets its job
// in the transaction that stores it, and a job's attempts end within about 2 minutes; an event
// pending longer has lost its job (stored by a version before River, or its job deleted by
// hand). Processing skips events no longer pending, so a second job for an event is harmless.
type webhookSweepArgs struct{}

func (webhookSweepArgs) Kind() string { return "mapsync_webhook_sweep" }

// Sweep timing; variables for tests.
var (
	webhookSweepEvery = 5 * time.Minute
	webhookSweepAge   = 10 * time.Minute
)

type webhookSweepWorker struct {
	river.WorkerDefaults[webhookSweepArgs]
	rt *runtime
}

func (w *webhookSweepWorker) Work(ctx context.Context, job *river.Job[webhookSweepArgs]) error {
	evs, err := w.rt.store.WebhookEvents(ctx, store.WebhookEventFilter{Statuses: []string{store.WebhookPending}, Limit: 1000})
	if err != nil {
		return err
	}
	cutoff := w.rt.store.Now().Add(-webhookSweepAge)
	byConn := map[int64][]int64{}
	for _, e := range evs {
		if !e.ReceivedAt.After(cutoff) {
			byConn[e.ConnectionID] = append(byConn[e.ConnectionID], e.ID)
		}
	}
	for conn, ids := range byConn {
		for len(ids) > 0 {
			k := min(len(ids), inbox.MaxHubSpotEvents)
			if _, err := w.rt.jobs.Insert(ctx, webhookJobArgs{Events: ids[:k]}, &river.InsertOpts{MaxAttempts: webhookMaxAttempts}); err != nil {
				return err
			}
			w.rt.a.log.Warn().Int64("connection_id", conn).Int("events", k).Int64("job_id", job.ID).Msg("webhook events pending without a job: enqueued again")
			ids = ids[k:]
		}
	}
	return nil
}
