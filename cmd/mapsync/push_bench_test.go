package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/secrets"
	"github.com/mapsync/mapsync/sync/push"
)

// BenchmarkPush10k pushes every planned deal of both sandboxes (about 10,000 plans each, from
// 15,000 sandbox deals; MAPSYNC_BENCH_PUSH_DEALS changes that) on SQLite, through the CLI's
// Pusher over HTTP:
//
//   - changed: every deal has fields to write (the push state is cleared and the plans marked
//     before each run); reports the write calls per 10,000 plans against the limits (at
//     most 50 Salesforce collection calls, 100 HubSpot batch calls) and the seconds a push takes;
//
//   - unchanged: the plans are marked again with nothing changed: 0 write calls.
//
//     go test -run XXX -bench BenchmarkPush10k -benchtime 1x ./cmd/mapsync/
func BenchmarkPush10k(b *testing.B) {
	deals := 15_000
	if v, err := strconv.Atoi(os.Getenv("MAPSYNC_BENCH_PUSH_DEALS")); err == nil && v > 0 {
		deals = v
	}
	key, _ := secrets.GenerateKey()
	b.Setenv(secrets.EnvKey, key)
	b.Setenv(config.EnvDatabaseURL, "")
	a := &app{stdout: &strings.Builder{}, stderr: &strings.Builder{}}
	a.setupLogger()
	sb, err := a.startSandboxes(sandboxOptions{sfAddr: "127.0.0.1:0", hsAddr: "127.0.0.1:0", deals: deals, seed: 5, noLimits: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(sb.Close)
	f := &pushFixture{sb: sb, cfg: filepath.Join(b.TempDir(), "mapsync.yaml")}
	cfg := strings.Replace(sb.configYAML("sqlite:"+filepath.Join(b.TempDir(), "m.db")), "templates:\n  dir: examples/templates\n",
		"templates:\n  dir: "+filepath.Join("..", "..", "examples", "templates")+"\n", 1)
	// The governor paces requests by the configured rate; the benchmark measures calls, not the
	// pacing of a production org.
	if err := os.WriteFile(f.cfg, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	cli := func(args ...string) {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), append([]string{"--config", f.cfg, "--log-level", "error"}, args...), &out, &errOut); code != 0 {
			b.Fatalf("mapsync %v: exit %d: %s %s", args, code, out.String(), errOut.String())
		}
	}
	start := time.Now()
	cli("migrate", "up")
	cli("templates", "import")
	cli("sync", "run", "--connection", sfConn)
	cli("sync", "run", "--connection", hsConn)
	b.Logf("set-up: %d sandbox deals per CRM pulled and planned in %s", deals, time.Since(start).Round(time.Second))

	limits := map[string]float64{sfConn: 50, hsConn: 100}
	for _, name := range []string{sfConn, hsConn} {
		var planned []string
		withRT := func(fn func(rt *runtime)) {
			a := &app{stdout: &strings.Builder{}, stderr: &strings.Builder{}, configPath: f.cfg}
			a.setupLogger()
			rt, err := a.newRuntime(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			defer rt.Close()
			fn(rt)
		}
		withRT(func(rt *runtime) {
			db := rt.store.DB()
			if err := db.Select(&planned, db.Rebind(`SELECT DISTINCT deal_id FROM plans WHERE connection = ?`), name); err != nil {
				b.Fatal(err)
			}
		})
		per10k := 10_000 / float64(len(planned))
		pushAll := func(b *testing.B, clearState bool) (push.Summary, int, time.Duration) {
			var sum push.Summary
			var calls int
			var took time.Duration
			withRT(func(rt *runtime) {
				ctx := context.Background()
				b.StopTimer()
				if clearState {
					if _, err := rt.store.DB().Exec(rt.store.DB().Rebind(`DELETE FROM push_state WHERE connection = ?`), name); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := rt.store.MarkDealPlans(ctx, name, planned); err != nil {
					b.Fatal(err)
				}
				p, err := rt.pusher(ctx)
				if err != nil {
					b.Fatal(err)
				}
				before := f.writeCalls(name)
				b.StartTimer()
				t0 := time.Now()
				sum, err = p.Push(ctx, name, push.Options{})
				took = time.Since(t0)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				calls = f.writeCalls(name) - before
				b.StartTimer()
			})
			return sum, calls, took
		}
		b.Run(name+"/changed", func(b *testing.B) {
			calls, secs := 0, 0.0
			for b.Loop() {
				sum, n, took := pushAll(b, true)
				secs += took.Seconds()
				if sum.Written != len(planned) {
					b.Fatalf("written %d of %d: %+v", sum.Written, len(planned), sum)
				}
				calls += n
			}
			perRun := float64(calls) / float64(b.N)
			b.ReportMetric(float64(len(planned)), "plans")
			b.ReportMetric(perRun*per10k, "write-calls/10k-plans")
			b.ReportMetric(limits[name], "limit-calls/10k-plans")
			b.ReportMetric(secs/float64(b.N)*per10k, "s/10k-plans")
			// The limit is the CRM's batch size (200, 100) at 10,000 plans: ceil(plans / batch).
			if batch := 10_000 / limits[name]; perRun > math.Ceil(float64(len(planned))/batch) {
				b.Errorf("%s: %.0f write calls for %d plans, more than batches of %.0f need (%.1f per 10,000, limit %.0f)",
					name, perRun, len(planned), batch, perRun*per10k, limits[name])
			}
		})
		b.Run(name+"/unchanged", func(b *testing.B) {
			calls := 0
			for b.Loop() {
				sum, n, _ := pushAll(b, false)
				if sum.Unchanged != len(planned) {
					b.Fatalf("unchanged %d of %d: %+v", sum.Unchanged, len(planned), sum)
				}
				calls += n
			}
			b.ReportMetric(float64(len(planned)), "plans")
			b.ReportMetric(float64(calls)/float64(b.N), "write-calls")
			if calls != 0 {
				b.Errorf("%s: %d write calls for unchanged plans, want 0", name, calls)
			}
		})
	}
}
