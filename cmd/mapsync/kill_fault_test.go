package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/internal/pgtest"
	"github.com/mapsync/mapsync/secrets"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// TestFaultKillMidPull kills `mapsync sync run` (SIGKILL: no cleanup, no deferred code) in the
// middle of a connection's first (full) pull, on each CRM, then runs it again: the second run
// resumes and the store ends exactly as one clean pull leaves it, records, contact roles and
// plans row by row, with no plan twice.
func TestFaultKillMidPull(t *testing.T) {
	pgtest.Faults(t)
	key, _ := secrets.GenerateKey()
	t.Setenv(secrets.EnvKey, key)
	t.Setenv(config.EnvDatabaseURL, "")
	for _, tc := range []struct {
		conn    string
		latency func(*sandboxes, time.Duration)
	}{
		{"sandbox-salesforce", func(sb *sandboxes, d time.Duration) { sb.Salesforce.SetLatency(d) }},
		{"sandbox-hubspot", func(sb *sandboxes, d time.Duration) { sb.HubSpot.SetLatency(d) }},
	} {
		t.Run(tc.conn, func(t *testing.T) {
			t.Parallel() // each its own sandboxes and schema; the CLI runs as subprocesses
			db := storetest.NewSchema(t)
			// 1,500 deals: several committed batches of deals and contacts on both CRMs.
			cfg, sb := sandboxConfigWith(t, db, 1500, withoutPush)
			runBinary(t, "--config", cfg, "migrate", "up")
			runBinary(t, "--config", cfg, "templates", "import")
			ctx := context.Background()
			s, err := store.Open(ctx, db, store.Options{Logger: zerolog.Nop()})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			// Slow replies so the kill lands between committed pages, not after the run.
			tc.latency(sb, 100*time.Millisecond)
			logs := &syncBuf{}
			cmd := exec.Command(mapsyncBinary(t), "--config", cfg, "sync", "run", "--connection", tc.conn)
			cmd.Stdout, cmd.Stderr = logs, logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			t.Cleanup(func() { _ = cmd.Process.Kill() })
			var partial map[string]int
			waitFor(t, 90*time.Second, "a first pull with some deals or contacts stored", func() (bool, string) {
				select {
				case err := <-done:
					t.Fatalf("sync run ended (%v) before it could be killed mid-pull:\n%s", err, logs.String())
				default:
				}
				c, err := s.ConnectionByName(ctx, tc.conn) // made by the run
				if err != nil {
					return false, err.Error()
				}
				counts, err := s.RecordCounts(ctx, c.ID)
				partial = map[string]int{}
				for o, n := range counts {
					partial[string(o)] = n
				}
				return err == nil && partial["deal"]+partial["contact"] > 0, fmt.Sprintf("%v, %v", counts, err)
			})
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err == nil || !strings.Contains(err.Error(), "killed") {
				t.Fatalf("sync run after SIGKILL: %v, want killed", err)
			}
			t.Logf("killed with %v stored", partial)
			tc.latency(sb, 0)
			// The dead run still holds the connection's lease until it expires (15 s): --wait.
			out := runBinary(t, "--config", cfg, "sync", "run", "--connection", tc.conn, "--wait", "1m")
			t.Logf("second run: %s", strings.TrimSpace(out))
			got := snapshotStore(t, db, tc.conn)
			compareSnapshots(t, got, referencePull(t, cfg, db, storetest.NewSchema(t), tc.conn))
			c, err := s.ConnectionByName(ctx, tc.conn)
			if err != nil {
				t.Fatal(err)
			}
			runs, err := s.Runs(ctx, c.ID, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) != 2 || runs[0].Status != store.RunSucceeded || runs[1].Status != store.RunAbandoned {
				t.Errorf("runs: want the killed one abandoned and the second succeeded, got %+v", runs)
			}
		})
	}
}

// TestFaultKillServeMidPull kills `mapsync serve` (SIGKILL) in the middle of a scheduled first
// pull and starts it again: the next scheduled pull resumes, and the store ends exactly as one
// clean pull leaves it, with no plan twice.
func TestFaultKillServeMidPull(t *testing.T) {
	pgtest.Faults(t)
	key, _ := secrets.GenerateKey()
	t.Setenv(secrets.EnvKey, key)
	t.Setenv(config.EnvDatabaseURL, "")
	const conn = "sandbox-hubspot"
	db := storetest.NewSchema(t)
	cfg, sb := sandboxConfigWith(t, db, 1000, func(s string) string {
		s = withoutPush(s)
		s = strings.Replace(s, "    time_zone: America/New_York\n", "    time_zone: America/New_York\n    schedule: \"@every 1s\"\n    full_schedule: \"\"\n", 1)
		return strings.Replace(s, "    time_zone: Europe/Berlin\n", "    time_zone: Europe/Berlin\n    schedule: \"\"\n    full_schedule: \"\"\n", 1)
	})
	sb.HubSpot.SetLatency(100 * time.Millisecond)
	a := startServe(t, cfg)
	ctx := context.Background()
	s, err := store.Open(ctx, db, store.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var connID int64
	waitFor(t, 90*time.Second, "a scheduled first pull with some deals or contacts stored", func() (bool, string) {
		c, err := s.ConnectionByName(ctx, conn)
		if err != nil {
			return false, err.Error()
		}
		connID = c.ID
		counts, err := s.RecordCounts(ctx, c.ID)
		return err == nil && counts["deal"]+counts["contact"] > 0, fmt.Sprintf("%v, %v", counts, err)
	})
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.done
	counts, _ := s.RecordCounts(ctx, connID)
	t.Logf("killed with %v stored", counts)
	sb.HubSpot.SetLatency(0)
	b := startServe(t, cfg)
	// The killed run's lease expires (15 s), a scheduled run takes it over and resumes.
	waitFor(t, 90*time.Second, "a scheduled pull succeeds after the restart", func() (bool, string) {
		runs, err := s.Runs(ctx, connID, 50)
		for _, r := range runs {
			if r.Status == store.RunSucceeded {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v, %v", runs, err)
	})
	// The plan catch-up follows the pull: wait until the store holds what a clean pull leaves.
	want := referencePull(t, cfg, db, storetest.NewSchema(t), conn)
	waitSnapshot(t, db, conn, want)
	// Runs that ended before the stop below (a run SIGTERM cuts short is recorded cancelled).
	runs, err := s.Runs(ctx, connID, 500)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.Status == store.RunFailed {
			t.Errorf("run %d failed: %s", r.ID, r.Error)
		}
	}
	if code := b.stop(t, 30*time.Second); code != 0 {
		t.Errorf("serve's exit code after SIGTERM: %d", code)
	}
	compareSnapshots(t, snapshotStore(t, db, conn), want)
	if last := runs[len(runs)-1]; last.Status != store.RunAbandoned {
		t.Errorf("the killed run: %+v, want abandoned", last)
	}
}
