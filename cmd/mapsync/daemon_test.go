package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/config"
	hssandbox "github.com/mapsync/mapsync/sandbox/hubspot"
	"github.com/mapsync/mapsync/secrets"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// waitFor polls cond until it holds or the deadline passes, then fails with what was last seen.
func waitFor(t testing.TB, within time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	last := ""
	for time.Since(start) < within {
		ok, seen := cond()
		if ok {
			return time.Since(start)
		}
		last = seen
		time.Sleep(20 * time.Millisecond) //nolint:forbidigo // polling an outside process's effect until a deadline
	}
	t.Fatalf("%s: not within %s; last seen: %s", what, within, last)
	return 0
}

func httpGet(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeDaemon runs `serve` on the sandboxes: a deal created in the HubSpot sandbox gets its
// plan through the signed webhook, an archived deal is marked deleted by its webhook, a schedule
// runs pulls, /metrics shows the figures, and an interrupt stops it with exit 0.
func TestServeDaemon(t *testing.T) {
	cfg, sb := migratedSandbox(t, 20, func(s string) string {
		return strings.Replace(s, "    time_zone: America/New_York\n", "    time_zone: America/New_York\n    schedule: \"@every 2s\"\n", 1)
	})
	addr := freeAddr(t)
	base := "http://" + addr
	sb.HubSpot.ConfigureWebhooks(hssandbox.WebhookConfig{TargetURL: base + "/webhooks/hubspot/sandbox-hubspot", MaxRetries: 3,
		RetryBase: hssandbox.Duration(100 * time.Millisecond), RetryMax: hssandbox.Duration(time.Second),
		Subscriptions: []hssandbox.Subscription{{Type: "deal.creation"}, {Type: "deal.deletion"}}})
	var out strings.Builder
	stop := startCLI(t, &out, "--config", cfg, "--log-level", "warn", "serve", "--addr", addr, "--shutdown-timeout", "5s")
	waitFor(t, 20*time.Second, "serve ready", func() (bool, string) {
		code, body := httpGet(base + "/readyz")
		return code == 200, body
	})

	ctx := context.Background()
	db := ""
	for _, l := range strings.Split(readFile(t, cfg), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "url: sqlite:") {
			db = strings.TrimPrefix(strings.TrimSpace(l), "url: ")
		}
	}
	s, err := store.Open(ctx, db, store.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hasPlan := planCondition(ctx, s, "sandbox-hubspot")

	first, err := sb.HubSpot.CreateDeal(map[string]string{"dealname": "Webhook deal one", "amount": "25000", "pipeline": "default", "dealstage": "appointmentscheduled"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "plan of the first webhook deal (first pull included)", hasPlan(first))
	second, err := sb.HubSpot.CreateDeal(map[string]string{"dealname": "Webhook deal two", "amount": "40000", "pipeline": "default", "dealstage": "appointmentscheduled"})
	if err != nil {
		t.Fatal(err)
	}
	// The 2 s target is a figure to log, not an assertion (a loaded machine stretches it); the
	// wait is only bounded so a lost webhook fails.
	took := waitFor(t, 20*time.Second, "plan of a webhook deal", hasPlan(second))
	t.Logf("webhook deal to plan: %s (target 2s)", took)

	if err := sb.HubSpot.ArchiveObject("deals", second); err != nil {
		t.Fatal(err)
	}
	c, err := s.ConnectionByName(ctx, "sandbox-hubspot")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "archived deal marked deleted", func() (bool, string) {
		r, err := s.Record(ctx, c.ID, "deal", second)
		return err == nil && r.Deleted, fmt.Sprintf("%+v, %v", r, err)
	})
	waitFor(t, 10*time.Second, "a scheduled pull", func() (bool, string) {
		runs, err := s.Runs(ctx, c.ID, 50)
		for _, r := range runs {
			if r.Trigger == store.TriggerSchedule && r.Status == store.RunSucceeded {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d runs, %v", len(runs), err)
	})
	for _, want := range []string{`mapsync_webhook_events_total{outcome="stored",source="hubspot"}`, `mapsync_plans_instantiated_total{connection="sandbox-hubspot"}`,
		`mapsync_daemon_runs_total{connection="sandbox-hubspot",outcome="succeeded",trigger="schedule"}`, `mapsync_webhook_events_processed_total{outcome="done"}`, "mapsync_webhook_queue_depth ", "mapsync_webhook_dead_letters 0"} {
		waitFor(t, 10*time.Second, "/metrics shows "+want, func() (bool, string) {
			_, metrics := httpGet(base + "/metrics")
			return strings.Contains(metrics, want), ""
		})
	}
	// The admin API: connections with their state, runs, dead letters.
	tok := strings.TrimSpace(mustRun(t, "--config", cfg, "tokens", "create", "admin"))
	if got := waitGet(t, base+"/api/v1/connections", tok); !strings.Contains(got, `"name":"sandbox-hubspot"`) || !strings.Contains(got, `"state":"ok"`) || !strings.Contains(got, `"next_run":`) {
		t.Errorf("GET /api/v1/connections: %s", got)
	}
	if got := waitGet(t, base+"/api/v1/runs?connection=sandbox-hubspot&limit=5", tok); !strings.Contains(got, `"trigger":"schedule"`) && !strings.Contains(got, `"trigger":"webhook"`) {
		t.Errorf("GET /api/v1/runs: %s", got)
	}
	if got := waitGet(t, base+"/api/v1/dead-letters", tok); strings.TrimSpace(got) != `{"dead_letters":[]}` {
		t.Errorf("GET /api/v1/dead-letters: %s", got)
	}
	if code, body := httpGet(base + "/api/v1/runs?connection=nope"); code != http.StatusUnauthorized {
		t.Errorf("runs without a token: %d %s", code, body)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exit code after interrupt: got %d, want 0\n%s", code, out.String())
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestServeWebhookDeadLetters, on both databases: a webhook whose processing keeps failing is
// retried by River, then its job is discarded after the last attempt and its event is a dead
// letter (webhooks list, /api/v1/dead-letters, mapsync_jobs{state="discarded"}) with the reason;
// `webhooks retry` makes it pending with a new job, which brings the deal and its plan.
func TestServeWebhookDeadLetters(t *testing.T) {
	attempts, backoff := webhookMaxAttempts, webhookBackoff
	webhookMaxAttempts, webhookBackoff = 2, func(int) time.Duration { return 50 * time.Millisecond }
	t.Cleanup(func() { webhookMaxAttempts, webhookBackoff = attempts, backoff })
	key, _ := secrets.GenerateKey()
	t.Setenv(secrets.EnvKey, key)
	t.Setenv(config.EnvDatabaseURL, "")
	for name, db := range map[string]func() string{
		"sqlite":   func() string { return "sqlite:" + filepath.Join(t.TempDir(), "m.db") },
		"postgres": func() string { return storetest.NewSchema(t) },
	} {
		t.Run(name, func(t *testing.T) {
			dbURL := db()
			cfg, sb := sandboxConfigWith(t, dbURL, 5, nil)
			mustRun(t, "--config", cfg, "migrate", "up")
			addr := freeAddr(t)
			base := "http://" + addr
			var out strings.Builder
			stop := startCLI(t, &syncWriter{b: &out}, "--config", cfg, "--log-level", "error", "serve", "--addr", addr, "--shutdown-timeout", "5s")
			waitFor(t, 20*time.Second, "serve ready", func() (bool, string) {
				code, body := httpGet(base + "/readyz")
				return code == 200, body
			})
			sb.HubSpot.ConfigureWebhooks(hssandbox.WebhookConfig{TargetURL: base + "/webhooks/hubspot/sandbox-hubspot",
				Subscriptions: []hssandbox.Subscription{{Type: "deal.creation"}}})
			sb.HubSpot.InjectServerErrors(1_000_000, http.StatusBadRequest) // every CRM read fails, not retried
			deal, err := sb.HubSpot.CreateDeal(map[string]string{"dealname": "Dead letter deal", "amount": "25000", "pipeline": "default", "dealstage": "appointmentscheduled"})
			if err != nil {
				t.Fatal(err)
			}
			var dead store.WebhookEvent
			waitFor(t, 20*time.Second, "the event a dead letter after 2 attempts", func() (bool, string) {
				got := mustRun(t, "--config", cfg, "webhooks", "list", "--status", "dead", "-o", "json")
				if err := json.Unmarshal([]byte(got), &dead); err != nil {
					return false, got
				}
				return dead.CRMID == deal && dead.Attempts == 2 && strings.Contains(dead.LastError, "400"), got
			})
			tok := strings.TrimSpace(mustRun(t, "--config", cfg, "tokens", "create", "admin"))
			if got := waitGet(t, base+"/api/v1/dead-letters", tok); !strings.Contains(got, `"crm_id":"`+deal+`"`) || !strings.Contains(got, `"last_error":"`) {
				t.Errorf("GET /api/v1/dead-letters: %s", got)
			}
			waitFor(t, 10*time.Second, "/metrics shows the discarded job", func() (bool, string) {
				_, metrics := httpGet(base + "/metrics")
				return strings.Contains(metrics, `mapsync_jobs{kind="mapsync_webhook_events",state="discarded"} 1`) &&
					strings.Contains(metrics, "mapsync_webhook_dead_letters 1"), metrics
			})

			sb.HubSpot.InjectServerErrors(0, 0)
			if got := mustRun(t, "--config", cfg, "webhooks", "retry", strconv.FormatInt(dead.ID, 10)); !strings.Contains(got, "pending again") {
				t.Fatalf("webhooks retry: %s", got)
			}
			s, err := store.Open(t.Context(), dbURL, store.Options{Logger: zerolog.Nop()})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			waitFor(t, 20*time.Second, "the retried event done and its deal's plan made", func() (bool, string) {
				e, err := s.WebhookEventByID(t.Context(), dead.ID)
				if err != nil || e.Status != store.WebhookDone {
					return false, fmt.Sprintf("%+v %v", e, err)
				}
				return planCondition(t.Context(), s, "sandbox-hubspot")(deal)()
			})
			if code := stop(); code != 0 {
				t.Fatalf("serve exit code after interrupt: got %d, want 0\n%s", code, out.String())
			}
		})
	}
}

// TestDemoServe: demo --serve is the daemon: after the story it keeps the webhooks (a deal
// created through the sandbox's API gets its plan) and the schedules (River's leader holds
// them), until interrupted.
func TestDemoServe(t *testing.T) {
	t.Setenv(secrets.EnvKey, "")
	t.Setenv(config.EnvDatabaseURL, "")
	t.Setenv("TMPDIR", t.TempDir())
	addr := freeAddr(t)
	out := &syncBuf{}
	stop := startCLI(t, out, "demo", "--deals", "10", "--serve", "--addr", addr)
	var hubspotURL, token string
	waitFor(t, 60*time.Second, "demo serving", func() (bool, string) {
		o := out.String()
		for _, l := range strings.Split(o, "\n") {
			l = strings.TrimSpace(l)
			if v, ok := strings.CutPrefix(l, "HubSpot"); ok {
				hubspotURL = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(l, "export TOKEN="); ok {
				token = v
			}
		}
		return strings.Contains(o, "serving on http://"+addr) && token != "", o
	})
	// A deal created through the HubSpot sandbox's API: its webhook reaches the daemon.
	req, _ := http.NewRequest(http.MethodPost, hubspotURL+"/crm/v3/objects/deals",
		strings.NewReader(`{"properties":{"dealname":"Demo serve deal","amount":"30000","pipeline":"default","dealstage":"appointmentscheduled"}}`))
	req.Header.Set("Authorization", "Bearer "+hssandbox.PrivateAppToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil || created.ID == "" {
		t.Fatalf("create deal: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	waitFor(t, 20*time.Second, "the new deal's plan through the daemon's webhook", func() (bool, string) {
		got := waitGet(t, "http://"+addr+"/api/v1/plans?connection=sandbox-hubspot&limit=500", token)
		return strings.Contains(got, created.ID), got
	})
	waitFor(t, 30*time.Second, "the schedules held by the leader", func() (bool, string) {
		_, metrics := httpGet("http://" + addr + "/metrics")
		return regexp.MustCompile(`(?m)^mapsync_schedule_entries [1-9]`).MatchString(metrics) && strings.Contains(metrics, "mapsync_leader 1"), metrics
	})
	// The printed buyer link opens the Join Room page of the sample plan.
	link := regexp.MustCompile(`buyer link for .*: (http://\S+/join/msi_\S+)`).FindStringSubmatch(out.String())
	if link == nil {
		t.Errorf("demo --serve printed no buyer link:\n%s", out.String())
	} else if code, page := httpGet(link[1]); code != http.StatusOK || !strings.Contains(page, "Join Room") {
		t.Errorf("buyer link %s: status %d, want 200 with Join Room", link[1], code)
	}
	if code := stop(); code != 0 {
		t.Fatalf("demo --serve exit code after interrupt: got %d, want 0\n%s", code, out.String())
	}
}

// TestServeSweepsOrphanEvents, on both databases: an event stored without a job (as a version
// before River left them) is enqueued by the leader's sweep when serve starts, and processed.
func TestServeSweepsOrphanEvents(t *testing.T) {
	age := webhookSweepAge
	webhookSweepAge = 0
	t.Cleanup(func() { webhookSweepAge = age })
	key, _ := secrets.GenerateKey()
	t.Setenv(secrets.EnvKey, key)
	t.Setenv(config.EnvDatabaseURL, "")
	for name, db := range map[string]func() string{
		"sqlite":   func() string { return "sqlite:" + filepath.Join(t.TempDir(), "m.db") },
		"postgres": func() string { return storetest.NewSchema(t) },
	} {
		t.Run(name, func(t *testing.T) {
			dbURL := db()
			cfg, sb := sandboxConfigWith(t, dbURL, 5, nil)
			mustRun(t, "--config", cfg, "migrate", "up")
			deal, err := sb.HubSpot.CreateDeal(map[string]string{"dealname": "Orphan event deal", "amount": "25000", "pipeline": "default", "dealstage": "appointmentscheduled"})
			if err != nil {
				t.Fatal(err)
			}
			s, err := store.Open(t.Context(), dbURL, store.Options{Logger: zerolog.Nop()})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			c, err := s.EnsureConnection(t.Context(), "sandbox-hubspot", "hubspot")
			if err != nil {
				t.Fatal(err)
			}
			ids, err := s.StoreWebhookEvents(t.Context(), []store.NewWebhookEvent{{ConnectionID: c.ID, Source: store.WebhookGeneric, Key: "msg_orphan",
				Type: "deal", Object: "deal", CRMID: deal, Payload: `{"object":"deal","id":"` + deal + `"}`}}, nil)
			if err != nil || len(ids) != 1 {
				t.Fatalf("store the orphan event: %v %v", ids, err)
			}
			addr := freeAddr(t)
			var out strings.Builder
			stop := startCLI(t, &syncWriter{b: &out}, "--config", cfg, "--log-level", "error", "serve", "--addr", addr, "--shutdown-timeout", "5s")
			waitFor(t, 30*time.Second, "the orphan event processed and its deal's plan made", func() (bool, string) {
				e, err := s.WebhookEventByID(t.Context(), ids[0])
				if err != nil || e.Status != store.WebhookDone {
					return false, fmt.Sprintf("%+v %v", e, err)
				}
				return planCondition(t.Context(), s, "sandbox-hubspot")(deal)()
			})
			if code := stop(); code != 0 {
				t.Fatalf("serve exit code after interrupt: got %d, want 0\n%s", code, out.String())
			}
		})
	}
}
