package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/mapping"
	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/server"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/push"
)

// pushParts is the process's push pipeline: one Pusher (and its describe cache and metrics)
// shared by the CLI and serve.
type pushParts struct {
	pusher   *push.Pusher
	describe *connectors.DescribeCache
}

// pusher returns the process's Pusher, built once: connections resolve from the configuration
// (mapping compiled at load, a connector per push with the connection's shared governor and
// token source over the store), field metadata through one DescribeCache over the store's
// field_meta table, metrics in the runtime's registry.
func (rt *runtime) pusher(ctx context.Context) (*push.Pusher, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.push != nil {
		return rt.push.pusher, nil
	}
	metrics, err := push.NewMetrics(rt.reg)
	if err != nil {
		return nil, err
	}
	describe := connectors.NewDescribeCache(rt.store, connectors.DefaultMetaTTL, nil)
	p, err := push.New(push.Config{
		Store:     rt.store,
		Describe:  describe,
		PublicURL: rt.cfg.Server.PublicURL,
		Metrics:   metrics,
		Logger:    rt.a.log,
		Resolve:   rt.pushTarget,
		Lease:     rt.cfg.Push.Lease.D(), // push.lease: a killed push is taken up after it
	})
	if err != nil {
		return nil, err
	}
	rt.push = &pushParts{pusher: p, describe: describe}
	return p, nil
}

// pushTarget resolves a configured connection for a push. The connector is built per push
// (cheap: its token source reads the store), so a connection authorised again after
// needs_reauth is used with its new grant at once.
func (rt *runtime) pushTarget(ctx context.Context, name string) (*push.Target, error) {
	cn, sc, err := rt.connection(ctx, name)
	if err != nil {
		return nil, err
	}
	if cn.Push == nil {
		return nil, fmt.Errorf("connection %s has no push mapping (connections[].push in the configuration)", name)
	}
	m, err := mapping.Compile(*cn.Push)
	if err != nil {
		return nil, fmt.Errorf("connection %s: push mapping: %w (run mapsync mappings validate --connection %s)", name, err, name)
	}
	conn, err := rt.connector(ctx, cn)
	if err != nil {
		return nil, err
	}
	batch := 100 // HubSpot batch update
	if cn.Kind == config.KindSalesforce {
		batch = 200 // sObject collections
	}
	return &push.Target{
		Name: cn.Name, ConnectionID: sc.ID, Connector: conn, Mapping: m, BatchSize: batch,
		Calls: func() int64 { n, _ := rt.calls(cn.Name); return n },
	}, nil
}

// remarkOnPull returns the pull's OnStored callback for a connection with a push mapping: the
// plans of pulled deals whose mapped values changed are marked for a push (our own writes
// coming back mark nothing; see push.Pusher.RemarkChanged). nil for a connection without one.
func (rt *runtime) remarkOnPull(cn *config.Connection) func(context.Context, connectors.Object, []connectors.Record) error {
	if cn.Push == nil {
		return nil
	}
	return func(ctx context.Context, object connectors.Object, recs []connectors.Record) error {
		if object != connectors.ObjectDeal {
			return nil
		}
		p, err := rt.pusher(ctx)
		if err != nil {
			return err
		}
		n, err := p.RemarkChanged(ctx, cn.Name, recs)
		if n > 0 {
			rt.a.log.Debug().Str("connection", cn.Name).Int("deals", n).Msg("pulled deal changes marked for a push")
		}
		return err
	}
}

// pushAPI answers the server's push routes (server.PushSource) over the store and the
// process's Pusher.
type pushAPI struct{ rt *runtime }

var _ server.PushSource = pushAPI{}

// knownConnection turns "no such connection" into the server's not-found error.
func (p pushAPI) knownConnection(name string) error {
	if name == "" {
		return nil
	}
	if _, ok := p.rt.cfg.Connection(name); !ok {
		return &plans.NotFoundError{Kind: "connection", ID: name}
	}
	return nil
}

func (p pushAPI) DeadLetters(ctx context.Context, connection string, limit int) ([]store.DeadLetter, error) {
	if err := p.knownConnection(connection); err != nil {
		return nil, err
	}
	return p.rt.store.DeadLetters(ctx, connection, limit)
}

func (p pushAPI) RetryDeadLetters(ctx context.Context, connection string, dealIDs []string) (int, error) {
	if err := p.knownConnection(connection); err != nil {
		return 0, err
	}
	_, n, err := p.rt.retryDeadLetters(ctx, connection, dealIDs)
	var missing *missingDeadLetters
	if errors.As(err, &missing) {
		return 0, &plans.NotFoundError{Kind: "dead_letter", ID: missing.ids[0]}
	}
	return n, err
}

func (p pushAPI) PushLog(ctx context.Context, connection, dealID string, limit int) ([]store.PushLogEntry, error) {
	if err := p.knownConnection(connection); err != nil {
		return nil, err
	}
	return p.rt.store.PushLog(ctx, connection, dealID, limit)
}

func (p pushAPI) DryRun(ctx context.Context, connection string) (push.Summary, error) {
	cn, ok := p.rt.cfg.Connection(connection)
	if !ok {
		return push.Summary{}, &plans.NotFoundError{Kind: "connection", ID: connection}
	}
	if cn.Push == nil {
		return push.Summary{}, fmt.Errorf("connection %s has no push mapping: %w", connection, plans.ErrInvalid)
	}
	pu, err := p.rt.pusher(ctx)
	if err != nil {
		return push.Summary{}, err
	}
	return pu.Push(ctx, connection, push.Options{DryRun: true})
}
