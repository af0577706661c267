package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/secrets"
	"github.com/mapsync/mapsync/store/storetest"
)

// withJobRegistrar registers r for the rest of the test.
func withJobRegistrar(t *testing.T, r jobRegistrar) {
	t.Helper()
	jobRegistrarsMu.Lock()
	n := len(jobRegistrars)
	jobRegistrars = append(jobRegistrars, r)
	jobRegistrarsMu.Unlock()
	t.Cleanup(func() {
		jobRegistrarsMu.Lock()
		defer jobRegistrarsMu.Unlock()
		jobRegistrars = slices.Delete(jobRegistrars, n, n+1)
	})
}

type wiringTickArgs struct{}

func (wiringTickArgs) Kind() string { return "wiring_test_tick" }

type wiringNoteArgs struct {
	Note string `json:"note"`
}

func (wiringNoteArgs) Kind() string { return "wiring_test_note" }

// wiringTickWorker is a periodic job's worker: it inserts a note job through rt.jobs, as code
// running in serve does.
type wiringTickWorker struct {
	river.WorkerDefaults[wiringTickArgs]
	rt *runtime
}

func (w *wiringTickWorker) Work(ctx context.Context, _ *river.Job[wiringTickArgs]) error {
	if _, err := w.rt.jobs.Insert(ctx, wiringNoteArgs{Note: "in an hour"}, &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)}); err != nil {
		return err
	}
	_, err := w.rt.jobs.Insert(ctx, wiringNoteArgs{Note: "from the periodic job"}, nil)
	return err
}

type wiringNoteWorker struct {
	river.WorkerDefaults[wiringNoteArgs]
	seen chan string
}

func (w *wiringNoteWorker) Work(_ context.Context, job *river.Job[wiringNoteArgs]) error {
	select {
	case w.seen <- job.Args.Note:
	default:
	}
	return nil
}

// TestServeJobRegistrar runs serve with a registered job kind, on both databases: the
// registrar's workers run, its periodic job runs in the leader, a worker inserts through
// rt.jobs, /metrics shows leadership and the jobs by state and kind, and an interrupt stops
// HTTP and River with exit 0.
func TestServeJobRegistrar(t *testing.T) {
	key, _ := secrets.GenerateKey()
	t.Setenv(secrets.EnvKey, key)
	t.Setenv(config.EnvDatabaseURL, "")
	for name, db := range map[string]func() string{
		"sqlite":   func() string { return "sqlite:" + filepath.Join(t.TempDir(), "m.db") },
		"postgres": func() string { return storetest.NewSchema(t) },
	} {
		t.Run(name, func(t *testing.T) {
			seen := make(chan string, 16)
			withJobRegistrar(t, func(_ context.Context, rt *runtime, w *river.Workers) ([]*river.PeriodicJob, error) {
				if rt.jobs != nil {
					t.Errorf("rt.jobs is set while registrars run")
				}
				river.AddWorker(w, &wiringTickWorker{rt: rt})
				river.AddWorker(w, &wiringNoteWorker{seen: seen})
				return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
					func() (river.JobArgs, *river.InsertOpts) { return wiringTickArgs{}, nil },
					&river.PeriodicJobOpts{RunOnStart: true})}, nil
			})
			cfg, _ := sandboxConfigWith(t, db(), 5, nil)
			mustRun(t, "--config", cfg, "migrate", "up")
			addr := freeAddr(t)
			var out strings.Builder
			stop := startCLI(t, &out, "--config", cfg, "--log-level", "warn", "serve", "--addr", addr, "--shutdown-timeout", "5s")
			select {
			case note := <-seen:
				if note != "from the periodic job" {
					t.Fatalf("note %q", note)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the periodic job did not insert its note job within 30s")
			}
			for _, want := range []string{"mapsync_leader 1", `mapsync_jobs{kind="wiring_test_note",state="scheduled"} 1`} {
				waitFor(t, 20*time.Second, "/metrics shows "+want, func() (bool, string) {
					_, metrics := httpGet("http://" + addr + "/metrics")
					return strings.Contains(metrics, want), metrics
				})
			}
			if code := stop(); code != 0 {
				t.Fatalf("serve exit code after interrupt: got %d, want 0\n%s", code, out.String())
			}
		})
	}
}
