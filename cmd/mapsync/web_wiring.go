package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/mapping"
	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/scheduler"
	"github.com/mapsync/mapsync/server"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/instantiate"
	"github.com/mapsync/mapsync/sync/pull"
	"github.com/mapsync/mapsync/sync/push"
	"github.com/mapsync/mapsync/web"
)

// consoleSource answers the web console's admin pages with the calls the JSON API and the
// daemon make (adminSource, dealSource, pullOnce).
type consoleSource struct {
	rt *runtime
	// work is the context pulls started from the console run in: it ends with the process.
	work context.Context
	wg   *sync.WaitGroup
}

var (
	_ web.Console = consoleSource{}
	_ web.Pushes  = consoleSource{}
)

// known returns a *plans.NotFoundError of kind "connection" unless name is configured, so the
// pages answer a connection named in a URL with a 404 or 400, not a 500.
func (c consoleSource) known(name string) error {
	if _, ok := c.rt.cfg.Connection(name); !ok {
		return &plans.NotFoundError{Kind: "connection", ID: name}
	}
	return nil
}

func (c consoleSource) Connections(ctx context.Context) ([]scheduler.ConnectionStatus, error) {
	return c.rt.status(ctx)
}

// StartPull asks for a pull with its plan catch-up as a manual run. Under serve it inserts the
// River pull job the schedules and webhooks use (one per connection, mode and trigger waiting or
// running); without a River client it runs pullOnce (run lock, pull, instantiate) as `sync run`
// does. It returns an early failure (locked, needs reauth, unknown connection) or nil once the
// run is asked for or under way.
func (c consoleSource) StartPull(ctx context.Context, connection string, full bool) (bool, error) {
	if err := c.known(connection); err != nil {
		return false, err
	}
	if _, _, err := c.rt.connection(ctx, connection); err != nil {
		return false, err
	}
	if c.rt.jobs != nil { // serve: the pull job the schedules and webhooks use (pull_jobs.go)
		res, err := c.rt.jobs.Insert(ctx, pullJobArgs{Connection: connection, Full: full, Trigger: store.TriggerManual}, nil)
		if err != nil {
			return false, err
		}
		if res.UniqueSkippedAsDuplicate {
			return false, fmt.Errorf("a manual pull of %s is already queued or running: %w", connection, store.ErrLocked)
		}
		return true, nil
	}
	// No River client (tests that build the handler alone): run it here, as `sync run` does.
	started := make(chan struct{})
	var once sync.Once
	errc := make(chan error, 1)
	var mu sync.Mutex
	waiting := true // the error goes to the caller while it waits, else to the log: reported once
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		_, err := c.rt.pullOnce(c.work, connection, pull.Request{Full: full, Trigger: store.TriggerManual}, 0,
			func(pull.Progress) { once.Do(func() { close(started) }) })
		mu.Lock()
		defer mu.Unlock()
		if waiting {
			errc <- err
			return
		}
		if err != nil {
			c.rt.a.log.Error().Err(err).Str("connection", connection).Bool("full", full).Msg("console pull failed")
		}
	}()
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case err := <-errc:
		return false, err
	case <-started:
	case <-t.C: // still starting (waiting on the CRM): it shows under Runs
	}
	mu.Lock()
	defer mu.Unlock()
	waiting = false
	select {
	case err := <-errc:
		return false, err
	default:
		return false, nil
	}
}

// console puts the web console next to the API handler h: the pages under web.Paths, the API
// everywhere else. ctx bounds the pulls the console starts.
func (rt *runtime) console(ctx context.Context, h *server.Server, now func() time.Time) (http.Handler, error) {
	src := consoleSource{rt: rt, work: ctx, wg: &sync.WaitGroup{}}
	ui, err := web.New(web.Options{
		Store: rt.store, Service: h.Service(), Plans: h, Logger: rt.a.log, Now: now, PublicURL: rt.cfg.Server.PublicURL, Registerer: rt.reg,
		Console: src, Pushes: src,
		Inviter: h, // invitation links in the plan room, made as the API makes them
	})
	if err != nil {
		return nil, err
	}
	return web.Mount(h, ui), nil
}

func (c consoleSource) Runs(ctx context.Context, connection string, limit int) ([]store.Run, error) {
	return adminSource{c.rt}.Runs(ctx, connection, limit)
}

func (c consoleSource) ConnectionIDs(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for _, cn := range c.rt.cfg.Connections {
		_, sc, err := c.rt.connection(ctx, cn.Name)
		if err != nil {
			return nil, err
		}
		out[cn.Name] = sc.ID
	}
	return out, nil
}

func (c consoleSource) Deal(ctx context.Context, connection, dealID string) (plans.Deal, *time.Location, error) {
	return dealSource{c.rt}.Deal(ctx, connection, dealID)
}

