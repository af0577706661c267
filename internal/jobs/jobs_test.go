package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/internal/jobs"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

type echoArgs struct {
	Note string `json:"note"`
}

func (echoArgs) Kind() string { return "jobs_test_echo" }

type echoWorker struct {
	river.WorkerDefaults[echoArgs]
	seen chan string
}

func (w *echoWorker) Work(ctx context.Context, job *river.Job[echoArgs]) error {
	w.seen <- job.Args.Note
	return nil
}

type testBundle struct {
	store  *store.Store
	client *jobs.Client
	seen   chan string
}

func setup(t *testing.T, backend store.Dialect) *testBundle {
	t.Helper()
	s := storetest.Open(t, backend)
	w := &echoWorker{seen: make(chan string, 16)}
	workers := jobs.NewWorkers()
	river.AddWorker(workers, w)
	c, err := jobs.New(t.Context(), s, jobs.Config{Workers: workers, Logger: zerolog.Nop(), TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 30*time.Second)
		defer cancel()
		if err := c.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return &testBundle{store: s, client: c, seen: w.seen}
}

// waitSeen waits for the worker to run a job and returns its note.
func waitSeen(t *testing.T, b *testBundle) string {
	t.Helper()
	select {
	case note := <-b.seen:
		return note
	case <-time.After(10 * time.Second):
		t.Fatal("no job was worked within 10s")
		return ""
	}
}

// inTx runs fn in a transaction of the store and commits it, or rolls it back if rollback.
func inTx(t *testing.T, s *store.Store, rollback bool, fn func(tx *sqlx.Tx)) {
	t.Helper()
	tx, err := s.DB().BeginTxx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	fn(tx)
	if rollback {
		err = tx.Rollback()
	} else {
		err = tx.Commit()
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestInsertTx(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			t.Run("committed job is worked", func(t *testing.T) {
				t.Parallel()
				b := setup(t, backend)
				inTx(t, b.store, false, func(tx *sqlx.Tx) {
					if _, err := b.client.InsertTx(t.Context(), tx, echoArgs{Note: "committed"}, nil); err != nil {
						t.Fatal(err)
					}
				})
				if got := waitSeen(t, b); got != "committed" {
					t.Fatalf("worked %q, want committed", got)
				}
			})
			t.Run("rolled back job is never worked", func(t *testing.T) {
				t.Parallel()
				b := setup(t, backend)
				inTx(t, b.store, true, func(tx *sqlx.Tx) {
					if _, err := b.client.InsertTx(t.Context(), tx, echoArgs{Note: "rolled back"}, nil); err != nil {
						t.Fatal(err)
					}
				})
				// A later committed job is worked; the rolled-back one does not exist at all.
				inTx(t, b.store, false, func(tx *sqlx.Tx) {
					if _, err := b.client.InsertTx(t.Context(), tx, echoArgs{Note: "after"}, nil); err != nil {
						t.Fatal(err)
					}
				})
				if got := waitSeen(t, b); got != "after" {
					t.Fatalf("worked %q, want after", got)
				}
				res, err := b.client.River().JobList(t.Context(), river.NewJobListParams().Kinds(echoArgs{}.Kind()).States())
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Jobs) != 1 {
					t.Fatalf("got %d jobs, want 1 (the rolled-back insert must leave no row)", len(res.Jobs))
				}
			})
			t.Run("job scheduled a second ahead is worked about then", func(t *testing.T) {
				t.Parallel()
				b := setup(t, backend)
				start := time.Now()
				if _, err := b.client.Insert(t.Context(), echoArgs{Note: "soon"}, &river.InsertOpts{ScheduledAt: start.Add(time.Second)}); err != nil {
					t.Fatal(err)
				}
				waitSeen(t, b)
				// River's scheduler would promote a scheduled job only after up to 5 s.
				if took := time.Since(start); took < time.Second || took > 3*time.Second {
					t.Fatalf("worked after %s, want between 1s and 3s", took)
				}
			})
		})
	}
}
