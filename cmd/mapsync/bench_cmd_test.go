package main

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mapsync/mapsync/store/storetest"
)

// leftSchemas returns the bench schemas a run's stderr names that still exist.
func leftSchemas(t *testing.T, pgURL, stderr string) (named, left []string) {
	t.Helper()
	db, err := sql.Open("postgres", pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, m := range regexp.MustCompile(`PostgreSQL schema (mapsync_bench_\w+)`).FindAllStringSubmatch(stderr, -1) {
		named = append(named, m[1])
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = $1`, m[1]).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			left = append(left, m[1])
		}
	}
	return named, left
}

// TestBenchJSON: a tiny run prints exactly the figures the issue names, as numbers, under each
// scenario, on PostgreSQL (whose schemas it drops) and on the embedded database.
func TestBenchJSON(t *testing.T) {
	pg := storetest.NewSchema(t) // also fails (CI) or skips when PostgreSQL is not there
	want := map[string][]string{
		"instantiate": {"per_s"},
		"webhooks":    {"per_s", "events_per_s", "p99_ms"},
	}
	args := []string{"bench", "--json", "--scale", "0.01"}
	for name := range want {
		args = append(args, name)
	}
	for _, db := range []struct{ name, flag, value string }{{"postgres", "--database-url", pg}, {"embedded", "--db", "embedded"}} {
		t.Run(db.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append(args, db.flag, db.value)...)
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			var got map[string]map[string]any
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("stdout is not JSON: %v\n%s", err, out)
			}
			if len(got) != len(want) {
				t.Errorf("scenarios: got %v, want %v", got, want)
			}
			for scen, keys := range want {
				figs, ok := got[scen]
				if !ok {
					t.Errorf("no %q in %s", scen, out)
					continue
				}
				if len(figs) != len(keys) {
					t.Errorf("%s: got figures %v, want exactly %v", scen, figs, keys)
				}
				for _, k := range keys {
					v, ok := figs[k].(float64)
					if !ok || v <= 0 {
						t.Errorf("%s.%s: got %v, want a positive number", scen, k, figs[k])
					}
				}
			}
			if !strings.Contains(errOut, "bench instantiate: done in") {
				t.Errorf("stderr lacks the progress lines:\n%s", errOut)
			}
			named, left := leftSchemas(t, pg, errOut)
			if db.name == "postgres" && len(named) != len(want) {
				t.Errorf("schemas created: %v, want one per scenario", named)
			}
			if db.name == "embedded" && len(named) != 0 {
				t.Errorf("the embedded run created PostgreSQL schemas %v", named)
			}
			if len(left) > 0 {
				t.Errorf("schemas left behind after the run: %v", left)
			}
		})
	}
}

// TestBenchTable: the table names the machine, and one row per figure with its unit, target and
// verdict.
func TestBenchTable(t *testing.T) {
	code, out, errOut := runCLI(t, "bench", "--db", "embedded", "--scale", "0.01", "instantiate")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, re := range []string{
		`(?m)^machine: .*\d+ cores, [\d.]+ GB RAM, .*go1\.\d+.*, SQLite \d`,
		`(?m)^SCENARIO +FIGURE +VALUE +UNIT +LIMIT/TARGET +RESULT$`,
		`(?m)^instantiate +per_s +[\d.]+ +plans/s +≥ 500 \(target\) +(pass|FAIL)$`,
		`(?m)^instantiate: \d+ deals evaluated, \d+ plans of 40 actions created`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("table does not match %s:\n%s", re, out)
		}
	}
}

// TestBenchKeepsFile: --db FILE keeps each scenario's database as FILE-SCENARIO.db and refuses
// to overwrite one.
func TestBenchKeepsFile(t *testing.T) {
	base := filepath.Join(t.TempDir(), "b")
	if code, out, errOut := runCLI(t, "bench", "--db", base, "--scale", "0.01", "instantiate"); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(base + "-instantiate.db"); err != nil {
		t.Fatalf("the scenario's database is not kept: %v", err)
	}
	code, _, errOut := runCLI(t, "bench", "--db", base, "--scale", "0.01", "instantiate")
	if code != 1 || !strings.Contains(errOut, "b-instantiate.db exists") {
		t.Fatalf("second run on the same FILE: exit %d, stderr %q; want 1 and that the file exists", code, errOut)
	}
}

// TestBenchBadFlags: wrong flags and names are usage errors (exit 2) that say what is wrong,
// before anything starts.
func TestBenchBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"nosuch"}, `unknown scenario ["nosuch"]: known scenarios are [`},
		{[]string{"--scale", "0"}, "--scale: want more than 0"},
		{[]string{"--scale", "-1"}, "--scale: want more than 0"},
		{[]string{"--scale", "lots"}, `invalid argument "lots" for "--scale"`},
		{[]string{"--crm-latency", "-5ms"}, "--crm-latency: want a positive duration"},
		{[]string{"--crm-latency", "80"}, `invalid argument "80" for "--crm-latency"`},
		{[]string{"--db", "embedded", "--database-url", "postgres://x"}, "contradict"},
		{[]string{"--database-url", "mysql://x/y", "instantiate"}, "--database-url: want postgres://"},
		{[]string{"--bogus"}, "unknown flag: --bogus"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"bench"}, tc.args...)...)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errOut, tc.want)
			}
			if out != "" {
				t.Errorf("stdout: %q, want nothing", out)
			}
		})
	}
}
