package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/config"
	hssandbox "github.com/mapsync/mapsync/sandbox/hubspot"
	"github.com/mapsync/mapsync/secrets"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// mapsyncBinary builds the mapsync binary once per test run.
func mapsyncBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mapsync-e2e-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "mapsync")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// daemonProc is a `mapsync serve` subprocess.
type daemonProc struct {
	cmd  *exec.Cmd
	base string
	logs *syncBuf
	done chan error
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startServe starts `mapsync serve --migrate` on a free port and waits until /readyz answers.
func startServe(t testing.TB, cfg string, env ...string) *daemonProc {
	t.Helper()
	addr := freeAddr(t)
	p := &daemonProc{base: "http://" + addr, logs: &syncBuf{}, done: make(chan error, 1)}
	p.cmd = exec.Command(mapsyncBinary(t), "--config", cfg, "--log-level", "info", "serve", "--migrate", "--addr", addr, "--shutdown-timeout", "10s")
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	waitFor(t, 30*time.Second, "serve ready at "+p.base, func() (bool, string) {
		code, body := httpGet(p.base + "/readyz")
		return code == 200, body + "\n" + p.logs.String()
	})
	return p
}

// stop sends SIGTERM and returns the exit code, failing if it takes more than within.
func (p *daemonProc) stop(t testing.TB, within time.Duration) int {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(within):
		t.Fatalf("serve did not exit within %s of SIGTERM\n%s", within, p.logs.String())
		return -1
	}
}

