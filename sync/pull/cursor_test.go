package pull_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/internal/metrictest"
	"github.com/mapsync/mapsync/sync/pull"
)

// storedRecord is one row of crm_records as a test reads it back.
type storedRecord struct {
	ID         string    `db:"crm_id"`
	ModifiedAt time.Time `db:"modified_at"`
	Deleted    bool      `db:"deleted"`
}

// storedRecords reads every stored record of obj (deleted ones too) straight from the database.
func storedRecords(t *testing.T, b bundle, obj connectors.Object) []storedRecord {
	t.Helper()
	db := b.store.DB()
	var out []storedRecord
	if err := db.SelectContext(t.Context(), &out, db.Rebind(`SELECT crm_id, modified_at, deleted FROM crm_records WHERE connection_id = ? AND object = ?`),
		b.connID, string(obj)); err != nil {
		t.Fatal(err)
	}
	return out
}

// greatest is the greatest (stamp, id) among recs, as the puller orders them.
func greatest(recs []storedRecord) connectors.Cursor {
	var c connectors.Cursor
	for _, r := range recs {
		if c.After(r.ModifiedAt.UTC(), r.ID) {
			c = connectors.Cursor{Stamp: r.ModifiedAt.UTC(), ID: r.ID}
		}
	}
	return c
}

// gaugeValue returns the value of the gauge family name for the given labels, and whether it exists.
func gaugeValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	return metrictest.Value(t, reg, name, labels)
}

func connName(c *crm) string { return map[string]string{"salesforce": "sf", "hubspot": "hs"}[c.name] }

// A run that reads everything (the first, or --full) leaves each object's cursor at the greatest
// (stamp, id) it stored, never after the run began and never behind the cursor it started from;
// the cursor gauge says the same; and an incremental pull with nothing changed then reads only
// the overlap window before that cursor, in a handful of calls.
func TestCursorAfterFullPull(t *testing.T) {
	t.Parallel()
	const deals = 300
	const overlap = time.Minute // newPuller's
	each(t, deals, func(t *testing.T, c *crm, b bundle) {
		ctx := t.Context()
		reg := prometheus.NewRegistry()
		metrics, err := pull.NewMetrics(reg)
		if err != nil {
			t.Fatal(err)
		}
		p := newPuller(t, c, b, func(o *pull.Options) { o.Metrics = metrics })

		// checkCursors checks every object's cursor after a run that read everything, started
		// at started and done by finished, against the cursors before it.
		checkCursors := func(stage string, started, finished time.Time, before map[connectors.Object]connectors.Cursor) map[connectors.Object]connectors.Cursor {
			t.Helper()
			after := map[connectors.Object]connectors.Cursor{}
			for _, o := range connectors.Objects {
				cur, err := b.store.Cursor(ctx, b.connID, o)
				if err != nil {
					t.Fatal(err)
				}
				after[o] = cur
				want := greatest(storedRecords(t, b, o))
				if want.Stamp.IsZero() {
					t.Fatalf("%s: no %s stored", stage, o)
				}
				if want.Stamp.Before(started) {
					if !cur.Stamp.Equal(want.Stamp) || cur.ID != want.ID {
						t.Errorf("%s: %s cursor is (%v, %s), want the greatest stored (%v, %s)", stage, o, cur.Stamp, cur.ID, want.Stamp, want.ID)
					}
				} else if cur.Stamp.Before(started) || cur.Stamp.After(finished) {
					// A stamp after the run began (clock skew, or a change during the run): the
					// cursor stops at the run's start.
					t.Errorf("%s: %s cursor %v, want the run's start (between %v and %v)", stage, o, cur.Stamp, started, finished)
				}
				if prev := before[o]; cur.After(prev.Stamp, prev.ID) {
					t.Errorf("%s: %s cursor moved back from (%v, %s) to (%v, %s)", stage, o, prev.Stamp, prev.ID, cur.Stamp, cur.ID)
				}
				got, ok := gaugeValue(t, reg, "mapsync_pull_cursor_timestamp_seconds", map[string]string{"connection": connName(c), "object": string(o)})
				if !ok || got != float64(cur.Stamp.Unix()) {
					t.Errorf("%s: %s cursor gauge %v (set %v), want %d", stage, o, got, ok, cur.Stamp.Unix())
				}
			}
			return after
		}
		// idle runs an incremental pull with nothing changed in the CRM.
		idle := func(stage string, cursors map[connectors.Object]connectors.Cursor) {
			t.Helper()
			calls := c.requests()
			sum, err := p.Run(ctx, pull.Request{})
			if err != nil {
				t.Fatalf("%s: %v", stage, err)
			}
			n := c.requests() - calls
			if n > 8 {
				t.Errorf("%s: idle pull made %d API calls, want at most 8", stage, n)
			}
			t.Logf("%s: idle pull made %d API calls and read %d deals", stage, n, object(sum, connectors.ObjectDeal).Read)
			for _, os := range sum.Objects {
				if os.Full || os.Inserted+os.Updated != 0 {
					t.Errorf("%s: idle pull of %s: %+v, want incremental and nothing changed", stage, os.Object, os)
				}
				cur, _ := b.store.Cursor(ctx, b.connID, os.Object)
				if was := cursors[os.Object]; !cur.Stamp.Equal(was.Stamp) || cur.ID != was.ID {
					t.Errorf("%s: idle pull moved the %s cursor from (%v, %s) to (%v, %s)", stage, os.Object, was.Stamp, was.ID, cur.Stamp, cur.ID)
				}
			}
			// Only the deals inside the overlap window before the cursor are read again (the
			// connectors deliver them again after a full pass); with the cursor behind, many more.
			from := cursors[connectors.ObjectDeal].Stamp.Add(-overlap)
			window := 0
			for _, r := range storedRecords(t, b, connectors.ObjectDeal) {
				if !r.ModifiedAt.Before(from) {
					window++
				}
			}
			if got := object(sum, connectors.ObjectDeal).Read; got != window {
				t.Errorf("%s: idle pull read %d deals, want the %d in the overlap window before the cursor", stage, got, window)
			}
		}

		started := time.Now()
		first, err := p.Run(ctx, pull.Request{})
		if err != nil {
			t.Fatal(err)
		}
		if !object(first, connectors.ObjectDeal).Full {
			t.Fatal("first run did not read deals in full")
		}
		cursors := checkCursors("first pull", started, time.Now(), nil)
		idle("after the first pull", cursors)

		// A person edits a deal, then a reconcile runs over the existing cursors.
		c.changeDeal(t, c.dealIDs()[7], "Edited before the reconcile")
		started = time.Now()
		if _, err := p.Run(ctx, pull.Request{Full: true}); err != nil {
			t.Fatal(err)
		}
		cursors = checkCursors("full pull", started, time.Now(), cursors)
		idle("after the full pull", cursors)
	})
}
