package salesforce

import (
	"strings"
	"testing"

	"github.com/mapsync/mapsync/connectors"
	sandbox "github.com/mapsync/mapsync/sandbox/salesforce"
)

func TestUpdatePerRecordResults(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Deals: 500}, nil, nil)
	ids := b.sb.IDs("Opportunity")[:450]
	changes := make([]connectors.Change, 0, len(ids)+1)
	for i, id := range ids {
		changes = append(changes, connectors.Change{ID: id, Fields: map[string]any{"MAP_Status__c": "On Track", "MAP_Progress__c": float64(i % 100)}})
	}
	// Bad records among good ones, each failing alone.
	const (
		locked     = 3
		badPick    = 210
		tooLong    = 420
		deleted    = 5
		malformed  = 450 // appended below
		badField   = 7
		wantOKless = 6
	)
	if err := b.sb.FailNextWrite(ids[locked], "", ""); err != nil {
		t.Fatal(err)
	}
	changes[badPick].Fields["MAP_Status__c"] = "Bogus"
	changes[tooLong].Fields["MAP_Next_Step__c"] = strings.Repeat("x", 300)
	if err := b.sb.DeleteRecord("Opportunity", ids[deleted]); err != nil {
		t.Fatal(err)
	}
	changes[badField].Fields["Name') OR ('x"] = "y"
	changes = append(changes, connectors.Change{ID: "006' OR Id != '", Fields: map[string]any{"Name": "x"}})
	calls0 := opCalls(t, b.reg, "update")

	results, err := c.Update(t.Context(), connectors.ObjectDeal, changes)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(changes) {
		t.Fatalf("results: got %d, want %d", len(results), len(changes))
	}
	if got := opCalls(t, b.reg, "update") - calls0; got != 3 {
		t.Errorf("collection requests: got %d, want 3 (200 + 200 + 48 valid records)", got)
	}
	want := map[int]struct {
		kind connectors.Kind
		code string
	}{
		locked:    {connectors.KindTransient, "UNABLE_TO_LOCK_ROW"},
		badPick:   {connectors.KindPermanent, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"},
		tooLong:   {connectors.KindPermanent, "STRING_TOO_LONG"},
		deleted:   {connectors.KindPermanent, "ENTITY_IS_DELETED"},
		badField:  {connectors.KindPermanent, "INVALID_FIELD"},
		malformed: {connectors.KindPermanent, "MALFORMED_ID"},
	}
	failed := 0
	for i, r := range results {
		if r.ID != changes[i].ID {
			t.Fatalf("result %d is for %s, want %s (input order)", i, r.ID, changes[i].ID)
		}
		w, bad := want[i]
		if !bad {
			if !r.OK {
				t.Errorf("result %d (%s): got %v, want OK", i, r.ID, r.Err)
			}
			continue
		}
		failed++
		if r.OK || r.Err == nil || r.Err.Kind != w.kind || r.Err.Code != w.code {
			t.Errorf("result %d: got ok=%v err=%v, want %s %s", i, r.OK, r.Err, w.kind, w.code)
		}
		if r.Err != nil && r.Err.Message == "" {
			t.Errorf("result %d: no message", i)
		}
	}
	if failed != wantOKless {
		t.Errorf("failed results: got %d, want %d", failed, wantOKless)
	}
	rec, err := b.sb.Record("Opportunity", ids[100])
	if err != nil {
		t.Fatal(err)
	}
	if rec["MAP_Status__c"] != "On Track" {
		t.Errorf("stored MAP_Status__c: got %v, want On Track", rec["MAP_Status__c"])
	}
	// The lock was transient: sending the same change again succeeds.
	again, err := c.Update(t.Context(), connectors.ObjectDeal, changes[locked:locked+1])
	if err != nil || len(again) != 1 || !again[0].OK {
		t.Errorf("retry of the locked record: got %+v, %v; want OK", again, err)
	}
}

