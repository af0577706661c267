package main

import (
	"context"
	"errors"
	"time"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/sync/instantiate"
)

// dealSource is the server's DealSource over the configured connections: a deal as
// sync/instantiate reads it from the store, with its connection's time zone.
type dealSource struct{ rt *runtime }

// Deal implements server.DealSource.
func (d dealSource) Deal(ctx context.Context, connection, dealID string) (plans.Deal, *time.Location, error) {
	cn, ok := d.rt.cfg.Connection(connection)
	if !ok {
		return plans.Deal{}, nil, &plans.NotFoundError{Kind: "connection", ID: connection}
	}
	loc, err := time.LoadLocation(cn.TimeZone)
	if err != nil {
		return plans.Deal{}, nil, err
	}
	in, err := d.rt.instantiator(ctx, connection)
	if err != nil {
		return plans.Deal{}, nil, err
	}
	deal, err := in.Deal(ctx, dealID)
	if errors.Is(err, plans.ErrNotFound) {
		return plans.Deal{}, nil, &plans.NotFoundError{Kind: "deal", ID: dealID}
	}
	return deal, loc, err
}

// Deals implements server.DealSource.
func (d dealSource) Deals(ctx context.Context, connection string, q instantiate.ListQuery) ([]instantiate.Listing, string, error) {
	if _, ok := d.rt.cfg.Connection(connection); !ok {
		return nil, "", &plans.NotFoundError{Kind: "connection", ID: connection}
	}
	cn, sc, err := d.rt.connection(ctx, connection)
	if err != nil {
		return nil, "", err
	}
	return instantiate.List(ctx, d.rt.store, cn.Name, sc.ID, cn.Kind, q)
}
