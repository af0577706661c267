package pull_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/sync/pull"
)

// A record whose CRM stamp went backwards (the store holds a version stamped later than the CRM's
// current one: a restored backup, a clock fixed backwards, a data load that rewrote stamps) is
// repaired by a full reconcile, which takes the CRM's current version whenever its content
// differs; an incremental pull keeps the newer-stamp rule and leaves it alone.
func TestFullReconcileRepairsStampsThatWentBackwards(t *testing.T) {
	t.Parallel()
	each(t, 80, func(t *testing.T, c *crm, b bundle) {
		ctx := t.Context()
		p := newPuller(t, c, b, nil)
		if _, err := p.Run(ctx, pull.Request{}); err != nil {
			t.Fatal(err)
		}
		ids := c.dealIDs()
		changed, deleted, same := ids[5], ids[6], ids[7]
		want := map[string]*connectors.Record{}
		for _, id := range []string{changed, deleted, same} {
			r, err := b.store.Record(ctx, b.connID, connectors.ObjectDeal, id)
			if err != nil {
				t.Fatal(err)
			}
			want[id] = r
		}
		// The store's versions are a day newer than the CRM's: one with other fields, one marked
		// deleted, one with the very same content.
		future := func(r *connectors.Record) connectors.Record {
			f := map[string]any{}
			for k, v := range r.Fields {
				f[k] = v
			}
			return connectors.Record{Object: r.Object, ID: r.ID, ModifiedAt: r.ModifiedAt.Add(24 * time.Hour), Fields: f}
		}
		ch, del, sm := future(want[changed]), future(want[deleted]), future(want[same])
		ch.Fields[c.nameField] = "Edited in a world that was rolled back"
		del.Deleted = true
		if _, err := b.store.UpsertRecords(ctx, b.connID, []connectors.Record{ch, del, sm}); err != nil {
			t.Fatal(err)
		}

		// An incremental pull does not touch them: nothing changed in the CRM.
		if _, err := p.Run(ctx, pull.Request{}); err != nil {
			t.Fatal(err)
		}
		if r, _ := b.store.Record(ctx, b.connID, connectors.ObjectDeal, changed); r.Fields[c.nameField] != ch.Fields[c.nameField] {
			t.Fatalf("incremental pull changed %s: %v", changed, r.Fields[c.nameField])
		}

		sum, err := p.Run(ctx, pull.Request{Full: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{changed, deleted} {
			r, err := b.store.Record(ctx, b.connID, connectors.ObjectDeal, id)
			if err != nil {
				t.Fatal(err)
			}
			w := want[id]
			if r.Deleted || !r.ModifiedAt.Equal(w.ModifiedAt) || !reflect.DeepEqual(r.Fields, w.Fields) {
				t.Errorf("deal %s after the full reconcile: got deleted=%v stamp %s %s=%v; want the CRM's version (stamp %s, %v)",
					id, r.Deleted, r.ModifiedAt, c.nameField, r.Fields[c.nameField], w.ModifiedAt, w.Fields[c.nameField])
			}
		}
		// Same content: kept as stored (the newer stamp stays), not counted as a change.
		if r, _ := b.store.Record(ctx, b.connID, connectors.ObjectDeal, same); !r.ModifiedAt.Equal(sm.ModifiedAt) {
			t.Errorf("deal %s with the CRM's content: stamp %s, want the stored %s kept", same, r.ModifiedAt, sm.ModifiedAt)
		}
		if d := object(sum, connectors.ObjectDeal); d.Updated != 2 || d.Missing != 0 {
			t.Errorf("reconcile summary %+v: want exactly the 2 repaired deals updated", d)
		}
		counts, _ := b.store.RecordCounts(ctx, b.connID)
		if counts[connectors.ObjectDeal] != 80 {
			t.Errorf("live deals: got %d, want 80", counts[connectors.ObjectDeal])
		}
	})
}