func (c consoleSource) Deals(ctx context.Context, connection string, q instantiate.ListQuery) ([]instantiate.Listing, string, error) {
	return dealSource{c.rt}.Deals(ctx, connection, q)
}

// Mappings implements web.Pushes: the compiled push mapping of each connection with one.
func (c consoleSource) Mappings(ctx context.Context) ([]web.MappingView, error) {
	var out []web.MappingView
	for i := range c.rt.cfg.Connections {
		cn := &c.rt.cfg.Connections[i]
		if cn.Push == nil {
			continue
		}
		m, err := compiledMapping(cn)
		if err != nil {
			return nil, err
		}
		sp := m.Spec()
		out = append(out, web.MappingView{Connection: cn.Name, When: sp.When, Conflict: string(m.Conflict()), Fields: sp.Fields})
	}
	return out, nil
}

// CheckMapping implements web.Pushes as `mappings validate --refresh` checks: mapping.Check
// against the CRM's field metadata read now, and the plan references against the templates.
func (c consoleSource) CheckMapping(ctx context.Context, connection string) (mapping.Problems, time.Time, error) {
	cn, _, err := c.rt.connection(ctx, connection)
	if err != nil {
		return nil, time.Time{}, err
	}
	m, err := compiledMapping(cn)
	if err != nil {
		return nil, time.Time{}, err
	}
	meta, at, err := c.rt.fieldMeta(ctx, connection, true, connectors.DefaultMetaTTL)
	if err != nil {
		return nil, time.Time{}, err
	}
	ps := mapping.Check(m, meta)
	tps, err := c.rt.templatePlanProblems(ctx, cn)
	if err != nil {
		return nil, time.Time{}, err
	}
	return append(ps, tps...).For(connection), at, nil
}

// PreviewMapping implements web.Pushes with `mappings preview`'s evaluation.
func (c consoleSource) PreviewMapping(ctx context.Context, connection, dealID string) (*web.MappingPreview, error) {
	p, err := c.rt.previewMapping(ctx, connection, dealID, false, time.Now())
	if err != nil {
		return nil, err
	}
	out := &web.MappingPreview{Connection: p.Connection, DealID: p.DealID}
	for _, pl := range p.Plans {
		name := pl.Template
		if pl.Main {
			name += " (main)"
		}
		out.Plans = append(out.Plans, name)
	}
	for _, f := range p.Fields {
		out.Fields = append(out.Fields, web.PreviewField{Field: f.Field, Expression: f.Expression, Plan: f.Plan, Policy: f.Policy,
			Value: f.Value, CRM: f.CRM, Write: f.Write, Reason: f.Reason, Error: f.Error})
	}
	return out, nil
}

// DryRun implements web.Pushes: a push with DryRun, which sends and records nothing.
func (c consoleSource) DryRun(ctx context.Context, connection string) (push.Summary, error) {
	if _, _, err := c.rt.connection(ctx, connection); err != nil {
		return push.Summary{}, err
	}
	p, err := c.rt.pusher(ctx)
	if err != nil {
		return push.Summary{}, err
	}
	return p.Push(ctx, connection, push.Options{DryRun: true})
}

// DeadLetters implements web.Pushes.
func (c consoleSource) DeadLetters(ctx context.Context, connection string) ([]store.DeadLetter, error) {
	if connection != "" {
		if err := c.known(connection); err != nil {
			return nil, err
		}
		if _, _, err := c.rt.connection(ctx, connection); err != nil {
			return nil, err
		}
	}
	return c.rt.store.DeadLetters(ctx, connection, 1000)
}

// RetryDeadLetters implements web.Pushes as `push dead-letters retry` does: the deals' plans
// are marked for a push (MarkDealPlans, whose hook enqueues the push job under serve); under
// serve the daemon's push jobs then write them within the push window (Queued), elsewhere (no
// River client) the connections are pushed now.
func (c consoleSource) RetryDeadLetters(ctx context.Context, connection string, dealIDs []string) (web.Retry, error) {
	names, n, err := c.rt.retryDeadLetters(ctx, connection, dealIDs)
	out := web.Retry{Retried: n}
	if err != nil || len(names) == 0 {
		return out, err
	}
	if c.rt.jobs != nil {
		out.Queued = true
		return out, nil
	}
	p, err := c.rt.pusher(ctx)
	if err != nil {
		return out, err
	}
	for _, name := range names {
		sum, err := p.Push(ctx, name, push.Options{})
		if err != nil {
			return out, err
		}
		out.Pushed = append(out.Pushed, sum)
	}
	return out, nil
}

// PushLog implements web.Pushes.
func (c consoleSource) PushLog(ctx context.Context, connection, dealID string, limit int) ([]store.PushLogEntry, error) {
	if connection != "" {
		if err := c.known(connection); err != nil {
			return nil, err
		}
	}
	return c.rt.store.PushLog(ctx, connection, dealID, limit)
}
