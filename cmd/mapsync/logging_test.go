package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/store"
)

// TestLogFormatAndLevel: JSON logs by default, console with --log-format console or log.format,
// the level from the configuration unless --log-level says otherwise.
func TestLogFormatAndLevel(t *testing.T) {
	t.Setenv(config.EnvDatabaseURL, "")
	t.Setenv(EnvConfig, "")
	dir := t.TempDir()
	writeConfig := func(name, logBlock string) string {
		path := filepath.Join(dir, name+".yaml")
		db := "sqlite:" + filepath.Join(dir, name+".db")
		if err := os.WriteFile(path, []byte(logBlock+"database:\n  url: "+db+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	const applied = "migration applied"
	tests := []struct {
		name, log string
		flags     []string
		check     func(stderr string) error
	}{
		{"json by default", "", nil, func(stderr string) error {
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			for _, l := range lines {
				var e struct{ Level, Message, Dialect string }
				if err := json.Unmarshal([]byte(l), &e); err != nil {
					return errors.New("a log line is not JSON: " + l)
				}
				if e.Level != "info" || e.Message != applied || e.Dialect != "sqlite" {
					return errors.New("unexpected log entry: " + l)
				}
			}
			if len(lines) != 2 {
				return errors.New("want one entry per migration")
			}
			return nil
		}},
		{"console by flag", "", []string{"--log-format", "console"}, consoleLogs},
		{"console by config", "log:\n  format: console\n", nil, consoleLogs},
		{"level from config", "log:\n  level: warn\n", nil, func(stderr string) error {
			if stderr != "" {
				return errors.New("info entries at level warn")
			}
			return nil
		}},
		{"flag beats config", "log:\n  level: warn\n", []string{"--log-level", "info"}, func(stderr string) error {
			if strings.Count(stderr, applied) != 2 {
				return errors.New("want the info entries")
			}
			return nil
		}},
	}
	for i, tc := range tests {
		cfg := writeConfig(strings.ReplaceAll(tc.name, " ", "-")+string(rune('a'+i)), tc.log)
		code, _, stderr := runCLI(t, append([]string{"--config", cfg, "migrate", "up"}, tc.flags...)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.name, code, stderr)
		}
		if err := tc.check(stderr); err != nil {
			t.Errorf("%s: %v\nstderr:\n%s", tc.name, err, stderr)
		}
	}
}

func consoleLogs(stderr string) error {
	if strings.Count(stderr, "migration applied") != 2 || !strings.Contains(stderr, "INF") || strings.Contains(stderr, `"level"`) {
		return errors.New("want two console-format info entries")
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
