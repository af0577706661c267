package salesforce_test

import (
	"errors"
	"testing"

	"github.com/mapsync/mapsync/sandbox/salesforce"
)

// TestCollectionRefusals checks each refusal a push can meet in one sObject collection update
// (allOrNone false): the other records of the request are written.
func TestCollectionRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t, 10)
	ids := b.sb.IDs("Opportunity")
	if r := b.do(t, "POST", "/__sandbox/validation-rules", map[string]any{
		"object": "Opportunity", "field": "MAP_Status__c", "value": "Off Track", "errorField": "MAP_Status__c",
		"message": "Off Track needs a reason: set Risk_Reason__c first",
	}); r.status != 200 {
		t.Fatalf("add rule: got %d %s", r.status, r.body)
	}
	if err := b.sb.AddValidationRule(salesforce.ValidationRule{Object: "opportunity", Field: "MAP_Progress__c", Value: "100", Message: "Close the deal instead"}); err != nil {
		t.Fatal(err)
	}
	if err := b.sb.DeleteRecord("Opportunity", ids[6]); err != nil {
		t.Fatal(err)
	}
	if err := b.sb.FailNextWrite(ids[7], "", ""); err != nil {
		t.Fatal(err)
	}
	rec := func(id string, fields map[string]any) map[string]any {
		fields["attributes"] = map[string]any{"type": "Opportunity"}
		fields["id"] = id
		return fields
	}
	long := make([]byte, 256)
	for i := range long {
		long[i] = 'x'
	}
	resp := b.do(t, "PATCH", api+"/composite/sobjects", map[string]any{"allOrNone": false, "records": []map[string]any{
		rec(ids[0], map[string]any{"MAP_Status__c": "At Risk", "MAP_Progress__c": 40, "MAP_Security_Review_Date__c": "2026-11-20"}),
		rec(ids[1], map[string]any{"MAP_Status__c": "at_risk"}),
		rec(ids[2], map[string]any{"MAP_Next_Step__c": string(long)}),
		rec(ids[3], map[string]any{"MAP_Status__c": "Off Track"}),
		rec(ids[4], map[string]any{"MAP_Progress__c": 100}),
		rec(ids[5], map[string]any{"IsClosed": true}),
		rec(ids[6], map[string]any{"MAP_Progress__c": 10}),
		rec(ids[7], map[string]any{"MAP_Progress__c": 10}),
		rec(ids[8], map[string]any{"MAP_Status__c": "Cancelled"}),
	}})
	var res []saveResult
	resp.decode(t, &res)
	if resp.status != 200 || len(res) != 9 {
		t.Fatalf("got %d %s", resp.status, resp.body)
	}
	want := []struct{ code, field, message string }{
		{"", "", ""},
		{"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "MAP_Status__c", "MAP Status: bad value for restricted picklist field: at_risk"},
		{"STRING_TOO_LONG", "MAP_Next_Step__c", ""},
		{"FIELD_CUSTOM_VALIDATION_EXCEPTION", "MAP_Status__c", "Off Track needs a reason: set Risk_Reason__c first"},
		{"FIELD_CUSTOM_VALIDATION_EXCEPTION", "", "Close the deal instead"},
		{"INVALID_FIELD_FOR_INSERT_UPDATE", "IsClosed", ""},
		{"ENTITY_IS_DELETED", "", "entity is deleted"},
		{"UNABLE_TO_LOCK_ROW", "", ""},
		{"", "", ""},
	}
	for i, w := range want {
		r := res[i]
		if w.code == "" {
			if !r.Success {
				t.Errorf("record %d: got %+v, want success", i, r)
			}
			continue
		}
		if r.Success || len(r.Errors) != 1 || r.Errors[0].StatusCode != w.code {
			t.Errorf("record %d: got %+v, want %s", i, r, w.code)
			continue
		}
		e := r.Errors[0]
		if e.Fields == nil {
			t.Errorf("record %d: fields is null, want an array", i)
		}
		if (w.field == "") != (len(e.Fields) == 0) || w.field != "" && e.Fields[0] != w.field {
			t.Errorf("record %d: got fields %v, want [%s]", i, e.Fields, w.field)
		}
		if w.message != "" && e.Message != w.message {
			t.Errorf("record %d: got message %q, want %q", i, e.Message, w.message)
		}
	}
	got, _ := b.sb.Record("Opportunity", ids[0])
	if got["MAP_Status__c"] != "At Risk" || got["MAP_Progress__c"] != 40.0 || got["MAP_Security_Review_Date__c"] != "2026-11-20" {
		t.Errorf("record 0: got %v", got)
	}
	if got, _ := b.sb.Record("Opportunity", ids[3]); got["MAP_Status__c"] != nil {
		t.Errorf("record 3 broke the rule and was written: %v", got["MAP_Status__c"])
	}

	t.Run("rules go away", func(t *testing.T) {
		if r := b.do(t, "DELETE", "/__sandbox/validation-rules", nil); r.status != 200 {
			t.Fatalf("got %d", r.status)
		}
		if err := b.sb.UpdateRecord("Opportunity", ids[3], map[string]any{"MAP_Status__c": "Off Track"}); err != nil {
			t.Errorf("after clearing the rules: %v", err)
		}
	})
	t.Run("a rule must name real fields", func(t *testing.T) {
		err := b.sb.AddValidationRule(salesforce.ValidationRule{Object: "Opportunity", Field: "Nope__c", Message: "x"})
		if !errors.Is(err, salesforce.ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
		if r := b.do(t, "POST", "/__sandbox/validation-rules", map[string]any{"object": "Opportunity", "field": "StageName"}); r.status != 400 {
			t.Errorf("rule without a message: got %d, want 400", r.status)
		}
	})
}
