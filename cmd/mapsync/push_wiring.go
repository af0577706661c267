package main

import (
	"context"
	"fmt"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/mapping"
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
