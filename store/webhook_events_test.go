package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

func TestWebhookEvents(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c, err := s.EnsureConnection(ctx, "hs", "hubspot")
		if err != nil {
			t.Fatal(err)
		}
		ev := func(key, id string) store.NewWebhookEvent {
			at := t0
			return store.NewWebhookEvent{ConnectionID: c.ID, Source: store.WebhookHubSpot, Key: key, Type: "deal.creation",
				Object: "deal", CRMID: id, OccurredAt: &at, Payload: `{"eventId":` + key + `}`}
		}
		var seen []int64
		ids, err := s.StoreWebhookEvents(ctx, []store.NewWebhookEvent{ev("1", "d1"), ev("2", "d2")}, func(ctx context.Context, tx *sql.Tx, ids []int64) error {
			seen = append(seen, ids...)
			return nil
		})
		if err != nil || len(ids) != 2 || !slices.Equal(ids, seen) {
			t.Fatalf("first store: got %v, %v (hook saw %v); want 2 new ids, seen by the hook", ids, err, seen)
		}

		// A redelivery of event 1 with a new event 3: only 3 is new.
		again, err := s.StoreWebhookEvents(ctx, []store.NewWebhookEvent{ev("1", "d1"), ev("3", "d3")}, nil)
		if err != nil || len(again) != 1 {
			t.Fatalf("redelivery: got %v, %v; want only event 3 stored", again, err)
		}
		// A failing hook stores nothing (the acknowledgement must not happen either).
		boom := errors.New("queue down")
		if _, err := s.StoreWebhookEvents(ctx, []store.NewWebhookEvent{ev("4", "d4")}, func(context.Context, *sql.Tx, []int64) error { return boom }); !errors.Is(err, boom) {
			t.Fatalf("failing hook: got %v, want its error", err)
		}
		all, err := s.WebhookEvents(ctx, store.WebhookEventFilter{ConnectionID: c.ID})
		if err != nil || len(all) != 3 {
			t.Fatalf("list: got %d events, %v; want 3 (event 4 rolled back)", len(all), err)
		}
		if all[0].Key != "1" || all[0].CRMID != "d1" || all[0].Status != store.WebhookPending || all[0].OccurredAt == nil || !all[0].OccurredAt.Equal(t0) {
			t.Fatalf("stored event: %+v", all[0])
		}

		if err := s.FinishWebhookEvent(ctx, ids[0], store.WebhookDone, ""); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishWebhookEvent(ctx, ids[1], store.WebhookPending, "crm timeout"); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishWebhookEvent(ctx, ids[1], store.WebhookDead, "crm timeout"); err != nil {
			t.Fatal(err)
		}
		dead, err := s.WebhookEvents(ctx, store.WebhookEventFilter{Statuses: []string{store.WebhookDead}})
		if err != nil || len(dead) != 1 || dead[0].ID != ids[1] || dead[0].Attempts != 2 || dead[0].LastError != "crm timeout" || dead[0].ProcessedAt == nil {
			t.Fatalf("dead letters: got %+v, %v", dead, err)
		}
		counts, err := s.CountWebhookEvents(ctx, 0)
		if err != nil || counts[store.WebhookDone] != 1 || counts[store.WebhookDead] != 1 || counts[store.WebhookPending] != 1 {
			t.Fatalf("counts: got %v, %v", counts, err)
		}
		if err := s.RetryWebhookEvent(ctx, ids[0], nil); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("retry of a done event: got %v, want ErrNotFound", err)
		}
		if err := s.RetryWebhookEvent(ctx, ids[1], nil); err != nil {
			t.Fatal(err)
		}
		if e, err := s.WebhookEventByID(ctx, ids[1]); err != nil || e.Status != store.WebhookPending || e.Attempts != 0 || e.ProcessedAt != nil {
			t.Fatalf("retried dead letter: got %+v, %v; want pending with attempts reset", e, err)
		}
		if _, err := s.WebhookEventByID(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown event: got %v, want ErrNotFound", err)
		}
	})
}

