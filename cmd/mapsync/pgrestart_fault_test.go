package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/internal/pgtest"
	hssandbox "github.com/mapsync/mapsync/sandbox/hubspot"
	"github.com/mapsync/mapsync/secrets"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// TestFaultPostgresRestartUnderServe restarts a private PostgreSQL under a running `serve`, in
// the middle of a HubSpot first (full) pull, with webhook events stored and not yet processed:
// while the database is down the API answers 503 with Retry-After and /readyz 503 (never a 500);
// once it is back serve carries on without a restart of its own: the pull whose connections
// dropped retries its store calls and succeeds, the webhook events are processed (their deals get
// plans), and the store ends exactly as a clean pull of the same CRM leaves one.
func TestFaultPostgresRestartUnderServe(t *testing.T) {
	pgtest.Faults(t)
	pg := pgtest.Start(t)
	key, _ := secrets.GenerateKey()
	t.Setenv(secrets.EnvKey, key)
	t.Setenv(config.EnvDatabaseURL, "")
	const conn = "sandbox-hubspot"
	cfg, sb := sandboxConfigWith(t, pg.URL(), 300, func(s string) string {
		s = withoutPush(s)
		s = strings.Replace(s, "    time_zone: America/New_York\n", "    time_zone: America/New_York\n    schedule: \"@every 1s\"\n    full_schedule: \"\"\n", 1)
		return strings.Replace(s, "    time_zone: Europe/Berlin\n", "    time_zone: Europe/Berlin\n    schedule: \"\"\n    full_schedule: \"\"\n", 1)
	})
	mustRun(t, "--config", cfg, "migrate", "up")
	token := strings.TrimSpace(mustRun(t, "--config", cfg, "tokens", "create", "faults"))
	// Slow CRM replies stretch the first pull over several seconds, so the outage lands inside it.
	sb.HubSpot.SetLatency(150 * time.Millisecond)
	p := startServe(t, cfg)
	sb.HubSpot.ConfigureWebhooks(hssandbox.WebhookConfig{TargetURL: p.base + "/webhooks/hubspot/" + conn, MaxRetries: 3,
		RetryBase: hssandbox.Duration(100 * time.Millisecond), Subscriptions: []hssandbox.Subscription{{Type: "deal.creation"}}})

	ctx := context.Background()
	s, err := store.Open(ctx, pg.URL(), store.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.ConnectionByName(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	// The first scheduled pull is under way and has stored some, not all, deals.
	var inFlight store.Run
	waitFor(t, 60*time.Second, "a first pull in progress with records stored", func() (bool, string) {
		runs, err := s.Runs(ctx, c.ID, 10)
		if err != nil || len(runs) == 0 || runs[len(runs)-1].Status != store.RunRunning {
			return false, fmt.Sprintf("runs %+v, %v", runs, err)
		}
		inFlight = runs[len(runs)-1]
		has, err := s.HasRecords(ctx, c.ID, "deal")
		return has && err == nil, fmt.Sprintf("deals stored: %v, %v", has, err)
	})
	// Webhook events arrive and are stored while the pull holds the connection's run lock.
	var hooked []string
	for i := range 3 {
		id, err := sb.HubSpot.CreateDeal(map[string]string{"dealname": fmt.Sprintf("Outage %d", i), "amount": "40000", "pipeline": "default", "dealstage": "appointmentscheduled"})
		if err != nil {
			t.Fatal(err)
		}
		hooked = append(hooked, id)
	}
	waitFor(t, 20*time.Second, "3 webhook events stored", func() (bool, string) {
		n, err := s.CountWebhookEvents(ctx, c.ID)
		total := 0
		for _, v := range n {
			total += v
		}
		return total >= 3 && err == nil, fmt.Sprintf("%v, %v", n, err)
	})

	pg.Stop()
	down := time.Now()
	if runs, err := s.Runs(ctx, c.ID, 1); err == nil {
		t.Fatalf("the store answered with the database stopped: %+v", runs)
	}
	waitFor(t, 10*time.Second, "/readyz 503 while the database is down", func() (bool, string) {
		code, body := httpGet(p.base + "/readyz")
		return code == http.StatusServiceUnavailable, fmt.Sprintf("%d %s", code, body)
	})
	for _, path := range []string{"/api/v1/plans", "/api/v1/deals?connection=" + conn} {
		code, retryAfter, body := apiGet(t, p.base+path, token)
		if code != http.StatusServiceUnavailable || retryAfter == "" {
			t.Errorf("GET %s with the database down: %d, Retry-After %q, %s; want 503 with Retry-After", path, code, retryAfter, body)
		}
	}
	// Down for about 3 s in all: within what the pull's store retries ride out (about 25 s).
	time.Sleep(time.Until(down.Add(3 * time.Second))) //nolint:forbidigo // the outage's length is the fault
	pg.Start()
	t.Logf("database down for %s", time.Since(down).Round(time.Millisecond))

	waitFor(t, 30*time.Second, "/readyz 200 after the restart", func() (bool, string) {
		code, body := httpGet(p.base + "/readyz")
		return code == http.StatusOK, fmt.Sprintf("%d %s", code, body)
	})
	sb.HubSpot.SetLatency(0)
	waitFor(t, 90*time.Second, "the pull in flight at the outage finishes", func() (bool, string) {
		runs, err := s.Runs(ctx, c.ID, 500)
		for _, r := range runs {
			if r.ID == inFlight.ID {
				return r.Status != store.RunRunning, fmt.Sprintf("%+v", r)
			}
		}
		return false, fmt.Sprintf("run %d not found: %v", inFlight.ID, err)
	})
	runs, err := s.Runs(ctx, c.ID, 500)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.ID == inFlight.ID && r.Status != store.RunSucceeded {
			t.Fatalf("the pull in flight during the outage ended %s: %s\n%s", r.Status, r.Error, p.logs.String())
		}
	}
	hasPlan := planCondition(ctx, s, conn)
	for _, id := range hooked {
		waitFor(t, 60*time.Second, "plan of deal "+id+" whose webhook was stored before the outage", hasPlan(id))
	}
	waitFor(t, 60*time.Second, "every webhook event processed", func() (bool, string) {
		n, err := s.CountWebhookEvents(ctx, c.ID)
		return err == nil && n[store.WebhookPending] == 0 && n[store.WebhookDead] == 0 && n[store.WebhookDone] >= 3, fmt.Sprintf("%v, %v", n, err)
	})
	if !strings.Contains(p.logs.String(), "store unreachable; retrying") {
		t.Errorf("the pull did not retry a store call during the outage:\n%s", p.logs.String())
	}
	want := referencePull(t, cfg, pg.URL(), storetest.NewSchema(t), conn)
	waitSnapshot(t, pg.URL(), conn, want)
	code, _, body := apiGet(t, p.base+"/api/v1/plans", token)
	if code != http.StatusOK {
		t.Errorf("GET /api/v1/plans after the restart: %d %s", code, body)
	}
	if code := p.stop(t, 30*time.Second); code != 0 {
		t.Errorf("serve's exit code after SIGTERM: %d\n%s", code, p.logs.String())
	}
	if logs := p.logs.String(); strings.Contains(logs, `"status":500`) || strings.Contains(logs, "status=500") {
		t.Errorf("serve answered a 500 during the outage:\n%s", p.logs.String())
	}
	compareSnapshots(t, snapshotStore(t, pg.URL(), conn), want)
}

// apiGet makes an authenticated GET and returns the status, the Retry-After header and the body.
func apiGet(t *testing.T, url, token string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err.Error()
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), readAll(resp)
}
