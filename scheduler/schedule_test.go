package scheduler_test

import (
	"testing"
	"time"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/scheduler"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

func TestEntryNext(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 4, 9, 30, 0, 0, time.UTC) // 04:30 in New York
	for _, tc := range []struct {
		expr string
		loc  *time.Location
		from time.Time
		want time.Time
	}{
		// A daily reconcile at 03:00 in the connection's zone: 08:00 UTC in winter.
		{"0 3 * * *", ny, at, time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)},
		{"0 3 * * *", nil, at, time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC)},
		// @every is aligned to the clock, whenever the process started.
		{"@every 5m", ny, at.Add(7 * time.Second), at.Add(5 * time.Minute)},
		{"@every 5m", ny, at.Add(4*time.Minute + 59*time.Second), at.Add(5 * time.Minute)},
	} {
		s, err := config.CronParser.Parse(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		e := scheduler.NewEntry("hs", 1, false, s, tc.loc)
		if got := e.Next(tc.from); !got.Equal(tc.want) {
			t.Errorf("%s in %v after %s: got %s, want %s", tc.expr, tc.loc, tc.from, got.UTC(), tc.want)
		}
	}
}

// TestClaimScheduleTick: a tick is claimed once; an earlier tick is refused; modes apart.
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
