package main

import (
	"context"
	"strings"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/server"
	"github.com/mapsync/mapsync/store"
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
