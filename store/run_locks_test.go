package store_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

func TestRunLock(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			var nowMS atomic.Int64
			nowMS.Store(t0.UnixMilli())
			s := storetest.Open(t, b, storetest.Options{Now: func() time.Time { return time.UnixMilli(nowMS.Load()) }})
			c, err := s.EnsureConnection(ctx, "hs", "hubspot")
			if err != nil {
				t.Fatal(err)
			}
			other, err := s.EnsureConnection(ctx, "sf", "salesforce")
			if err != nil {
				t.Fatal(err)
			}
			ttl := 30 * time.Second
			if err := s.AcquireRunLock(ctx, c.ID, "a", "sync run (manual, incremental)", ttl); err != nil {
				t.Fatalf("first acquire: %v", err)
			}
			err = s.AcquireRunLock(ctx, c.ID, "b", "schedule", ttl)
			var le *store.LockedError
			if !errors.Is(err, store.ErrLocked) || !errors.As(err, &le) || le.Lock.Holder != "a" || !strings.Contains(err.Error(), "sync run (manual, incremental)") {
				t.Fatalf("second acquire: got %v, want ErrLocked naming holder a and its purpose", err)
			}
			if err := s.AcquireRunLock(ctx, other.ID, "b", "schedule", ttl); err != nil {
				t.Fatalf("another connection's lock is independent: %v", err)
			}

			// Renewed before it expires, the lease holds past its first end.
			nowMS.Add((20 * time.Second).Milliseconds())
			if err := s.RenewRunLock(ctx, c.ID, "a", ttl); err != nil {
				t.Fatalf("renew: %v", err)
			}
			nowMS.Add((20 * time.Second).Milliseconds())
			if err := s.AcquireRunLock(ctx, c.ID, "b", "schedule", ttl); !errors.Is(err, store.ErrLocked) {
				t.Fatalf("acquire of a renewed lease: got %v, want ErrLocked", err)
			}

			// Not renewed (its process died): once expired, the next run takes it over, and the
			// old holder's renewal and release then fail or do nothing.
			nowMS.Add(ttl.Milliseconds())
			if err := s.AcquireRunLock(ctx, c.ID, "b", "schedule", ttl); err != nil {
				t.Fatalf("acquire of an expired lease: %v", err)
			}
			if err := s.RenewRunLock(ctx, c.ID, "a", ttl); !errors.Is(err, store.ErrLockLost) {
				t.Fatalf("renew by the old holder: got %v, want ErrLockLost", err)
			}
			if err := s.ReleaseRunLock(ctx, c.ID, "a"); err != nil {
				t.Fatal(err)
			}
			if l, err := s.RunLockOf(ctx, c.ID); err != nil || l.Holder != "b" {
				t.Fatalf("after the old holder's release: got %+v, %v; want still held by b", l, err)
			}
			if err := s.ReleaseRunLock(ctx, c.ID, "b"); err != nil {
				t.Fatal(err)
			}
			if err := s.AcquireRunLock(ctx, c.ID, "c", "webhook", ttl); err != nil {
				t.Fatalf("acquire after release: %v", err)
			}
		})
	}
}

func TestAbandonRuns(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c, err := s.EnsureConnection(ctx, "hs", "hubspot")
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.EnsureConnection(ctx, "sf", "salesforce")
		if err != nil {
			t.Fatal(err)
		}
		done, err := s.StartRun(ctx, c.ID, store.RunIncremental, store.TriggerManual)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.FinishRun(ctx, done, store.RunSucceeded, map[string]int{}, ""); err != nil {
			t.Fatal(err)
		}
		dead, err := s.StartRun(ctx, c.ID, store.RunFull, store.TriggerSchedule)
		if err != nil {
			t.Fatal(err)
		}
		otherRun, err := s.StartRun(ctx, other.ID, store.RunFull, store.TriggerSchedule)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := s.AbandonRuns(ctx, c.ID, "process stopped")
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 1 || ids[0] != dead {
			t.Fatalf("abandoned: got %v, want [%d]", ids, dead)
		}
		for id, want := range map[int64]string{done: store.RunSucceeded, dead: store.RunAbandoned, otherRun: store.RunRunning} {
			r, err := s.Run(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != want {
				t.Errorf("run %d: got status %s, want %s", id, r.Status, want)
			}
			if want == store.RunAbandoned && (r.FinishedAt == nil || r.Error != "process stopped") {
				t.Errorf("abandoned run %d: got finished %v error %q, want a finish time and the reason", id, r.FinishedAt, r.Error)
			}
		}
	})
}