// TestWebhookEventsBatch: a batch larger than one INSERT, with events repeated inside it and
// events stored before, stores each new event once and returns the ids in the order given.
func TestWebhookEventsBatch(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c, err := s.EnsureConnection(ctx, "hs", "hubspot")
		if err != nil {
			t.Fatal(err)
		}
		ev := func(i int) store.NewWebhookEvent {
			k := strconv.Itoa(i)
			return store.NewWebhookEvent{ConnectionID: c.ID, Source: store.WebhookHubSpot, Key: k, Type: "deal.propertyChange",
				Object: "deal", CRMID: "d" + k, Payload: `{"eventId":` + k + `}`}
		}
		first, err := s.StoreWebhookEvents(ctx, []store.NewWebhookEvent{ev(7), ev(300)}, nil)
		if err != nil || len(first) != 2 {
			t.Fatalf("first: %v %v", first, err)
		}
		// 450 events in descending key order (so id order and key order differ), 7 and 300
		// stored before, 5 and 123 twice in the batch.
		var batch []store.NewWebhookEvent
		for i := 450; i >= 1; i-- {
			batch = append(batch, ev(i))
		}
		batch = append(batch, ev(5), ev(123))
		ids, err := s.StoreWebhookEvents(ctx, batch, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 448 {
			t.Fatalf("got %d ids, want 448 (450 less the 2 stored before; repeats once)", len(ids))
		}
		byID := map[int64]string{}
		var after int64
		for {
			page, err := s.WebhookEvents(ctx, store.WebhookEventFilter{ConnectionID: c.ID, After: after, Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, e := range page {
				byID[e.ID] = e.Key
				after = e.ID
			}
		}
		if len(byID) != 450 {
			t.Fatalf("stored %d events, want 450", len(byID))
		}
		want := 450
		for _, id := range ids {
			if want == 300 || want == 7 {
				want--
			}
			if byID[id] != strconv.Itoa(want) {
				t.Fatalf("id %d is event %q, want %d: ids are not in the order given", id, byID[id], want)
			}
			want--
		}
	})
}

// TestWebhookEventsConcurrent: calls made at once (each its own transaction) each get exactly
// the ids of their own new events, each event is stored once (whichever call carried it first), each
// hook sees its own ids, and a call whose hook fails or whose event the database refuses (an
// unknown connection) fails alone.
func TestWebhookEventsConcurrent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c, err := s.EnsureConnection(ctx, "hs", "hubspot")
		if err != nil {
			t.Fatal(err)
		}
		ev := func(key string) store.NewWebhookEvent {
			return store.NewWebhookEvent{ConnectionID: c.ID, Source: store.WebhookHubSpot, Key: key, Type: "deal.propertyChange",
				Object: "deal", CRMID: "d", Payload: `{}`}
		}
		const callers = 40
		boom := errors.New("queue down")
		type outcome struct {
			ids, hooked []int64
			err         error
		}
		results := make([]outcome, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				// Caller i sends its own events i-0..i-4 and the shared event "shared" (all of them);
				// caller 7's hook fails and caller 11 carries an event the database refuses.
				var evs []store.NewWebhookEvent
				for j := range 5 {
					evs = append(evs, ev(fmt.Sprintf("%d-%d", i, j)))
				}
				evs = append(evs, ev("shared"))
				if i == 11 {
					evs[2].ConnectionID = 1 << 40 // no such connection: the foreign key refuses it
				}
				var hooked []int64
				ids, err := s.StoreWebhookEvents(ctx, evs, func(_ context.Context, _ *sql.Tx, ids []int64) error {
					if i == 7 {
						return boom
					}
					hooked = append([]int64(nil), ids...)
					return nil
				})
				results[i] = outcome{ids, hooked, err}
			})
		}
		wg.Wait()
		all, err := s.WebhookEvents(ctx, store.WebhookEventFilter{ConnectionID: c.ID, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		keyOf := map[int64]string{}
		for _, e := range all {
			keyOf[e.ID] = e.Key
		}
		if len(all) != (callers-2)*5+1 {
			t.Fatalf("stored %d events, want %d (38 callers' 5 each and the shared one once)", len(all), (callers-2)*5+1)
		}
		sharedTo := 0
		for i, r := range results {
			switch i {
			case 7:
				if !errors.Is(r.err, boom) || r.ids != nil {
					t.Errorf("caller 7: got %v %v, want its hook's error and nothing stored", r.ids, r.err)
				}
				continue
			case 11:
				if r.err == nil {
					t.Errorf("caller 11: stored an event of no connection: %v", r.ids)
				}
				continue
			}
			if r.err != nil {
				t.Errorf("caller %d: %v", i, r.err)
				continue
			}
			if !slices.Equal(r.ids, r.hooked) {
				t.Errorf("caller %d: ids %v, hook saw %v", i, r.ids, r.hooked)
			}
			var own int
			for j, id := range r.ids {
				switch k := keyOf[id]; {
				case k == "shared":
					sharedTo++
					if j != len(r.ids)-1 {
						t.Errorf("caller %d: shared event at %d of %v, want last (the order given)", i, j, r.ids)
					}
				case k == fmt.Sprintf("%d-%d", i, own):
					own++
				default:
					t.Errorf("caller %d: id %d is event %q, not one of its own in order", i, id, k)
				}
			}
			if own != 5 {
				t.Errorf("caller %d: %d of its 5 events, want all", i, own)
			}
		}
		if sharedTo != 1 {
			t.Errorf("the shared event went to %d callers, want exactly 1", sharedTo)
		}
	})
}