func TestUpdateRetriesAfter5xx(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Deals: 20}, nil, nil)
	id := b.sb.IDs("Opportunity")[0]
	if err := b.sb.InjectFault(sandbox.Fault{Kind: sandbox.FaultServerError, Status: 503, Count: 2, Endpoint: "composite.update"}); err != nil {
		t.Fatal(err)
	}
	res, err := c.Update(t.Context(), connectors.ObjectDeal, []connectors.Change{{ID: id, Fields: map[string]any{"NextStep": "call back"}}})
	if err != nil || len(res) != 1 || !res[0].OK {
		t.Fatalf("got %+v, %v; want OK after retries", res, err)
	}
	if got := opCalls(t, b.reg, "update"); got != 3 {
		t.Errorf("requests: got %d, want 3", got)
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, sandbox.Options{Deals: 10}, nil, nil)
	fields, err := c.Describe(t.Context(), connectors.ObjectDeal)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]connectors.FieldMeta{}
	for _, f := range fields {
		by[f.Name] = f
	}
	tests := map[string]func(connectors.FieldMeta) bool{
		"Id": func(f connectors.FieldMeta) bool { return f.Type == connectors.TypeID && !f.Updateable },
		"Name": func(f connectors.FieldMeta) bool {
			return f.Type == connectors.TypeString && f.Length == 120 && f.Updateable && !f.Nillable
		},
		"Description": func(f connectors.FieldMeta) bool { return f.Type == connectors.TypeText && f.Length == 32000 },
		"StageName": func(f connectors.FieldMeta) bool {
			return f.Type == connectors.TypePicklist && len(f.Options) > 3 && !f.Restricted
		},
		"Amount":         func(f connectors.FieldMeta) bool { return f.Type == connectors.TypeCurrency && f.Nillable },
		"Probability":    func(f connectors.FieldMeta) bool { return f.Type == connectors.TypePercent },
		"CloseDate":      func(f connectors.FieldMeta) bool { return f.Type == connectors.TypeDate },
		"OwnerId":        func(f connectors.FieldMeta) bool { return f.Type == connectors.TypeReference },
		"IsWon":          func(f connectors.FieldMeta) bool { return f.Type == connectors.TypeBool && !f.Updateable },
		"SystemModstamp": func(f connectors.FieldMeta) bool { return f.Type == connectors.TypeDateTime && !f.Updateable },
		"MAP_Status__c": func(f connectors.FieldMeta) bool {
			return f.Custom && f.Restricted && len(f.Options) == len(sandbox.MAPStatusValues)
		},
		"MAP_Plan_URL__c":  func(f connectors.FieldMeta) bool { return f.Type == connectors.TypeURL && f.Custom && f.Updateable },
		"MAP_Progress__c":  func(f connectors.FieldMeta) bool { return f.Type == connectors.TypePercent && f.Custom },
		"MAP_Next_Step__c": func(f connectors.FieldMeta) bool { return f.Type == connectors.TypeString && f.Length == 255 },
	}
	for name, ok := range tests {
		f, found := by[name]
		if !found {
			t.Errorf("field %s missing", name)
			continue
		}
		if !ok(f) {
			t.Errorf("field %s: got %+v", name, f)
		}
	}
}

func TestUpdateValidationRule(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Deals: 3}, nil, nil)
	ids := b.sb.IDs("Opportunity")
	if err := b.sb.AddValidationRule(sandbox.ValidationRule{Object: "Opportunity", Field: "MAP_Status__c", Value: "Off Track",
		ErrorField: "MAP_Status__c", Message: "Off Track needs a risk reason"}); err != nil {
		t.Fatal(err)
	}
	results, err := c.Update(t.Context(), connectors.ObjectDeal, []connectors.Change{
		{ID: ids[0], Fields: map[string]any{"MAP_Status__c": "Off Track"}},
		{ID: ids[1], Fields: map[string]any{"MAP_Status__c": "At Risk", "MAP_Security_Review_Date__c": "2026-11-20"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := results[0]; r.OK || r.Err.Kind != connectors.KindPermanent || r.Err.Code != "FIELD_CUSTOM_VALIDATION_EXCEPTION" ||
		r.Err.Message != "Off Track needs a risk reason" || len(r.Err.Fields) != 1 || r.Err.Fields[0] != "MAP_Status__c" {
		t.Errorf("rule broken: got %+v", r.Err)
	}
	if !results[1].OK {
		t.Errorf("other record: got %+v, want ok", results[1].Err)
	}
}
