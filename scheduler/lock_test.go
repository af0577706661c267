package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/scheduler"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

func newLocker(t *testing.T, s *store.Store, ttl time.Duration) *scheduler.Locker {
	t.Helper()
	l, err := scheduler.NewLocker(s, scheduler.LockerConfig{TTL: ttl, Poll: 20 * time.Millisecond, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func connection(t *testing.T, s *store.Store) int64 {
	t.Helper()
	c, err := s.EnsureConnection(t.Context(), "hs", "hubspot")
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// TestLockerSerialisesRuns runs two Lockers (as two processes would: each its own store handle)
// on one connection: a second run refuses at once when asked not to wait, and one that waits
// runs only after the first has finished.
func TestLockerSerialisesRuns(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := storetest.Open(t, b)
			id := connection(t, s)
			la, lb := newLocker(t, s, 3*time.Second), newLocker(t, s, 3*time.Second)

			var running, overlaps atomic.Int32
			started, release := make(chan struct{}), make(chan struct{})
			firstDone := make(chan error, 1)
			go func() {
				firstDone <- la.Run(ctx, id, "sync run (manual, incremental)", 0, func(ctx context.Context) error {
					if running.Add(1) != 1 {
						overlaps.Add(1)
					}
					close(started)
					<-release
					running.Add(-1)
					return nil
				})
			}()
			<-started

			err := lb.Run(ctx, id, "schedule", 0, func(context.Context) error {
				t.Error("second run ran while the first held the lock")
				return nil
			})
			if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), "sync run (manual, incremental)") {
				t.Fatalf("second run without waiting: got %v, want ErrLocked naming the first run", err)
			}

			secondDone := make(chan error, 1)
			secondRan := make(chan struct{})
			go func() {
				secondDone <- lb.Run(ctx, id, "schedule", 30*time.Second, func(context.Context) error {
					if running.Add(1) != 1 {
						overlaps.Add(1)
					}
					close(secondRan)
					running.Add(-1)
					return nil
				})
			}()
			select {
			case <-secondRan:
				t.Fatal("the waiting run ran before the first finished")
			case <-time.After(100 * time.Millisecond): // a bound on a wrong outcome, not a wait for a right one
			}
			close(release)
			if err := <-firstDone; err != nil {
				t.Fatalf("first run: %v", err)
			}
			if err := <-secondDone; err != nil {
				t.Fatalf("waiting run: %v", err)
			}
			if n := overlaps.Load(); n != 0 {
				t.Fatalf("got %d overlapping runs, want 0", n)
			}
		})
	}
}

// TestLockerAbandonsDeadRuns: a process died holding the lock with a run recorded as running.
// Once its lease expires the next run takes the lock and marks that run abandoned.
func TestLockerAbandonsDeadRuns(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := storetest.Open(t, b)
			id := connection(t, s)
			dead, err := s.StartRun(ctx, id, store.RunFull, store.TriggerSchedule)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.AcquireRunLock(ctx, id, "dead-process", "schedule", 400*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			l := newLocker(t, s, 3*time.Second)
			var sawStatus string
			err = l.Run(ctx, id, "sync run", 10*time.Second, func(ctx context.Context) error {
				r, err := s.Run(ctx, dead)
				if err != nil {
					return err
				}
				sawStatus = r.Status
				return nil
			})
			if err != nil {
				t.Fatalf("run after the dead holder's lease expired: %v", err)
			}
			if sawStatus != store.RunAbandoned {
				t.Fatalf("dead run's status seen by the next run: got %q, want %q", sawStatus, store.RunAbandoned)
			}
		})
	}
}

// TestLockerStopsRunOnLostLease: when another run takes the lease over (this process could not
// renew in time), the run's context is cancelled and Run reports ErrLockLost.
func TestLockerStopsRunOnLostLease(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := storetest.Open(t, b)
			id := connection(t, s)
			l := newLocker(t, s, 600*time.Millisecond)
			err := l.Run(ctx, id, "sync run", 0, func(ctx context.Context) error {
				// Take the lease over as a run elsewhere would after an expiry.
				if _, err := s.DB().ExecContext(ctx, s.DB().Rebind(`UPDATE run_locks SET holder = ? WHERE connection_id = ?`), "thief", id); err != nil {
					return err
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(10 * time.Second):
					return errors.New("run not stopped after losing its lease")
				}
			})
			if !errors.Is(err, store.ErrLockLost) || !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want ErrLockLost and the run's cancellation", err)
			}
			if lk, err := s.RunLockOf(ctx, id); err != nil || lk.Holder != "thief" {
				t.Fatalf("lock after the loser stopped: got %+v, %v; want still the new holder's", lk, err)
			}
		})
	}
}

