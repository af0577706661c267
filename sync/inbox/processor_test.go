package inbox_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
	"github.com/mapsync/mapsync/sync/inbox"
)

type testBundle struct {
	store   *store.Store
	conn    int64
	pulls   int
	fetched [][]string
	fail    error
	proc    *inbox.Processor
}

func setup(t *testing.T, s *store.Store) *testBundle {
	t.Helper()
	c, err := s.EnsureConnection(t.Context(), "hs", "hubspot")
	if err != nil {
		t.Fatal(err)
	}
	b := &testBundle{store: s, conn: c.ID}
	now := time.Now().UTC()
	var recs []connectors.Record
	for _, id := range []string{"1", "2", "3", "4"} {
		recs = append(recs, connectors.Record{Object: connectors.ObjectDeal, ID: id, ModifiedAt: now, Fields: map[string]any{"dealname": "d" + id}})
	}
	if _, err := s.UpsertRecords(t.Context(), c.ID, recs); err != nil {
		t.Fatal(err)
	}
	b.proc, err = inbox.New(inbox.Options{Store: s, Logger: zerolog.Nop(),
		Pull: func(ctx context.Context, id int64) error {
			if id != c.ID {
				t.Errorf("pulled connection %d, want %d", id, c.ID)
			}
			b.pulls++
			return b.fail
		},
		ContactDeals: s.ContactDeals,
		Fetch: func(ctx context.Context, id int64, deals []string) error {
			if id != c.ID {
				t.Errorf("fetched for connection %d, want %d", id, c.ID)
			}
			b.fetched = append(b.fetched, deals)
			return b.fail
		}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *testBundle) store1(t *testing.T, source, key, typ, object, id, payload string) int64 {
	t.Helper()
	ids, err := b.store.StoreWebhookEvents(t.Context(), []store.NewWebhookEvent{{ConnectionID: b.conn, Source: source, Key: key, Type: typ, Object: object, CRMID: id, Payload: payload}}, nil)
	if err != nil || len(ids) != 1 {
		t.Fatalf("store event: %v, %v", ids, err)
	}
	return ids[0]
}

func (b *testBundle) status(t *testing.T, id int64) *store.WebhookEvent {
	t.Helper()
	e, err := b.store.WebhookEventByID(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (b *testBundle) deleted(t *testing.T, id string) bool {
	t.Helper()
	r, err := b.store.Record(t.Context(), b.conn, connectors.ObjectDeal, id)
	if err != nil {
		t.Fatal(err)
	}
	return r.Deleted
}

func TestProcessor(t *testing.T) {
	t.Parallel()
	t.Run("deletion marks the deal deleted without a pull or a fetch", func(t *testing.T) {
		t.Parallel()
		storetest.Each(t, func(t *testing.T, s *store.Store) {
			b := setup(t, s)
			id := b.store1(t, store.WebhookHubSpot, "9/1/2", "deal.deletion", "deal", "2",
				`{"eventId":9,"subscriptionId":1,"subscriptionType":"deal.deletion","objectId":2,"changeFlag":"DELETED"}`)
			passes, err := b.proc.Process(t.Context(), []int64{id}, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(passes) != 1 || b.pulls != 0 || len(b.fetched) != 0 || len(passes[0].Deleted) != 1 || !b.deleted(t, "2") || b.deleted(t, "1") {
				t.Fatalf("got passes %+v, %d pulls, fetched %v, deal 2 deleted %v; want deal 2 (only) deleted, nothing read", passes, b.pulls, b.fetched, b.deleted(t, "2"))
			}
			if e := b.status(t, id); e.Status != store.WebhookDone || e.Attempts != 1 {
				t.Fatalf("event after processing: %+v", e)
			}
		})
	})
	t.Run("deal events fetch their deals once, contact events pull once", func(t *testing.T) {
		t.Parallel()
		storetest.Each(t, func(t *testing.T, s *store.Store) {
			b := setup(t, s)
			ids := []int64{
				b.store1(t, store.WebhookHubSpot, "1/1/5", "deal.creation", "deal", "5", `{"eventId":1,"subscriptionId":1,"subscriptionType":"deal.creation","objectId":5}`),
				b.store1(t, store.WebhookHubSpot, "2/1/1", "deal.propertyChange", "deal", "1", `{"eventId":2,"subscriptionId":1,"subscriptionType":"deal.propertyChange","objectId":1,"propertyName":"amount"}`),
				b.store1(t, store.WebhookHubSpot, "4/1/1", "deal.propertyChange", "deal", "1", `{"eventId":4,"subscriptionId":1,"subscriptionType":"deal.propertyChange","objectId":1,"propertyName":"dealstage"}`),
				b.store1(t, store.WebhookGeneric, "msg_1", "deal", "deal", "3", `{"object":"deal","id":"3"}`),
				b.store1(t, store.WebhookHubSpot, "3/1/3", "deal.merge", "deal", "3", `{"eventId":3,"subscriptionId":1,"subscriptionType":"deal.merge","objectId":3,"primaryObjectId":3,"mergedObjectIds":[3,4],"newObjectId":3}`),
				b.store1(t, store.WebhookHubSpot, "5/1/77", "contact.propertyChange", "contact", "77", `{"eventId":5,"subscriptionId":1,"subscriptionType":"contact.propertyChange","objectId":77}`),
				b.store1(t, store.WebhookSalesforce, "04l9", "Contact", "contact", "003x", "<Notification/>"),
			}
			if _, err := b.proc.Process(t.Context(), ids, false); err != nil {
				t.Fatal(err)
			}
			if b.pulls != 1 || len(b.fetched) != 1 || !slices.Equal(b.fetched[0], []string{"5", "1", "3"}) {
				t.Fatalf("got %d pulls and fetches %v; want one pull (the contacts) and one fetch of deals 5, 1, 3", b.pulls, b.fetched)
			}
			if !b.deleted(t, "4") || b.deleted(t, "3") {
				t.Fatalf("merge: deal 4 deleted %v, deal 3 deleted %v; want the merged-away 4 deleted, the survivor 3 live", b.deleted(t, "4"), b.deleted(t, "3"))
			}
			for _, id := range ids {
				if e := b.status(t, id); e.Status != store.WebhookDone {
					t.Fatalf("event %d: %+v, want done", id, e)
				}
			}
			// Done events are not processed again.
			if _, err := b.proc.Process(t.Context(), ids, false); err != nil || b.pulls != 1 || len(b.fetched) != 1 {
				t.Fatalf("second pass: %v, %d pulls, fetches %v; want nothing done", err, b.pulls, b.fetched)
			}
		})
	})
	t.Run("contact events fetch the deals the contact is on", func(t *testing.T) {
		t.Parallel()
		storetest.Each(t, func(t *testing.T, s *store.Store) {
			b := setup(t, s)
			roles := map[string][]connectors.DealContact{"2": {{DealID: "2", ContactID: "77", Role: "Champion"}}, "4": {{DealID: "4", ContactID: "77"}}}
			recs := []connectors.Record{
				{Object: connectors.ObjectDealContact, ID: "2:77:Champion", ModifiedAt: time.Now().UTC(), Fields: map[string]any{}},
				{Object: connectors.ObjectDealContact, ID: "4:77:", ModifiedAt: time.Now().UTC(), Fields: map[string]any{}},
			}
			if _, err := s.ApplyPullPage(t.Context(), store.PullPage{ConnectionID: b.conn, Object: connectors.ObjectDealContact, Records: recs, Roles: roles}); err != nil {
				t.Fatal(err)
			}
			ids := []int64{
				b.store1(t, store.WebhookHubSpot, "5/1/77", "contact.propertyChange", "contact", "77", `{"eventId":5,"subscriptionId":1,"subscriptionType":"contact.propertyChange","objectId":77}`),
				b.store1(t, store.WebhookHubSpot, "6/1/78", "contact.associationChange", "contact", "78",
					`{"eventId":6,"subscriptionId":1,"subscriptionType":"contact.associationChange","fromObjectId":78,"toObjectId":9,"associationType":"CONTACT_TO_DEAL"}`),
				b.store1(t, store.WebhookGeneric, "msg_c", "contact", "contact", "77", `{"object":"contact","id":"77"}`),
			}
			if _, err := b.proc.Process(t.Context(), ids, false); err != nil {
				t.Fatal(err)
			}
			if b.pulls != 0 || len(b.fetched) != 1 || !slices.Equal(b.fetched[0], []string{"9", "2", "4"}) {
				t.Fatalf("got %d pulls and fetches %v; want no pull and one fetch of deals 9 (association), 2 and 4 (contact 77's)", b.pulls, b.fetched)
			}
		})
	})
	t.Run("a failure keeps the events pending, the final one makes them dead letters", func(t *testing.T) {
		t.Parallel()
		storetest.Each(t, func(t *testing.T, s *store.Store) {
			b := setup(t, s)
			b.fail = errors.New("crm unreachable")
			id := b.store1(t, store.WebhookSalesforce, "04l1", "Opportunity", "deal", "006A", "<Notification/>")
			if _, err := b.proc.Process(t.Context(), []int64{id}, false); err == nil {
				t.Fatal("failing fetch: got no error")
			}
			if e := b.status(t, id); e.Status != store.WebhookPending || e.Attempts != 1 || e.LastError != "fetch deals [006A]: crm unreachable" {
				t.Fatalf("after one failure: %+v; want pending, 1 attempt, the reason", e)
			}
			if _, err := b.proc.Process(t.Context(), []int64{id}, true); err == nil {
				t.Fatal("failing fetch: got no error")
			}
			if e := b.status(t, id); e.Status != store.WebhookDead || e.Attempts != 2 {
				t.Fatalf("after the last attempt: %+v; want dead", e)
			}
			b.fail = nil
			if _, err := b.proc.Process(t.Context(), []int64{id}, false); err != nil || len(b.fetched) != 2 {
				t.Fatalf("a dead event was processed again: %v, fetches %v", err, b.fetched)
			}
		})
	})
}
