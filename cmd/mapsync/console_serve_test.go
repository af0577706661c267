package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/web/webtest"
)

// TestConsoleUnderServe drives the console `mapsync serve` mounts (the daemon's own wiring, with
// River): a deal the CRM refused is dead-lettered by the daemon's push job; Retry in the console
// queues its push, and the daemon's push job writes it to the sandbox.
func TestConsoleUnderServe(t *testing.T) {
	cfg, sb := migratedSandbox(t, 6, nil)
	mustRun(t, "--config", cfg, "templates", "import", filepath.Join("..", "..", "examples", "templates"))
	mustRun(t, "--config", cfg, "--log-level", "error", "sync", "run", "--connection", sfConn)
	token := strings.TrimSpace(mustRun(t, "--config", cfg, "tokens", "create", "console"))
	ctx := context.Background()
	s, err := store.Open(ctx, sqliteURL(t, cfg), store.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	list, _, err := s.ListPlans(ctx, plans.PlanFilter{Connection: sfConn, Limit: 1})
	if err != nil || len(list) == 0 {
		t.Fatalf("no plan on %s: %v", sfConn, err)
	}
	bad := list[0].DealID
	// The pushes the sync run's plans asked for run once serve starts; this deal's is refused.
	if err := sb.Salesforce.FailNextWrite(bad, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Progress cannot be set while the deal is in legal review"); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	base := "http://" + addr
	var out strings.Builder
	stop := startCLI(t, &out, "--config", cfg, "--log-level", "warn", "serve", "--addr", addr, "--shutdown-timeout", "5s")
	deadLetter := func() (bool, string) {
		dls, err := s.DeadLetters(ctx, sfConn, 0)
		for _, d := range dls {
			if d.CRMID == bad {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d dead letters, %v", len(dls), err)
	}
	waitFor(t, 30*time.Second, "the refused deal dead-lettered by the daemon", deadLetter)

	b := webtest.New(t, 90*time.Second)
	b.SignIn(t, base, token)
	start := time.Now().Add(-time.Second)
	row := `#dead-letters tr[data-deal="` + bad + `"]`
	b.Do(t, "dead letters", chromedp.Navigate(base+"/console/push"), chromedp.WaitVisible(chromedp.CSS(row)))
	b.Follow(t, "retry", chromedp.Click(chromedp.CSS(row+" button.retry")))
	b.Do(t, "queued", chromedp.WaitVisible(chromedp.CSS(".flash-ok")))
	if msg := webtest.Get(t, b, "flash", chromedp.Text(chromedp.CSS(".flash-ok"))); !strings.Contains(msg, "1 dead letter queued for a push") {
		t.Errorf("flash: %q", msg)
	}
	waitFor(t, 30*time.Second, "the dead letter gone after the daemon's push", func() (bool, string) {
		gone, seen := deadLetter()
		return !gone, seen
	})
	if got := (&pushFixture{sb: sb}).readDeal(t, sfConn, bad)["MAP_Plan_URL__c"]; got == nil || got == "" {
		t.Errorf("deal %s: MAP_Plan_URL__c not written in the sandbox", bad)
	}

	// Pull now: queued as the daemon's pull job, which runs it as a manual run.
	b.Do(t, "connections", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.ID("conn-"+sfConn)))
	b.Follow(t, "pull now", chromedp.Click(chromedp.CSS(`section[aria-labelledby="conn-`+sfConn+`"] button.primary`)))
	b.Do(t, "queued", chromedp.WaitVisible(chromedp.CSS(".flash-ok")))
	if msg := webtest.Get(t, b, "flash", chromedp.Text(chromedp.CSS(".flash-ok"))); !strings.Contains(msg, "A pull of "+sfConn+" is queued") {
		t.Errorf("flash after Pull now: %q", msg)
	}
	c, err := s.ConnectionByName(ctx, sfConn)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "a manual run by the daemon's pull job", func() (bool, string) {
		runs, err := s.Runs(ctx, c.ID, 50)
		for _, r := range runs {
			if r.Trigger == store.TriggerManual && r.Status == store.RunSucceeded && r.StartedAt.After(start) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d runs, %v", len(runs), err)
	})
	if code := stop(); code != 0 {
		t.Fatalf("serve exit %d:\n%s", code, out.String())
	}
}

// sqliteURL returns the database URL of a test configuration on SQLite.
func sqliteURL(t *testing.T, cfg string) string {
	t.Helper()
	for _, l := range strings.Split(readFile(t, cfg), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "url: sqlite:") {
			return strings.TrimPrefix(strings.TrimSpace(l), "url: ")
		}
	}
	t.Fatalf("no sqlite url in %s", cfg)
	return ""
}
