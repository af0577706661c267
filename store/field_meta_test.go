package store_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

func TestFieldMeta(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if _, err := s.EnsureConnection(ctx, "sf", "salesforce"); err != nil {
			t.Fatal(err)
		}
		if _, _, ok, err := s.LoadFieldMeta(ctx, "sf", connectors.ObjectDeal); err != nil || ok {
			t.Fatalf("before any save: got ok %v, err %v; want nothing stored", ok, err)
		}
		meta := []connectors.FieldMeta{
			{Name: "MAP_Status__c", Label: "MAP Status", Type: connectors.TypePicklist, Options: []string{"On Track"}, Restricted: true, Updateable: true, Nillable: true, Custom: true},
			{Name: "Id", Type: connectors.TypeID},
		}
		at := time.Date(2025, 3, 7, 12, 0, 0, 0, time.FixedZone("CET", 3600))
		if err := s.SaveFieldMeta(ctx, "sf", connectors.ObjectDeal, meta, at); err != nil {
			t.Fatal(err)
		}
		got, fetched, ok, err := s.LoadFieldMeta(ctx, "sf", connectors.ObjectDeal)
		if err != nil || !ok || !reflect.DeepEqual(got, meta) || !fetched.Equal(at) || fetched.Location() != time.UTC {
			t.Fatalf("got %+v at %v (ok %v, err %v), want the saved fields at %v in UTC", got, fetched, ok, err, at)
		}
		later := at.Add(time.Hour)
		if err := s.SaveFieldMeta(ctx, "sf", connectors.ObjectDeal, meta[:1], later); err != nil {
			t.Fatal(err)
		}
		got, fetched, _, _ = s.LoadFieldMeta(ctx, "sf", connectors.ObjectDeal)
		if len(got) != 1 || !fetched.Equal(later) {
			t.Errorf("after a second save: got %d fields at %v, want 1 at %v", len(got), fetched, later)
		}
		if _, _, ok, _ := s.LoadFieldMeta(ctx, "sf", connectors.ObjectContact); ok {
			t.Errorf("contact: got metadata, want none (objects are kept apart)")
		}
		if err := s.SaveFieldMeta(ctx, "nope", connectors.ObjectDeal, meta, at); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown connection: got %v, want ErrNotFound", err)
		}
	})
}

var _ connectors.MetaStore = (*store.Store)(nil)
