package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// storeSnapshot is what a pull leaves in a PostgreSQL store for one connection, row by row, in
// a form two stores can be compared in: records (object, id, content, stamp, deleted), the deals'
// contact roles, and the plans by deal and template.
type storeSnapshot struct {
	records, roles, plans []string
}

// snapshotStore reads connection's rows from the PostgreSQL store at dbURL.
func snapshotStore(t *testing.T, dbURL, connection string) storeSnapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var snap storeSnapshot
	read := func(dst *[]string, q string) {
		t.Helper()
		rows, err := db.QueryxContext(ctx, q, connection)
		if err != nil {
			t.Fatalf("snapshot: %v", err)
		}
		defer rows.Close()
		for rows.Next() {
			cols, err := rows.SliceScan()
			if err != nil {
				t.Fatal(err)
			}
			parts := make([]string, len(cols))
			for i, c := range cols {
				switch v := c.(type) {
				case []byte:
					parts[i] = string(v)
				case time.Time:
					parts[i] = v.UTC().Format(time.RFC3339Nano)
				default:
					parts[i] = fmt.Sprint(v)
				}
			}
			*dst = append(*dst, strings.Join(parts, " "))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	read(&snap.records, `SELECT r.object, r.crm_id, md5(r.fields::text), r.modified_at, r.deleted FROM crm_records r
		JOIN connections c ON c.id = r.connection_id WHERE c.name = $1 ORDER BY r.object, r.crm_id`)
	read(&snap.roles, `SELECT d.deal_id, d.contact_id, d.role, d.is_primary FROM deal_contacts d
		JOIN connections c ON c.id = d.connection_id WHERE c.name = $1 ORDER BY d.deal_id, d.contact_id, d.role`)
	read(&snap.plans, `SELECT deal_id, template_key, COUNT(*) FROM plans WHERE connection = $1
		GROUP BY deal_id, template_key ORDER BY deal_id, template_key`)
	return snap
}

// compareSnapshots fails the test, naming the first differing rows, unless got equals want.
func compareSnapshots(t *testing.T, got, want storeSnapshot) {
	t.Helper()
	if len(want.records) == 0 || len(want.plans) == 0 {
		t.Fatalf("the reference pull stored %d records and %d plans: nothing to compare", len(want.records), len(want.plans))
	}
	for _, c := range []struct {
		what      string
		got, want []string
	}{{"records", got.records, want.records}, {"deal contact roles", got.roles, want.roles}, {"plans (deal, template, count)", got.plans, want.plans}} {
		if slices.Equal(c.got, c.want) {
			continue
		}
		extra, missing := diffRows(c.got, c.want)
		t.Errorf("%s: %d rows, the clean pull's %d; %d not in the clean pull (first: %v), %d missing (first: %v)",
			c.what, len(c.got), len(c.want), len(extra), first(extra, 3), len(missing), first(missing, 3))
	}
}

func diffRows(got, want []string) (extra, missing []string) {
	in := func(rows []string) map[string]int {
		m := map[string]int{}
		for _, r := range rows {
			m[r]++
		}
		return m
	}
	g, w := in(got), in(want)
	for r, n := range g {
		if n > w[r] {
			extra = append(extra, r)
		}
	}
	for r, n := range w {
		if n > g[r] {
			missing = append(missing, r)
		}
	}
	slices.Sort(extra)
	slices.Sort(missing)
	return extra, missing
}

func first(rows []string, n int) []string {
	return rows[:min(n, len(rows))]
}

// referencePull pulls connection once, cleanly, from the same sandboxes into a fresh schema of
// the shared test PostgreSQL (cfg's database replaced by refURL), with the same templates, and
// returns what it stored.
func referencePull(t *testing.T, cfg, dbURL, refURL, connection string) storeSnapshot {
	t.Helper()
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), dbURL) {
		t.Fatalf("config %s does not name database %s", cfg, dbURL)
	}
	ref := strings.Replace(cfg, ".yaml", "-reference.yaml", 1)
	if err := os.WriteFile(ref, []byte(strings.Replace(string(data), dbURL, refURL, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	// The built binary, not the test process: under -race an in-process pull takes several times
	// as long.
	runBinary(t, "--config", ref, "migrate", "up")
	runBinary(t, "--config", ref, "templates", "import")
	runBinary(t, "--config", ref, "sync", "run", "--connection", connection)
	return snapshotStore(t, refURL, connection)
}

// runBinary runs the built mapsync binary with args and returns its stdout, failing the test
// when it exits non-zero. Unlike mustRun it is safe in parallel tests and not slowed by -race.
func runBinary(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(mapsyncBinary(t), args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mapsync %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// withoutPush removes the push mappings from a sandbox configuration: with them serve writes
// plan progress to the CRM, which changes the deals (and their stamps) that a later pull reads,
// so the store would drift from a reference pull taken at another moment. The pull fault tests
// compare pulls; push faults have their own tests.
func withoutPush(cfg string) string {
	return strings.ReplaceAll(strings.ReplaceAll(cfg, sandboxPushHubSpot, ""), sandboxPushSalesforce, "")
}

// waitSnapshot waits until connection's rows in the store at dbURL equal want (serve's plan
// catch-up follows its pulls).
func waitSnapshot(t *testing.T, dbURL, connection string, want storeSnapshot) {
	t.Helper()
	waitFor(t, 60*time.Second, "the store to hold what a clean pull leaves", func() (bool, string) {
		got := snapshotStore(t, dbURL, connection)
		return slices.Equal(got.records, want.records) && slices.Equal(got.roles, want.roles) && slices.Equal(got.plans, want.plans),
			fmt.Sprintf("%d/%d records, %d/%d roles, %d/%d plans", len(got.records), len(want.records), len(got.roles), len(want.roles), len(got.plans), len(want.plans))
	})
}
