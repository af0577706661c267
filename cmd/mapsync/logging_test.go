package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/store"
)

func TestMain(m *testing.M) {
	setLogDefaults() // as main does
	os.Exit(m.Run())
}

// TestLogFormatAndLevel: JSON logs by default, console with --log-format console or log.format,
// the level from the configuration unless --log-level says otherwise; console logs into a file or
// a pipe carry no colour codes, and durations carry their unit.
func TestLogFormatAndLevel(t *testing.T) {
	t.Setenv(config.EnvDatabaseURL, "")
	t.Setenv(EnvConfig, "")
	dir := t.TempDir()
	const probe = "probe event"
	tests := []struct {
		name, log          string
		levelFlag, fmtFlag string
		check              func(stderr string) error
	}{
		{name: "json by default", check: func(stderr string) error {
			var e struct{ Level, Message, Took string }
			if err := json.Unmarshal([]byte(stderr), &e); err != nil {
				return errors.New("the log line is not one JSON object")
			}
			if e.Level != "info" || e.Message != probe || e.Took != "1.5s" {
				return fmt.Errorf("got level %q message %q took %q, want info, %q, 1.5s", e.Level, e.Message, e.Took, probe)
			}
			return nil
		}},
		{name: "console by flag", fmtFlag: "console", check: consoleLogs},
		{name: "console by config", log: "log:\n  format: console\n", check: consoleLogs},
		{name: "level from config", log: "log:\n  level: warn\n", check: func(stderr string) error {
			if stderr != "" {
				return errors.New("info entries at level warn")
			}
			return nil
		}},
		{name: "flag beats config", log: "log:\n  level: warn\n", levelFlag: "info", check: func(stderr string) error {
			if !strings.Contains(stderr, probe) {
				return errors.New("want the info entry")
			}
			return nil
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			if err := os.WriteFile(path, []byte(tc.log+"database:\n  url: sqlite:"+filepath.Join(dir, "m.db")+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			a := &app{stdout: io.Discard, stderr: &stderr, configPath: path, logLevel: tc.levelFlag, logFormat: tc.fmtFlag}
			if _, err := a.loadConfig(); err != nil {
				t.Fatal(err)
			}
			a.log.Info().Dur("took", 1500*time.Millisecond).Msg(probe)
			if err := tc.check(stderr.String()); err != nil {
				t.Errorf("%v\nstderr:\n%s", err, stderr.String())
			}
		})
	}
}

func consoleLogs(stderr string) error {
	switch {
	case !strings.Contains(stderr, "INF") || !strings.Contains(stderr, "probe event") || strings.Contains(stderr, `"level"`):
		return errors.New("want one console-format info entry")
	case strings.Contains(stderr, "\x1b["):
		return errors.New("colour codes in logs that go to a file or a pipe")
	case !strings.Contains(stderr, "took=1.5s"):
		return errors.New("want the duration with its unit: took=1.5s")
	}
	return nil
}

// TestSchemaAheadStatusFails: `migrate status` on a database a newer mapsync migrated lists the
// migrations and exits 1 with one line saying to upgrade; a missing required flag is a usage error.
func TestSchemaAheadStatusFails(t *testing.T) {
	t.Setenv(EnvConfig, "")
	db := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	t.Setenv(config.EnvDatabaseURL, db)
	mustRun(t, "migrate", "up")
	if out := mustRun(t, "migrate", "status"); strings.Count(out, "applied") < 2 {
		t.Fatalf("status:\n%s\nwant the applied migrations", out)
	}
	s, err := store.Open(t.Context(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(t.Context(), `INSERT INTO goose_db_version (version_id, is_applied) VALUES (999999, true)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	code, out, errOut := runCLI(t, "migrate", "status")
	if code != 1 || !strings.Contains(out, "applied") || !strings.Contains(errOut, "newer than this binary") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Fatalf("status on a newer schema: exit %d\nstdout: %s\nstderr: %s\nwant the list, then exit 1 with one line", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "sync", "run"); code != 2 || !strings.Contains(errOut, `required flag(s) "connection"`) {
		t.Fatalf("missing --connection: exit %d, %q; want 2 naming the flag", code, errOut)
	}
}