// renewCounter counts the lease renewals that succeeded.
type renewCounter struct {
	*store.Store
	renewed atomic.Int32
}

func (c *renewCounter) RenewRunLock(ctx context.Context, connectionID int64, holder string, ttl time.Duration) error {
	err := c.Store.RenewRunLock(ctx, connectionID, holder, ttl)
	if err == nil {
		c.renewed.Add(1)
	}
	return err
}

// TestLockerRenewsWhileStoreIsBusy holds a run lock while many callers keep the store writing
// large pull pages back to back, as a full pull's writers do. On SQLite every one of them waits
// for the single connection, which database/sql hands to a random waiter: without the run lock's
// priority the heartbeat could wait behind many pages in a row and lose the lease ("run lock
// could not be renewed in time"). The lease must be renewed again and again, and the run never
// stopped.
func TestLockerRenewsWhileStoreIsBusy(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := storetest.Open(t, b)
			id := connection(t, s)
			const callers, records, renewals = 16, 3000, 8
			conns := make([]int64, callers)
			for i := range conns {
				c, err := s.EnsureConnection(ctx, fmt.Sprintf("busy%d", i), "hubspot")
				if err != nil {
					t.Fatal(err)
				}
				conns[i] = c.ID
			}
			// The lease is sized to this machine's page time (the race detector or a loaded
			// machine makes one page take seconds): the heartbeat gives up after 2/3 of it, about
			// five pages' time, where without its priority it would wait behind a random draw
			// among 16 callers for every freed connection.
			warm := make([]connectors.Record, records)
			for j := range warm {
				warm[j] = connectors.Record{Object: connectors.ObjectDeal, ID: fmt.Sprintf("w-%d", j), ModifiedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
					Fields: map[string]any{"dealname": fmt.Sprintf("deal %d", j), "amount": float64(j)}}
			}
			began := time.Now()
			if _, err := s.ApplyPullPage(ctx, store.PullPage{ConnectionID: id, Object: connectors.ObjectDeal, Records: warm}); err != nil {
				t.Fatal(err)
			}
			ttl := max(3*time.Second, 8*time.Since(began))
			t.Logf("one page of %d records took %s: lease %s", records, time.Since(began), ttl)
			rc := &renewCounter{Store: s}
			l, err := scheduler.NewLocker(rc, scheduler.LockerConfig{TTL: ttl, Poll: 20 * time.Millisecond, Logger: zerolog.Nop()})
			if err != nil {
				t.Fatal(err)
			}
			var pages atomic.Int64
			err = l.Run(ctx, id, "sync run (manual, full)", 0, func(runCtx context.Context) error {
				busyCtx, stop := context.WithCancel(runCtx)
				var wg sync.WaitGroup
				errs := make(chan error, callers)
				for i, cid := range conns {
					wg.Go(func() {
						stamp := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
						recs := make([]connectors.Record, records)
						for round := 0; busyCtx.Err() == nil; round++ {
							stamp = stamp.Add(time.Second)
							for j := range recs {
								recs[j] = connectors.Record{Object: connectors.ObjectDeal, ID: fmt.Sprintf("d%d-%d", i, j), ModifiedAt: stamp,
									Fields: map[string]any{"dealname": fmt.Sprintf("deal %d round %d", j, round), "amount": float64(j)}}
							}
							if _, err := s.ApplyPullPage(busyCtx, store.PullPage{ConnectionID: cid, Object: connectors.ObjectDeal, Records: recs}); err != nil {
								if busyCtx.Err() == nil {
									errs <- err
								}
								return
							}
							pages.Add(1)
						}
					})
				}
				defer func() { stop(); wg.Wait() }()
				// Wait on the condition (enough renewals under load) with a generous bound.
				deadline := time.NewTimer(2 * time.Minute)
				defer deadline.Stop()
				tick := time.NewTicker(50 * time.Millisecond)
				defer tick.Stop()
				for rc.renewed.Load() < renewals {
					select {
					case <-runCtx.Done():
						return fmt.Errorf("run stopped after %d renewals while %d pages were stored: %w", rc.renewed.Load(), pages.Load(), context.Cause(runCtx))
					case err := <-errs:
						return fmt.Errorf("busy caller: %w", err)
					case <-deadline.C:
						return fmt.Errorf("only %d renewals in 2 minutes (%d pages stored)", rc.renewed.Load(), pages.Load())
					case <-tick.C:
					}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("run holding the lock while the store is busy: %v", err)
			}
			t.Logf("%d renewals while %d pages of %d records were stored by %d callers", rc.renewed.Load(), pages.Load(), records, callers)
		})
	}
}
