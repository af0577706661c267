package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/mapsync/mapsync/connectors"
	hssandbox "github.com/mapsync/mapsync/sandbox/hubspot"
)

// startDaemon starts the daemon (as `mapsync serve` runs it: HTTP, River with the webhook and
// pull jobs, the schedules) in the background on the --serve listener, or on a loopback port of
// its own for the story; it returns once the daemon serves.
func (d *demo) startDaemon(ctx context.Context) error {
	if d.ln == nil {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		d.ln = ln
	}
	d.base = "http://" + d.ln.Addr().String()
	dctx, cancel := context.WithCancel(ctx)
	d.stopDaemon = cancel
	d.daemonDone = make(chan error, 1)
	ready := make(chan struct{})
	go func() { d.daemonDone <- d.rt.daemon(dctx, d.ln, 30*time.Second, func(net.Addr) { close(ready) }) }()
	select {
	case <-ready:
		return nil
	case err := <-d.daemonDone:
		d.daemonDone <- err
		return err
	}
}

// waitDaemon stops the daemon (when stop) or waits for it to stop, and returns its error.
func (d *demo) waitDaemon(stop bool) error {
	if d.daemonDone == nil {
		return nil
	}
	if stop {
		d.stopDaemon()
	}
	return <-d.daemonDone
}

// webhooks is the demo's webhook chapter: the HubSpot sandbox sends its signed webhooks to the
// daemon, as to `mapsync serve`; a deal created in the CRM gets its plan, and a deal archived
// in the CRM is marked deleted, each within a moment.
func (d *demo) webhooks(ctx context.Context) error {
	const conn = "sandbox-hubspot"
	if d.sb.HubSpot == nil {
		return nil
	}
	sc, err := d.rt.store.ConnectionByName(ctx, conn)
	if err != nil {
		return err
	}
	if err := d.startDaemon(ctx); err != nil {
		return err
	}
	target := d.base + "/webhooks/hubspot/" + conn
	d.sb.HubSpot.ConfigureWebhooks(hssandbox.WebhookConfig{TargetURL: target,
		Subscriptions: []hssandbox.Subscription{{Type: "deal.creation"}, {Type: "deal.propertyChange"}, {Type: "deal.deletion"}}})
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
	d.printf("    its webhook arrived, a job fetched the deal by id and its plan was made %s after the deal was created\n", time.Since(created).Round(time.Millisecond))

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
