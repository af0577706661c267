package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/secrets"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// TestSyncRunLock: on both databases, `sync run` refuses with a clear line while another run of
// the connection holds its lock (as a run in another process would), and once a dead process's
// lease has expired it runs, marks the run that process left "running" as abandoned, and says
// how many plans it made.
func TestSyncRunLock(t *testing.T) {
	key, _ := secrets.GenerateKey()
	t.Setenv(secrets.EnvKey, key)
	t.Setenv(config.EnvDatabaseURL, "")
	for name, db := range map[string]string{"sqlite": "sqlite:" + filepath.Join(t.TempDir(), "m.db"), "postgres": storetest.NewSchema(t)} {
		t.Run(name, func(t *testing.T) {
			cfg := sandboxConfig(t, db, 30)
			mustRun(t, "--config", cfg, "migrate", "up")
			mustRun(t, "--config", cfg, "templates", "import", filepath.Join("..", "..", "examples", "templates"))
			ctx := context.Background()
			s, err := store.Open(ctx, db, store.Options{Logger: zerolog.Nop()})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			c, err := s.EnsureConnection(ctx, "sandbox-hubspot", "hubspot")
			if err != nil {
				t.Fatal(err)
			}
			if err := s.AcquireRunLock(ctx, c.ID, "other-host:42:ab", "full pull (schedule)", time.Minute); err != nil {
				t.Fatal(err)
			}
			run := []string{"--config", cfg, "--log-level", "error", "sync", "run", "--connection", "sandbox-hubspot"}
			code, _, errOut := runCLI(t, run...)
			if code != 1 || !strings.Contains(errOut, "connection sandbox-hubspot is busy") || !strings.Contains(errOut, "full pull (schedule)") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Fatalf("sync run while locked: exit %d, stderr %q; want exit 1 and one line saying the connection is busy with what", code, errOut)
			}
			if runs, err := s.Runs(ctx, c.ID, 10); err != nil || len(runs) != 0 {
				t.Fatalf("refused run recorded runs: %+v, %v", runs, err)
			}

			// The holder died with a run recorded as running: expire its lease.
			dead, err := s.StartRun(ctx, c.ID, store.RunFull, store.TriggerSchedule)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.DB().ExecContext(ctx, s.DB().Rebind(`UPDATE run_locks SET expires_at = ? WHERE connection_id = ?`), time.Now().Add(-time.Second).UnixMilli(), c.ID); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runCLI(t, run...)
			if code != 0 {
				t.Fatalf("sync run after the holder died: exit %d\n%s\n%s", code, out, errOut)
			}
			if !strings.Contains(out, "plans: ") || !strings.Contains(out, " created (") {
				t.Errorf("summary does not say how many plans the run made:\n%s", out)
			}
			r, err := s.Run(ctx, dead)
			if err != nil || r.Status != store.RunAbandoned {
				t.Fatalf("dead run: got %+v, %v; want status abandoned", r, err)
			}
			if _, err := s.RunLockOf(ctx, c.ID); err == nil {
				t.Errorf("lock still held after the run finished")
			}
			statusOut := mustRun(t, "--config", cfg, "status", "--output", "json")
			var hs *statusLine
			for _, line := range strings.Split(strings.TrimSpace(statusOut), "\n") {
				var st statusLine
				if err := json.Unmarshal([]byte(line), &st); err != nil {
					t.Fatalf("status line is not JSON: %v\n%s", err, line)
				}
				if st.Name == "sandbox-hubspot" {
					hs = &st
				}
			}
			if hs == nil || hs.State != "ok" || hs.NextRun == nil || hs.NextFull == nil || hs.LagSeconds < 0 || hs.Records["deal"] != 30 || hs.Plans == 0 || hs.LastRun == nil || hs.LastRun.Status != store.RunSucceeded {
				t.Errorf("status of sandbox-hubspot: got %+v\n%s", hs, statusOut)
			}
			if deals := mustRun(t, "--config", cfg, "deals", "list", "--connection", "sandbox-hubspot", "--has-plan", "true", "--output", "json"); strings.Count(deals, "\n") == 0 || !strings.Contains(deals, `"has_plan":true`) {
				t.Errorf("deals list --has-plan true: %s", deals)
			}
			ps := mustRun(t, "--config", cfg, "plans", "list", "--connection", "sandbox-hubspot", "--output", "json")
			var first struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			}
			if err := json.Unmarshal([]byte(strings.SplitN(ps, "\n", 2)[0]), &first); err != nil || first.Status != "active" {
				t.Fatalf("plans list: %v\n%s", err, ps)
			}
			if show := mustRun(t, "--config", cfg, "plans", "show", first.ID); !strings.Contains(show, "plan "+first.ID) || !strings.Contains(show, "phases") {
				t.Errorf("plans show %s:\n%s", first.ID, show)
			}
			runs := mustRun(t, "--config", cfg, "sync", "runs", "--connection", "sandbox-hubspot")
			if !strings.Contains(runs, "abandoned") || !strings.Contains(runs, "succeeded") || !strings.Contains(runs, "the process running it stopped") {
				t.Errorf("sync runs does not show the abandoned and the succeeded run:\n%s", runs)
			}
		})
	}
}

// statusLine is what the tests read of a `status --output json` line.
type statusLine struct {
	Name       string         `json:"name"`
	State      string         `json:"state"`
	NextRun    *time.Time     `json:"next_run"`
	NextFull   *time.Time     `json:"next_full"`
	LagSeconds float64        `json:"lag_seconds"`
	Records    map[string]int `json:"records"`
	Plans      int            `json:"plans"`
	LastRun    *store.Run     `json:"last_run"`
}
