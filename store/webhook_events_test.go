package store_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
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
		if err := s.RetryWebhookEvent(ctx, ids[0]); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("retry of a done event: got %v, want ErrNotFound", err)
		}
		if err := s.RetryWebhookEvent(ctx, ids[1]); err != nil {
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
