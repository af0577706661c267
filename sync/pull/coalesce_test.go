package pull

import (
	"testing"
	"time"

	"github.com/mapsync/mapsync/connectors"
)

func page(id string, n int) queued {
	recs := make([]connectors.Record, n)
	for i := range recs {
		recs[i] = connectors.Record{Object: connectors.ObjectDeal, ID: id}
	}
	return queued{page: connectors.Page{Records: recs, Cursor: connectors.Cursor{ID: id}}}
}

func TestCoalesceKeepsOrderUpToMax(t *testing.T) {
	t.Parallel()
	in := make(chan queued, 5)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		in <- page(id, 300)
	}
	close(in)
	var got [][]string
	for batch := range coalesce(in, 1000) {
		var ids []string
		for _, pg := range batch {
			ids = append(ids, pg.page.Cursor.ID)
		}
		got = append(got, ids)
	}
	if len(got) != 2 || len(got[0]) != 4 || got[0][0] != "a" || got[0][3] != "d" || len(got[1]) != 1 || got[1][0] != "e" {
		t.Fatalf("got batches %v, want [a b c d] [e]", got)
	}
}

func TestCoalesceNeverWaits(t *testing.T) {
	t.Parallel()
	in := make(chan queued)
	out := coalesce(in, 1000)
	go func() { in <- page("a", 10) }()
	select {
	case batch := <-out:
		if len(batch) != 1 {
			t.Fatalf("got %d pages, want the one that was there", len(batch))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("coalesce waited for more pages than were queued")
	}
	close(in)
	if _, ok := <-out; ok {
		t.Fatal("output not closed after input closed")
	}
}
