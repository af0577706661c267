package connectors_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/mapsync/mapsync/connectors"
)

// A reader sees every page a concurrent writer adds, in order, keeping only ids, stamps and the
// deleted flag, then the end; a feed closed with an error ends incomplete; a reader waiting on an
// open feed returns with its context.
func TestDealFeed(t *testing.T) {
	t.Parallel()
	t.Run("complete", func(t *testing.T) {
		t.Parallel()
		f := connectors.NewDealFeed()
		go func() {
			for i := range 50 {
				f.Add(connectors.Page{Records: []connectors.Record{{Object: connectors.ObjectDeal, ID: strconv.Itoa(i), ModifiedAt: time.Unix(int64(i), 0),
					Deleted: i%7 == 0, Fields: map[string]any{"dealname": "x"}}}, Cursor: connectors.Cursor{ID: strconv.Itoa(i)}})
			}
			f.Close(nil)
		}()
		for i := 0; ; i++ {
			p, ok, err := f.Next(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				if i != 50 {
					t.Fatalf("feed ended after %d pages, want 50", i)
				}
				break
			}
			d := p.Deals[0]
			if d.ID != strconv.Itoa(i) || p.Cursor.ID != d.ID || !d.ModifiedAt.Equal(time.Unix(int64(i), 0)) || d.Deleted != (i%7 == 0) || d.Fields != nil {
				t.Fatalf("page %d: %+v", i, p)
			}
		}
		f.Add(connectors.Page{Records: []connectors.Record{{ID: "late"}}})
		if _, ok, err := f.Next(t.Context()); ok || err != nil {
			t.Fatalf("after the end: ok %v err %v, want the end again", ok, err)
		}
	})
	t.Run("incomplete", func(t *testing.T) {
		t.Parallel()
		f := connectors.NewDealFeed()
		f.Add(connectors.Page{Records: []connectors.Record{{ID: "1"}}})
		f.Close(errors.New("deal page 2: 503"))
		f.Close(nil) // only the first close counts
		if _, ok, err := f.Next(t.Context()); !ok || err != nil {
			t.Fatalf("first page: ok %v err %v", ok, err)
		}
		if _, _, err := f.Next(t.Context()); !errors.Is(err, connectors.ErrDealFeedIncomplete) {
			t.Fatalf("got %v, want ErrDealFeedIncomplete", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, _, err := connectors.NewDealFeed().Next(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	})
}
