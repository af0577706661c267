package store_test

import (
	"testing"

	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

func TestRecordPush(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		got, err := s.LastPushed(ctx, "acme", "deal", []string{"d1", "d2"})
		if err != nil || len(got) != 0 {
			t.Fatalf("before any push: got %v, %v; want nothing pushed", got, err)
		}
		err = s.RecordPush(ctx, "acme", []store.PushOutcome{
			{Object: "deal", CRMID: "d1", Outcome: "written", Fields: map[string]any{"MAP_Progress__c": 40.0, "MAP_Status__c": "On Track"}},
			{Object: "deal", CRMID: "d2", Outcome: "dead_letter", Fields: map[string]any{"MAP_Status__c": "Nope"}, Code: "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", Message: "bad value for restricted picklist field: Nope"},
		})
		if err != nil {
			t.Fatal(err)
		}
		// A later write of one field keeps the other field's last pushed value.
		if err := s.RecordPush(ctx, "acme", []store.PushOutcome{{Object: "deal", CRMID: "d1", Outcome: "written", Fields: map[string]any{"MAP_Progress__c": 60.0}}}); err != nil {
			t.Fatal(err)
		}
		got, err = s.LastPushed(ctx, "acme", "deal", []string{"d1", "d2"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got["d1"]["MAP_Progress__c"] != 60.0 || got["d1"]["MAP_Status__c"] != "On Track" {
			t.Fatalf("last pushed: got %v, want d1 {60, On Track} only (d2 was refused)", got)
		}
		var dead []struct {
			CRMID   string `db:"crm_id"`
			Code    string `db:"code"`
			Message string `db:"message"`
		}
		if err := s.DB().SelectContext(ctx, &dead, `SELECT crm_id, code, message FROM push_dead_letters`); err != nil {
			t.Fatal(err)
		}
		if len(dead) != 1 || dead[0].CRMID != "d2" || dead[0].Code != "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" {
			t.Fatalf("dead letters: got %+v, want d2 with the CRM's code", dead)
		}
		// A later successful write of the refused record clears its dead letter.
		if err := s.RecordPush(ctx, "acme", []store.PushOutcome{{Object: "deal", CRMID: "d2", Outcome: "written", Fields: map[string]any{"MAP_Status__c": "On Track"}}}); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := s.DB().GetContext(ctx, &n, `SELECT COUNT(*) FROM push_dead_letters`); err != nil || n != 0 {
			t.Fatalf("dead letters after success: got %d, %v; want 0", n, err)
		}
		if err := s.DB().GetContext(ctx, &n, `SELECT COUNT(*) FROM push_log`); err != nil || n != 4 {
			t.Fatalf("push log rows: got %d, %v; want 4", n, err)
		}
	})
}
