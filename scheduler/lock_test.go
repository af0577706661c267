package scheduler_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

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
