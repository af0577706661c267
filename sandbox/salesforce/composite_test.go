package salesforce_test

import (
	"fmt"
	"testing"
)

type saveResult struct {
	ID      *string `json:"id"`
	Success bool    `json:"success"`
	Errors  []struct {
		StatusCode string   `json:"statusCode"`
		Message    string   `json:"message"`
		Fields     []string `json:"fields"`
	} `json:"errors"`
}

func TestCollectionUpdate(t *testing.T) {
	t.Parallel()
	t.Run("per-record results without allOrNone", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 10)
		ids := b.sb.IDs("Opportunity")
		if err := b.sb.FailNextWrite(ids[4], "", ""); err != nil {
			t.Fatal(err)
		}
		resp := b.do(t, "PATCH", api+"/composite/sobjects", map[string]any{
			"allOrNone": false,
			"records": []map[string]any{
				{"attributes": map[string]any{"type": "Opportunity"}, "id": ids[0], "MAP_Status__c": "At Risk", "MAP_Progress__c": 40},
				{"attributes": map[string]any{"type": "Opportunity"}, "id": ids[1], "MAP_Status__c": "Bogus"},
				{"attributes": map[string]any{"type": "Opportunity", "url": "/services/data/v62.0/sobjects/Opportunity/" + ids[2]}, "MAP_Next_Step__c": "Kickoff"},
				{"attributes": map[string]any{"type": "Opportunity"}, "id": ids[3], "IsClosed": true},
				{"attributes": map[string]any{"type": "Opportunity"}, "id": ids[4], "MAP_Progress__c": 10},
				{"attributes": map[string]any{"type": "Opportunity"}, "id": "006notanid", "MAP_Progress__c": 10},
				{"attributes": map[string]any{"type": "Opportunity"}, "id": ids[5], "MAP_Plan_URL__c": fmt.Sprintf("https://x.example/%0300d", 1)},
			},
		})
		var res []saveResult
		resp.decode(t, &res)
		if resp.status != 200 || len(res) != 7 {
			t.Fatalf("got %d %s", resp.status, resp.body)
		}
		want := []string{"", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "", "INVALID_FIELD_FOR_INSERT_UPDATE", "UNABLE_TO_LOCK_ROW", "MALFORMED_ID", "STRING_TOO_LONG"}
		for i, w := range want {
			got := ""
			if !res[i].Success {
				got = res[i].Errors[0].StatusCode
			}
			if got != w {
				t.Errorf("record %d: got %q (%+v), want %q", i, got, res[i], w)
			}
		}
		if res[0].ID == nil || *res[0].ID != ids[0] || res[0].Errors == nil {
			t.Errorf("success result: got %+v", res[0])
		}
		if res[1].Errors[0].Fields[0] != "MAP_Status__c" {
			t.Errorf("fields: got %v", res[1].Errors[0].Fields)
		}
		rec, _ := b.sb.Record("Opportunity", ids[0])
		if rec["MAP_Status__c"] != "At Risk" || rec["MAP_Progress__c"] != 40.0 {
			t.Errorf("record 0 not written: %v", rec)
		}
		rec, _ = b.sb.Record("Opportunity", ids[2])
		if rec["MAP_Next_Step__c"] != "Kickoff" {
			t.Errorf("record 2 (id in attributes.url) not written: %v", rec)
		}
		// The injected failure is spent: the next write of the record goes through.
		resp = b.do(t, "PATCH", api+"/composite/sobjects", map[string]any{"records": []map[string]any{
			{"attributes": map[string]any{"type": "Opportunity"}, "id": ids[4], "MAP_Progress__c": 10},
		}})
		res = nil
		resp.decode(t, &res)
		if !res[0].Success {
			t.Errorf("retry after injected failure: got %s", resp.body)
		}
	})
	t.Run("allOrNone rolls back", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 10)
		ids := b.sb.IDs("Opportunity")
		before, _ := b.sb.Record("Opportunity", ids[0])
		resp := b.do(t, "PATCH", api+"/composite/sobjects", map[string]any{
			"allOrNone": true,
			"records": []map[string]any{
				{"attributes": map[string]any{"type": "Opportunity"}, "id": ids[0], "MAP_Status__c": "At Risk"},
				{"attributes": map[string]any{"type": "Opportunity"}, "id": ids[1], "MAP_Status__c": "Bogus"},
			},
		})
		var res []saveResult
		resp.decode(t, &res)
		if resp.status != 200 || len(res) != 2 || res[0].Success || res[0].Errors[0].StatusCode != "ALL_OR_NONE_OPERATION_ROLLED_BACK" ||
			res[1].Errors[0].StatusCode != "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" {
			t.Fatalf("got %d %s", resp.status, resp.body)
		}
		after, _ := b.sb.Record("Opportunity", ids[0])
		if after["MAP_Status__c"] != nil || after["SystemModstamp"] != before["SystemModstamp"] {
			t.Fatalf("rolled back record changed: %v", after)
		}
	})
	t.Run("one transaction, one stamp", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 10)
		ids := b.sb.IDs("Opportunity")
		var recs []map[string]any
		for _, id := range ids[:5] {
			recs = append(recs, map[string]any{"attributes": map[string]any{"type": "Opportunity"}, "id": id, "MAP_Progress__c": 50})
		}
		if r := b.do(t, "PATCH", api+"/composite/sobjects", map[string]any{"records": recs}); r.status != 200 {
			t.Fatalf("got %d", r.status)
		}
		stamps := map[any]bool{}
		for _, id := range ids[:5] {
			rec, _ := b.sb.Record("Opportunity", id)
			stamps[rec["SystemModstamp"]] = true
		}
		if len(stamps) != 1 || !stamps["2026-11-23T12:00:00.000+0000"] {
			t.Fatalf("got stamps %v, want one: the request time", stamps)
		}
	})
	t.Run("more than 200 records", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 1)
		recs := make([]map[string]any, 201)
		for i := range recs {
			recs[i] = map[string]any{"attributes": map[string]any{"type": "Opportunity"}, "id": b.sb.IDs("Opportunity")[0]}
		}
		r := b.do(t, "PATCH", api+"/composite/sobjects", map[string]any{"records": recs})
		if r.status != 400 || r.errorCode(t) != "EXCEEDED_ID_LIMIT" {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})
}

