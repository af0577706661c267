package store_test

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// A full pass that spans two runs: the first run commits a page with the pass's state in its
// cursor and dies; the second commits the rest an hour later and reconciles with the pass's
// original start. What the first run saw stays live; what neither saw is marked deleted. The
// cursor's Extra (the pass's state) round-trips exactly, and stays with its page.
func TestReconcileAcrossInterruptedPass(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			now := t0
			s := storetest.Open(t, b, storetest.Options{Now: func() time.Time { return now }})
			ctx := t.Context()
			c, _ := s.EnsureConnection(ctx, "hs", "hubspot")
			// Stored by an earlier pull: 1, 2, 3 and 4.
			if _, err := s.ApplyPullPage(ctx, store.PullPage{ConnectionID: c.ID, Object: connectors.ObjectDeal,
				Records: []connectors.Record{deal("1", t0, "a"), deal("2", t0, "b"), deal("3", t0, "c"), deal("4", t0, "d")}}); err != nil {
				t.Fatal(err)
			}
			base := connectors.Cursor{Stamp: t0, ID: "4", Extra: map[string]string{"seen": "4:1"}}
			passStart := t0.Add(time.Hour)
			now = passStart
			// The pass's first run sees 1 (unchanged) and 2, and dies.
			passCursor := connectors.Cursor{Stamp: base.Stamp, ID: base.ID, Extra: map[string]string{
				"seen": "4:1", "full.start": passStart.Format(time.RFC3339Nano),
				"full.max_stamp": t0.Format(time.RFC3339Nano), "full.max_id": "2", "full.at.list_pass": "live", "full.at.list_after": "3",
			}}
			if _, err := s.ApplyPullPage(ctx, store.PullPage{ConnectionID: c.ID, Object: connectors.ObjectDeal, Seen: true,
				Records: []connectors.Record{deal("1", t0, "a"), deal("2", t0, "b")}, Cursor: &passCursor}); err != nil {
				t.Fatal(err)
			}
			got, err := s.Cursor(ctx, c.ID, connectors.ObjectDeal)
			if err != nil || !got.Stamp.Equal(base.Stamp) || got.ID != base.ID || !maps.Equal(got.Extra, passCursor.Extra) {
				t.Fatalf("stored cursor %+v, %v; want %+v", got, err, passCursor)
			}
			// The next run, an hour later, reads from 3 on: 3 is there, 4 is gone from the CRM.
			resumedAt := passStart.Add(time.Hour)
			now = resumedAt
			if _, err := s.ApplyPullPage(ctx, store.PullPage{ConnectionID: c.ID, Object: connectors.ObjectDeal, Seen: true,
				Records: []connectors.Record{deal("3", t0, "c")}}); err != nil {
				t.Fatal(err)
			}
			// Reconciling from the resumed run's own start would take 1 and 2 for gone.
			var wrong []string
			if err := s.DB().SelectContext(ctx, &wrong, s.DB().Rebind(`SELECT crm_id FROM crm_records WHERE connection_id = ? AND object = ? AND deleted = ? AND synced_at < ? ORDER BY crm_id`),
				c.ID, string(connectors.ObjectDeal), false, resumedAt.UTC()); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(wrong, []string{"1", "2", "4"}) {
				t.Fatalf("unseen since the resumed run began: %v, want 1, 2 and 4", wrong)
			}
			gone, err := s.MarkUnseenDeleted(ctx, c.ID, connectors.ObjectDeal, passStart)
			if err != nil || !slices.Equal(gone, []string{"4"}) {
				t.Fatalf("reconcile from the pass's start: got %v, %v; want [4]", gone, err)
			}
			counts, _ := s.RecordCounts(ctx, c.ID)
			if counts[connectors.ObjectDeal] != 3 {
				t.Errorf("live deals: got %d, want 3", counts[connectors.ObjectDeal])
			}
		})
	}
}
