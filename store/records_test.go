package store_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// In a reconcile page the CRM's version replaces a stored one with other content even when its
// stamp is older, unless the stored row was written after the page was read; outside a
// reconcile an older stamp never wins.
func TestReconcilePageRepairsOlderStamps(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			var clock atomic.Int64
			clock.Store(t0.UnixNano())
			now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
			s := storetest.Open(t, backend, storetest.Options{Now: now})
			ctx := t.Context()
			c, _ := s.EnsureConnection(ctx, "sf", "salesforce")
			later := t0.Add(time.Hour)
			// Stored at t0 (store clock): versions stamped an hour ahead of the CRM's.
			if _, err := s.UpsertRecords(ctx, c.ID, []connectors.Record{
				deal("006A", later, "rolled back"), deal("006B", later, "same"), deal("006C", later, "rolled back"),
			}); err != nil {
				t.Fatal(err)
			}
			crm := []connectors.Record{deal("006A", t0, "current"), deal("006B", t0, "same"), deal("006C", t0, "current")}
			apply := func(p store.PullPage) store.UpsertStats {
				t.Helper()
				p.ConnectionID, p.Object, p.Records = c.ID, connectors.ObjectDeal, crm
				st, err := s.ApplyPullPage(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				return st
			}
			name := func(id string) (string, time.Time) {
				r, err := s.Record(ctx, c.ID, connectors.ObjectDeal, id)
				if err != nil {
					t.Fatal(err)
				}
				return r.Fields["Name"].(string), r.ModifiedAt
			}

			if st := apply(store.PullPage{Seen: true}); st != (store.UpsertStats{Unchanged: 3}) {
				t.Fatalf("incremental page: got %+v, want 3 unchanged", st)
			}
			// A webhook stores 006C at t0+2m, after the reconcile page was read at t0+1m: the
			// stored row is newer knowledge and stays.
			clock.Store(t0.Add(2 * time.Minute).UnixNano())
			if _, err := s.UpsertRecords(ctx, c.ID, []connectors.Record{deal("006C", later.Add(time.Minute), "from a webhook")}); err != nil {
				t.Fatal(err)
			}
			clock.Store(t0.Add(3 * time.Minute).UnixNano())
			st := apply(store.PullPage{Seen: true, Reconcile: true, ReadAt: t0.Add(time.Minute)})
			if st != (store.UpsertStats{Updated: 1, Unchanged: 2}) {
				t.Fatalf("reconcile page: got %+v, want 006A updated, 006B and 006C unchanged", st)
			}
			if n, stamp := name("006A"); n != "current" || !stamp.Equal(t0) {
				t.Errorf("006A: got %q at %s, want the CRM's %q at %s", n, stamp, "current", t0)
			}
			if n, stamp := name("006B"); n != "same" || !stamp.Equal(later) {
				t.Errorf("006B: got %q at %s, want the same content kept at %s", n, stamp, later)
			}
			if n, _ := name("006C"); n != "from a webhook" {
				t.Errorf("006C: got %q, want the webhook's version, written after the page was read", n)
			}
			// Read after the webhook's write, the CRM's version wins (ReadAt zero: now).
			if st := apply(store.PullPage{Reconcile: true}); st != (store.UpsertStats{Updated: 1, Unchanged: 2}) {
				t.Fatalf("second reconcile page: got %+v, want 006C updated", st)
			}
			if n, _ := name("006C"); n != "current" {
				t.Errorf("006C after a later reconcile: got %q, want %q", n, "current")
			}
		})
	}
}
