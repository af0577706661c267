package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/mapsync/mapsync/connectors"
	hssandbox "github.com/mapsync/mapsync/sandbox/hubspot"
	"github.com/mapsync/mapsync/server"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/inbox"
	"github.com/mapsync/mapsync/sync/pull"
)

// webhooks is the demo's webhook chapter: the HubSpot sandbox sends its signed webhooks to a
// receiver served here, as to `mapsync serve`; a deal created in the CRM gets its plan, and a
// deal archived in the CRM is marked deleted, each within a moment.
func (d *demo) webhooks(ctx context.Context) error {
	const conn = "sandbox-hubspot"
	if d.sb.HubSpot == nil {
		return nil
	}
	sc, err := d.rt.store.ConnectionByName(ctx, conn)
	if err != nil {
		return err
	}
	conns, err := d.rt.webhookConnections(ctx)
	if err != nil {
		return err
	}
	proc, err := inbox.New(inbox.Options{Store: d.rt.store, Logger: d.a.log,
		Pull: func(ctx context.Context, id int64) error {
			_, err := d.rt.pullOnce(ctx, conn, pull.Request{Trigger: store.TriggerWebhook}, time.Minute, nil)
			return err
		}})
	if err != nil {
		return err
	}
	hooks, err := server.NewWebhooks(server.WebhookOptions{Store: d.rt.store, Connections: conns, Stored: func([]int64) { proc.Notify() }, Logger: d.a.log})
	if err != nil {
		return err
	}
	h, err := server.New(server.Options{Store: d.rt.store, Logger: d.a.log, Webhooks: hooks})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Shutdown below
	pctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); proc.Run(pctx) }()
	defer func() {
		d.sb.HubSpot.ConfigureWebhooks(hssandbox.WebhookConfig{})
		stop()
		<-done
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx) //nolint:errcheck // best effort at the end of the chapter
	}()
	target := "http://" + ln.Addr().String() + "/webhooks/hubspot/" + conn
	d.sb.HubSpot.ConfigureWebhooks(hssandbox.WebhookConfig{TargetURL: target,
		Subscriptions: []hssandbox.Subscription{{Type: "deal.creation"}, {Type: "deal.deletion"}}})
	d.printf("    the HubSpot sandbox now sends signed webhooks (v3) to %s\n", target)

	created := time.Now()
	id, err := d.sb.HubSpot.CreateDeal(map[string]string{"dealname": "Northwind renewal (created during the demo)", "amount": "48000",
		"pipeline": "default", "dealstage": "appointmentscheduled"})
	if err != nil {
		return err
	}
	d.printf("    deal %s created in the CRM\n", id)
	if err := waitUntil(ctx, 15*time.Second, func() (bool, error) {
		keys, err := d.rt.store.PlanKeys(ctx, conn, []string{id})
		return len(keys) > 0, err
	}); err != nil {
		return fmt.Errorf("no plan for the new deal: %w", err)
	}
	d.printf("    its webhook arrived, the deal was pulled and its plan made %s after the deal was created\n", time.Since(created).Round(time.Millisecond))

	archived := time.Now()
	if err := d.sb.HubSpot.ArchiveObject("deals", id); err != nil {
		return err
	}
	d.printf("    deal %s archived in the CRM\n", id)
	if err := waitUntil(ctx, 15*time.Second, func() (bool, error) {
		r, err := d.rt.store.Record(ctx, sc.ID, connectors.ObjectDeal, id)
		return err == nil && r.Deleted, err
	}); err != nil {
		return fmt.Errorf("the archived deal was not marked deleted: %w", err)
	}
	d.printf("    its deletion webhook marked it deleted %s later (an incremental pull never sees archived deals)\n", time.Since(archived).Round(time.Millisecond))
	return nil
}

// waitUntil polls cond until it holds, fails, or within passes.
func waitUntil(ctx context.Context, within time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	var last error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), last)
		case <-t.C:
		}
	}
}
