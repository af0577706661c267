package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/instantiate"
)

// fetcher returns the webhook processing's deal fetch (inbox.Options.Fetch): the deals a
// batch of events names are read through the connector (connectors.DealFetcher: batches by id)
// with their contacts and roles, stored as a pull stores its pages (without moving any pull
// cursor), deals the CRM no longer knows are marked deleted, and the plan catch-up gives the
// deals their plans by the template rules. It runs under the connection's run lock, like a
// pull, waiting behind a run in progress: the catch-up's cursor must not pass deals a pull is
// still writing.
func (rt *runtime) fetcher(name func(int64) (string, error)) func(ctx context.Context, connectionID int64, deals []string) error {
	return func(ctx context.Context, connectionID int64, deals []string) error {
		n, err := name(connectionID)
		if err != nil {
			return err
		}
		cn, sc, err := rt.connection(ctx, n)
		if err != nil {
			return err
		}
		if sc.Status == store.ConnectionNeedsReauth {
			return fmt.Errorf("connection %s needs to be authorised again (%s): run `mapsync connections reauth %s`", cn.Name, sc.StatusReason, cn.Name)
		}
		conn, err := rt.connector(ctx, cn)
		if err != nil {
			return err
		}
		f, ok := conn.(connectors.DealFetcher)
		if !ok {
			return fmt.Errorf("connection %s: its connector cannot read deals by id", cn.Name)
		}
		l, err := rt.locker()
		if err != nil {
			return err
		}
		in, err := rt.instantiator(ctx, n)
		if err != nil {
			return err
		}
		return l.Run(ctx, sc.ID, fmt.Sprintf("webhook fetch of %d deal(s)", len(deals)), 10*time.Minute, func(ctx context.Context) error {
			readAt := rt.store.Now()
			got, err := f.FetchDeals(ctx, connectors.FetchRequest{IDs: deals, Fields: connectionFields(cn)})
			if err != nil {
				rt.countFetches(cn.Name, "failed", len(deals))
				return err
			}
			rt.countFetches(cn.Name, "fetched", len(got.Deals))
			rt.countFetches(cn.Name, "missing", len(got.Missing))
			for _, p := range []store.PullPage{
				{Object: connectors.ObjectDeal, Records: got.Deals},
				{Object: connectors.ObjectContact, Records: got.Contacts},
				{Object: connectors.ObjectDealContact, Records: got.RoleRecords, Roles: got.Roles},
			} {
				if len(p.Records) == 0 && len(p.Roles) == 0 {
					continue
				}
				p.ConnectionID, p.ReadAt = sc.ID, readAt
				if _, err := rt.store.ApplyPullPage(ctx, p); err != nil {
					return fmt.Errorf("store fetched %s: %w", p.Object, err)
				}
			}
			if len(got.Missing) > 0 {
				if _, err := rt.store.MarkDeleted(ctx, sc.ID, connectors.ObjectDeal, got.Missing); err != nil {
					return err
				}
			}
			sum, err := in.CatchUp(ctx)
			switch {
			case errors.Is(err, instantiate.ErrNoTemplates):
			case err != nil:
				return fmt.Errorf("plans: %w", err)
			}
			if rt.dm != nil {
				rt.dm.plans.WithLabelValues(cn.Name).Add(float64(sum.Created))
			}
			rt.a.log.Info().Str("connection", cn.Name).Int("deals", len(got.Deals)).Int("contacts", len(got.Contacts)).
				Int("missing", len(got.Missing)).Int("plans", sum.Created).Msg("webhook deals fetched")
			return nil
		})
	}
}

// connectionFields are the fields pulled and fetched per object: the configured extra fields,
// plus what plan instantiation reads.
func connectionFields(cn *config.Connection) map[connectors.Object][]string {
	fields := map[connectors.Object][]string{}
	for _, m := range []map[string][]string{cn.Fields, instantiate.Fields(cn.Kind)} {
		for obj, fs := range m {
			for _, f := range fs {
				if !slices.Contains(fields[connectors.Object(obj)], f) {
					fields[connectors.Object(obj)] = append(fields[connectors.Object(obj)], f)
				}
			}
		}
	}
	return fields
}

// countFetches adds n deals to mapsync_webhook_deal_fetches_total (in the daemon).
func (rt *runtime) countFetches(connection, outcome string, n int) {
	if rt.dm != nil && n > 0 {
		rt.dm.fetches.WithLabelValues(connection, outcome).Add(float64(n))
	}
}