// TestWebhookEventIDs: StoreWebhookEventIDs answers for each event given, in place: its new id,
// or 0 for one stored before or repeated earlier in the call (the receivers' group commit splits
// this answer among the requests of a group); the hook gets the new ids only; a refused event
// fails the whole call and stores nothing.
func TestWebhookEventIDs(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c, err := s.EnsureConnection(ctx, "hs", "hubspot")
		if err != nil {
			t.Fatal(err)
		}
		ev := func(key string) store.NewWebhookEvent {
			return store.NewWebhookEvent{ConnectionID: c.ID, Source: store.WebhookHubSpot, Key: key, Type: "deal.propertyChange",
				Object: "deal", CRMID: "d" + key, Payload: `{"eventId":` + key + `}`}
		}
		if _, err := s.StoreWebhookEventIDs(ctx, []store.NewWebhookEvent{ev("1")}, nil); err != nil {
			t.Fatal(err)
		}
		var hooked []int64
		each, err := s.StoreWebhookEventIDs(ctx, []store.NewWebhookEvent{ev("1"), ev("2"), ev("3"), ev("2"), ev("4")},
			func(_ context.Context, _ *sql.Tx, ids []int64) error {
				hooked = append(hooked, ids...)
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		if len(each) != 5 || each[0] != 0 || each[3] != 0 {
			t.Fatalf("got %v; want 5 answers, 0 for event 1 (stored before) and for the second event 2 (a repeat)", each)
		}
		for i, key := range map[int]string{1: "2", 2: "3", 4: "4"} {
			e, err := s.WebhookEventByID(ctx, each[i])
			if err != nil || e.Key != key {
				t.Fatalf("answer %d is id %d: %+v, %v; want event %s", i, each[i], e, err, key)
			}
		}
		if want := []int64{each[1], each[2], each[4]}; !slices.Equal(hooked, want) {
			t.Fatalf("hook saw %v, want the new ids %v in the order given", hooked, want)
		}

		hooked = nil
		each, err = s.StoreWebhookEventIDs(ctx, []store.NewWebhookEvent{ev("3"), ev("1")}, func(_ context.Context, _ *sql.Tx, ids []int64) error {
			hooked = ids
			return nil
		})
		if err != nil || !slices.Equal(each, []int64{0, 0}) || hooked != nil {
			t.Fatalf("all redelivered: got %v, %v, hook saw %v; want two 0s and no hook call", each, err, hooked)
		}

		refused := ev("6")
		refused.ConnectionID = 1 << 40 // no such connection: the foreign key refuses it
		if each, err := s.StoreWebhookEventIDs(ctx, []store.NewWebhookEvent{ev("5"), refused}, nil); err == nil || each != nil {
			t.Fatalf("refused event: got %v, %v; want an error and no answer", each, err)
		}
		if n, err := s.CountWebhookEvents(ctx, 0); err != nil || n[store.WebhookPending] != 4 {
			t.Fatalf("stored: %v, %v; want events 1-4 only (5 went with the refused event)", n, err)
		}
	})
}
