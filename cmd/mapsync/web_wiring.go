package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/scheduler"
	"github.com/mapsync/mapsync/server"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/instantiate"
	"github.com/mapsync/mapsync/sync/pull"
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

var _ web.Console = consoleSource{}

func (c consoleSource) Connections(ctx context.Context) ([]scheduler.ConnectionStatus, error) {
	return c.rt.status(ctx)
}

// StartPull asks for a pull with its plan catch-up as a manual run. Under serve it inserts the
// River pull job the schedules and webhooks use (one per connection, mode and trigger waiting or
// running); without a River client it runs pullOnce (run lock, pull, instantiate) as `sync run`
// does. It returns an early failure (locked, needs reauth, unknown connection) or nil once the
// run is asked for or under way.
func (c consoleSource) StartPull(ctx context.Context, connection string, full bool) error {
	if _, _, err := c.rt.connection(ctx, connection); err != nil {
		return err
	}
	if c.rt.jobs != nil { // serve: the pull job the schedules and webhooks use (pull_jobs.go)
		res, err := c.rt.jobs.Insert(ctx, pullJobArgs{Connection: connection, Full: full, Trigger: store.TriggerManual}, nil)
		if err != nil {
			return err
		}
		if res.UniqueSkippedAsDuplicate {
			return fmt.Errorf("a manual pull of %s is already queued or running: %w", connection, store.ErrLocked)
		}
		return nil
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
		return err
	case <-started:
	case <-t.C: // still starting (waiting on the CRM): it shows under Runs
	}
	mu.Lock()
	defer mu.Unlock()
	waiting = false
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// console puts the web console next to the API handler h: the pages under web.Paths, the API
// everywhere else. ctx bounds the pulls the console starts.
func (rt *runtime) console(ctx context.Context, h *server.Server, now func() time.Time) (http.Handler, error) {
	ui, err := web.New(web.Options{
		Store: rt.store, Service: h.Service(), Plans: h, Logger: rt.a.log, Now: now, PublicURL: rt.cfg.Server.PublicURL,
		Console: consoleSource{rt: rt, work: ctx, wg: &sync.WaitGroup{}},
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