// TestE2EServe drives the binary: `serve --migrate` on a fresh SQLite database, sandbox webhooks
// create plans within 2 s (each deal fetched by id, no pull), an archived HubSpot deal is marked deleted by its webhook, a scheduled
// pull runs on time, /metrics shows the figures, and SIGTERM exits 0.
func TestE2EServe(t *testing.T) {
	key, _ := secrets.GenerateKey()
	t.Setenv(secrets.EnvKey, key)
	t.Setenv(config.EnvDatabaseURL, "")
	db := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	cfg, sb := sandboxConfigWith(t, db, 20, func(s string) string {
		return strings.Replace(s, "    time_zone: America/New_York\n", "    time_zone: America/New_York\n    schedule: \"@every 2s\"\n", 1)
	})
	p := startServe(t, cfg)
	sb.HubSpot.ConfigureWebhooks(hssandbox.WebhookConfig{TargetURL: p.base + "/webhooks/hubspot/sandbox-hubspot", MaxRetries: 3,
		RetryBase: hssandbox.Duration(100 * time.Millisecond), Subscriptions: []hssandbox.Subscription{{Type: "deal.creation"}, {Type: "deal.deletion"}}})
	ctx := context.Background()
	s, err := store.Open(ctx, db, store.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hasPlan := planCondition(ctx, s, "sandbox-hubspot")
	first, err := sb.HubSpot.CreateDeal(map[string]string{"dealname": "E2E one", "amount": "25000", "pipeline": "default", "dealstage": "appointmentscheduled"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "plan of the first webhook deal", hasPlan(first))
	for i := range 3 {
		id, err := sb.HubSpot.CreateDeal(map[string]string{"dealname": fmt.Sprintf("E2E %d", i), "amount": "30000", "pipeline": "default", "dealstage": "appointmentscheduled"})
		if err != nil {
			t.Fatal(err)
		}
		// 2 s is the target, logged as a figure; the bound only catches a lost webhook.
		took := waitFor(t, 20*time.Second, "plan of a webhook deal", hasPlan(id))
		t.Logf("deal %s: webhook to plan in %s (target 2s)", id, took)
	}
	c, err := s.ConnectionByName(ctx, "sandbox-hubspot")
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.HubSpot.ArchiveObject("deals", first); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "archived deal marked deleted by its webhook", func() (bool, string) {
		r, err := s.Record(ctx, c.ID, "deal", first)
		return err == nil && r.Deleted, fmt.Sprintf("%+v, %v", r, err)
	})
	// A deal created without a webhook is found by the schedule (every 2s) and gets its plan.
	sb.HubSpot.ConfigureWebhooks(hssandbox.WebhookConfig{})
	quiet, err := sb.HubSpot.CreateDeal(map[string]string{"dealname": "E2E scheduled", "amount": "30000", "pipeline": "default", "dealstage": "appointmentscheduled"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 8*time.Second, "plan of a deal found by the scheduled pull", hasPlan(quiet))
	for _, want := range []string{`mapsync_webhook_events_total{outcome="stored",source="hubspot"}`, `mapsync_plans_instantiated_total{connection="sandbox-hubspot"}`,
		`mapsync_daemon_runs_total{connection="sandbox-hubspot",outcome="succeeded",trigger="schedule"}`, `mapsync_webhook_requests_total{outcome="accepted",source="hubspot"}`,
		`mapsync_connector_requests_total{connection="sandbox-hubspot",crm="hubspot",op="batch_read",status="200"}`,
		`mapsync_webhook_deal_fetches_total{connection="sandbox-hubspot",outcome="fetched"} 4`} {
		waitFor(t, 10*time.Second, "/metrics shows "+want, func() (bool, string) {
			_, metrics := httpGet(p.base + "/metrics")
			return strings.Contains(metrics, want), ""
		})
	}
	// The webhooks named their deals: each was fetched by id, none asked for a pull.
	runs, err := s.Runs(ctx, c.ID, 500)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.Trigger == store.TriggerWebhook {
			t.Errorf("run %d was started by a webhook: deal webhooks fetch their deals instead", r.ID)
		}
	}
	if code := p.stop(t, 15*time.Second); code != 0 {
		t.Fatalf("exit code after SIGTERM: got %d, want 0\n%s", code, p.logs.String())
	}
	if logs := p.logs.String(); !strings.Contains(logs, "daemon stopped") || strings.Contains(logs, hssandbox.ClientSecret) {
		t.Errorf("logs do not end with the daemon's stop, or show the webhook secret:\n%s", logs)
	}
}

// TestE2EReplicas: two replicas of `serve` on one PostgreSQL database never run a schedule tick
// twice (only River's leader enqueues the schedules, and each tick is claimed once), and when
// the leader is killed (SIGKILL) the other is elected and runs the schedule within 30 s (River's
// leader lease is 15 s, re-election attempts every 5 to 6 s; the run lock's lease 15 s).
func TestE2EReplicas(t *testing.T) {
	key, _ := secrets.GenerateKey()
	t.Setenv(secrets.EnvKey, key)
	t.Setenv(config.EnvDatabaseURL, "")
	db := storetest.NewSchema(t)
	cfg, _ := sandboxConfigWith(t, db, 10, func(s string) string {
		s = strings.Replace(s, "    time_zone: America/New_York\n", "    time_zone: America/New_York\n    schedule: \"@every 1s\"\n", 1)
		return strings.Replace(s, "    time_zone: Europe/Berlin\n", "    time_zone: Europe/Berlin\n    schedule: \"\"\n    full_schedule: \"\"\n", 1)
	})
	a := startServe(t, cfg)
	b := startServe(t, cfg)
	ctx := context.Background()
	s, err := store.Open(ctx, db, store.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.ConnectionByName(ctx, "sandbox-hubspot")
	if err != nil {
		t.Fatal(err)
	}
	scheduled := func() []store.Run {
		runs, err := s.Runs(ctx, c.ID, 500)
		if err != nil {
			t.Fatal(err)
		}
		var out []store.Run
		for _, r := range runs {
			if r.Trigger == store.TriggerSchedule {
				out = append(out, r)
			}
		}
		return out
	}
	waitFor(t, 20*time.Second, "6 scheduled runs with two replicas", func() (bool, string) {
		n := len(scheduled())
		return n >= 6, fmt.Sprintf("%d", n)
	})
	// Exactly one replica is River's leader: it alone enqueues the schedules. Kill it (SIGKILL:
	// no resignation, its lease must expire) while the schedule runs.
	isLeader := func(p *daemonProc) bool {
		_, metrics := httpGet(p.base + "/metrics")
		return strings.Contains(metrics, "\nmapsync_leader 1\n")
	}
	var leader, survivor *daemonProc
	waitFor(t, 30*time.Second, "one leader among the replicas", func() (bool, string) {
		la, lb := isLeader(a), isLeader(b)
		switch {
		case la && !lb:
			leader, survivor = a, b
		case lb && !la:
			leader, survivor = b, a
		default:
			return false, fmt.Sprintf("a leads %v, b leads %v", la, lb)
		}
		return true, ""
	})
	if err := leader.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	<-leader.done
	before := len(scheduled())
	waitFor(t, 30*time.Second, "the survivor elected leader", func() (bool, string) { return isLeader(survivor), "" })
	waitFor(t, 30*time.Second-time.Since(killed), "a scheduled run by the survivor within 30s of the kill", func() (bool, string) {
		n := len(scheduled())
		return n >= before+1, fmt.Sprintf("%d runs, %d before the kill", n, before)
	})
	t.Logf("leader killed: the survivor ran the schedule %s after the kill", time.Since(killed).Round(time.Millisecond))
	took := waitFor(t, 20*time.Second, "scheduled runs go on after the takeover", func() (bool, string) {
		n := len(scheduled())
		return n >= before+3, fmt.Sprintf("%d runs, %d before the kill", n, before)
	})
	t.Logf("3 scheduled runs since the kill, %s after the first", took)
	// No tick ran twice: scheduled runs start at least most of a period apart (ticks are 1s).
	runs := scheduled()
	for i := 1; i < len(runs); i++ {
		if gap := runs[i-1].StartedAt.Sub(runs[i].StartedAt); gap < 500*time.Millisecond {
			t.Errorf("scheduled runs %d and %d started %s apart: one tick ran twice", runs[i].ID, runs[i-1].ID, gap)
		}
	}
	for _, r := range runs {
		if r.Status == store.RunFailed {
			t.Errorf("scheduled run %d failed: %s", r.ID, r.Error)
		}
	}
	// Each tick was enqueued once, by one leader at a time: no two pull jobs share a tick.
	var twice []struct {
		Tick time.Time `db:"scheduled_at"`
		N    int       `db:"n"`
	}
	if err := s.DB().SelectContext(ctx, &twice, `SELECT scheduled_at, count(*) AS n FROM river_job WHERE kind = 'mapsync_pull' GROUP BY scheduled_at HAVING count(*) > 1`); err != nil {
		t.Fatal(err)
	}
	if len(twice) > 0 {
		t.Errorf("ticks enqueued more than once: %+v", twice)
	}
	var jobsN int
	if err := s.DB().GetContext(ctx, &jobsN, `SELECT count(*) FROM river_job WHERE kind = 'mapsync_pull'`); err != nil || jobsN < len(runs) {
		t.Errorf("%d pull jobs (%v) for %d scheduled runs: the schedule did not run through River", jobsN, err, len(runs))
	}
	if code := survivor.stop(t, 15*time.Second); code != 0 {
		t.Fatalf("survivor's exit code after SIGTERM: got %d, want 0", code)
	}
}

// planCondition returns, for a deal of connection, a waitFor condition that holds once the deal
// has a plan in s.
func planCondition(ctx context.Context, s *store.Store, connection string) func(deal string) func() (bool, string) {
	return func(deal string) func() (bool, string) {
		return func() (bool, string) {
			keys, err := s.PlanKeys(ctx, connection, []string{deal})
			return err == nil && len(keys) > 0, fmt.Sprintf("plans %v, %v", keys, err)
		}
	}
}
