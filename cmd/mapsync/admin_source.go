package main

import (
	"context"
	"slices"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/server"
	"github.com/mapsync/mapsync/store"
)

// adminSource answers the API's admin routes over the configuration and the store.
type adminSource struct{ rt *runtime }

var _ server.AdminSource = adminSource{}

func (a adminSource) Connections(ctx context.Context) (any, error) { return a.rt.status(ctx) }

// connectionIDs resolves a connection name ("" for every configured one) to stored ids.
func (a adminSource) connectionIDs(ctx context.Context, name string) ([]int64, error) {
	var ids []int64
	for _, cn := range a.rt.cfg.Connections {
		if name != "" && cn.Name != name {
			continue
		}
		sc, err := a.rt.store.EnsureConnection(ctx, cn.Name, cn.Kind)
		if err != nil {
			return nil, err
		}
		ids = append(ids, sc.ID)
	}
	if name != "" && len(ids) == 0 {
		return nil, &plans.NotFoundError{Kind: "connection", ID: name}
	}
	return ids, nil
}

func (a adminSource) Runs(ctx context.Context, connection string, limit int) ([]store.Run, error) {
	ids, err := a.connectionIDs(ctx, connection)
	if err != nil {
		return nil, err
	}
	var out []store.Run
	for _, id := range ids {
		runs, err := a.rt.store.Runs(ctx, id, limit)
		if err != nil {
			return nil, err
		}
		out = append(out, runs...)
	}
	slices.SortFunc(out, func(x, y store.Run) int { return y.StartedAt.Compare(x.StartedAt) })
	return out[:min(len(out), limit)], nil
}

func (a adminSource) DeadLetters(ctx context.Context, connection string, limit int) ([]store.WebhookEvent, error) {
	f := store.WebhookEventFilter{Statuses: []string{store.WebhookDead}, Limit: limit}
	if connection != "" {
		ids, err := a.connectionIDs(ctx, connection)
		if err != nil {
			return nil, err
		}
		f.ConnectionID = ids[0]
	}
	return a.rt.store.WebhookEvents(ctx, f)
}

func (a adminSource) RetryDeadLetter(ctx context.Context, id int64) error {
	return a.rt.store.RetryWebhookEvent(ctx, id, enqueueWebhookEvents(a.rt.jobs))
}
