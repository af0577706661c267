package scheduler_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/scheduler"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// TestSchedulersShareTicks: two schedulers (two replicas) on one database fire the same entry;
// every tick runs exactly once, whichever replica claims it.
func TestSchedulersShareTicks(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			s := storetest.Open(t, b)
			id := connection(t, s)
			var mu sync.Mutex
			runs := map[time.Time]int{}
			enough := make(chan struct{})
			newReplica := func() *scheduler.Scheduler {
				sc, err := scheduler.New(scheduler.Config{
					Entries: []scheduler.Entry{{Connection: "hs", ConnectionID: id, Schedule: scheduler.Every(150 * time.Millisecond)}},
					Claim: func(ctx context.Context, e scheduler.Entry, tick time.Time) (bool, error) {
						return s.ClaimScheduleTick(ctx, e.ConnectionID, "incremental", tick)
					},
					Run: func(ctx context.Context, e scheduler.Entry, tick time.Time) error {
						mu.Lock()
						defer mu.Unlock()
						runs[tick]++
						if len(runs) == 5 {
							close(enough)
						}
						return nil
					},
					Logger: zerolog.Nop(),
				})
				if err != nil {
					t.Fatal(err)
				}
				return sc
			}
			ctx, cancel := context.WithCancel(t.Context())
			var wg sync.WaitGroup
			for range 2 {
				sc := newReplica()
				wg.Add(1)
				go func() { defer wg.Done(); sc.Run(ctx) }()
			}
			select {
			case <-enough:
			case <-time.After(20 * time.Second):
				t.Fatal("5 ticks did not run within 20s")
			}
			cancel()
			wg.Wait()
			mu.Lock()
			defer mu.Unlock()
			for tick, n := range runs {
				if n != 1 {
					t.Errorf("tick %s ran %d times, want once", tick.Format(time.RFC3339Nano), n)
				}
			}
		})
	}
}

func TestClaimScheduleTick(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		id := connection(t, s)
		tick := time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)
		for i, tc := range []struct {
			name string
			tick time.Time
			want bool
		}{
			{"full", tick, true}, {"full", tick, false}, {"incremental", tick, true},
			{"full", tick.Add(-time.Hour), false}, {"full", tick.Add(24 * time.Hour), true},
		} {
			got, err := s.ClaimScheduleTick(ctx, id, tc.name, tc.tick)
			if err != nil || got != tc.want {
				t.Errorf("claim %d (%s at %s): got %v, %v; want %v", i, tc.name, tc.tick, got, err, tc.want)
			}
		}
	})
}