func TestCollectionRetrieveCreateDelete(t *testing.T) {
	t.Parallel()
	b := setup(t, 10)
	ids := b.sb.IDs("Opportunity")
	resp := b.do(t, "POST", api+"/composite/sobjects/Opportunity", map[string]any{
		"ids": []string{ids[2], "006000000000000AAA", ids[0][:15]}, "fields": []string{"Id", "Name", "CloseDate"},
	})
	var got []map[string]any
	resp.decode(t, &got)
	if resp.status != 200 || len(got) != 3 || got[1] != nil || got[0]["Id"] != ids[2] || got[2]["Id"] != ids[0] || len(got[0]) != 4 {
		t.Fatalf("retrieve: got %d %s", resp.status, resp.body)
	}
	if r := b.do(t, "POST", api+"/composite/sobjects/Opportunity", map[string]any{"ids": ids[:1], "fields": []string{"Nope"}}); r.status != 400 || r.errorCode(t) != "INVALID_FIELD" {
		t.Fatalf("unknown field: got %d %s", r.status, r.body)
	}
	r := b.do(t, "GET", api+"/composite/sobjects/Opportunity?ids="+ids[1]+"&fields=Id,StageName", nil)
	got = nil
	r.decode(t, &got)
	if r.status != 200 || len(got) != 1 || got[0]["Id"] != ids[1] {
		t.Fatalf("GET retrieve: got %d %s", r.status, r.body)
	}

	resp = b.do(t, "POST", api+"/composite/sobjects", map[string]any{"allOrNone": false, "records": []map[string]any{
		{"attributes": map[string]any{"type": "Contact"}, "LastName": "Okafor", "FirstName": "Ada", "Email": "ada@example.com"},
		{"attributes": map[string]any{"type": "Contact"}, "FirstName": "NoLast"},
	}})
	var res []saveResult
	resp.decode(t, &res)
	if resp.status != 200 || !res[0].Success || res[0].ID == nil || res[1].Success || res[1].ID != nil || res[1].Errors[0].StatusCode != "REQUIRED_FIELD_MISSING" {
		t.Fatalf("create: got %d %s", resp.status, resp.body)
	}
	rec, _ := b.sb.Record("Contact", *res[0].ID)
	if rec["Name"] != "Ada Okafor" {
		t.Errorf("derived Name: got %v", rec["Name"])
	}

	resp = b.do(t, "DELETE", api+"/composite/sobjects?ids="+*res[0].ID+","+ids[9]+"&allOrNone=false", nil)
	res = nil
	resp.decode(t, &res)
	if resp.status != 200 || len(res) != 2 || !res[0].Success || !res[1].Success {
		t.Fatalf("delete: got %d %s", resp.status, resp.body)
	}
	if r := b.do(t, "GET", api+"/sobjects/Opportunity/"+ids[9], nil); r.status != 404 {
		t.Fatalf("deleted opportunity still readable: %d", r.status)
	}
}
