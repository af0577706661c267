package salesforce_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mapsync/mapsync/sandbox/salesforce"
)

type describeField struct {
	Name               string   `json:"name"`
	Type               string   `json:"type"`
	Length             int      `json:"length"`
	Precision          int      `json:"precision"`
	Scale              int      `json:"scale"`
	Nillable           bool     `json:"nillable"`
	Updateable         bool     `json:"updateable"`
	Createable         bool     `json:"createable"`
	Custom             bool     `json:"custom"`
	RestrictedPicklist bool     `json:"restrictedPicklist"`
	ReferenceTo        []string `json:"referenceTo"`
	RelationshipName   *string  `json:"relationshipName"`
	SoapType           string   `json:"soapType"`
	PicklistValues     []struct {
		Value  string `json:"value"`
		Active bool   `json:"active"`
	} `json:"picklistValues"`
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	type want struct {
		typ        string
		length     int
		updateable bool
		custom     bool
		ref        string
	}
	tests := map[string]map[string]want{
		"Opportunity": {
			"Id": {typ: "id", length: 18}, "Name": {typ: "string", length: 120, updateable: true},
			"StageName": {typ: "picklist", length: 255, updateable: true}, "Amount": {typ: "currency", updateable: true},
			"CloseDate": {typ: "date", updateable: true}, "Probability": {typ: "percent", updateable: true},
			"IsClosed": {typ: "boolean"}, "IsWon": {typ: "boolean"}, "Description": {typ: "textarea", length: 32000, updateable: true},
			"TotalOpportunityQuantity": {typ: "double", updateable: true}, "Type": {typ: "picklist", length: 255, updateable: true},
			"NextStep": {typ: "string", length: 255, updateable: true}, "OwnerId": {typ: "reference", length: 18, updateable: true, ref: "User"},
			"AccountId":      {typ: "reference", length: 18, updateable: true, ref: "Account"},
			"SystemModstamp": {typ: "datetime"}, "LastModifiedDate": {typ: "datetime"}, "IsDeleted": {typ: "boolean"},
			"MAP_Progress__c": {typ: "percent", updateable: true, custom: true}, "MAP_Status__c": {typ: "picklist", length: 255, updateable: true, custom: true},
			"MAP_Next_Step__c": {typ: "string", length: 255, updateable: true, custom: true}, "MAP_Plan_URL__c": {typ: "url", length: 255, updateable: true, custom: true},
		},
		"Contact": {"FirstName": {typ: "string", length: 40, updateable: true}, "Email": {typ: "email", length: 80, updateable: true}, "Name": {typ: "string", length: 121}},
		"OpportunityContactRole": {"OpportunityId": {typ: "reference", length: 18, ref: "Opportunity"}, "ContactId": {typ: "reference", length: 18, updateable: true, ref: "Contact"},
			"Role": {typ: "picklist", length: 255, updateable: true}, "IsPrimary": {typ: "boolean", updateable: true}},
		"User":    {"Email": {typ: "email", length: 128, updateable: true}, "IsActive": {typ: "boolean", updateable: true}, "Username": {typ: "string", length: 80, updateable: true}},
		"Account": {"Name": {typ: "string", length: 255, updateable: true}},
	}
	for obj, fields := range tests {
		t.Run(obj, func(t *testing.T) {
			t.Parallel()
			resp := b.do(t, "GET", api+"/sobjects/"+obj+"/describe", nil)
			var d struct {
				Name   string          `json:"name"`
				Fields []describeField `json:"fields"`
				URLs   map[string]string
			}
			resp.decode(t, &d)
			if resp.status != 200 || d.Name != obj {
				t.Fatalf("got %d name %q", resp.status, d.Name)
			}
			byName := map[string]describeField{}
			for _, f := range d.Fields {
				byName[f.Name] = f
				if f.PicklistValues == nil || f.ReferenceTo == nil {
					t.Errorf("%s: picklistValues and referenceTo must be arrays", f.Name)
				}
			}
			for name, w := range fields {
				f, ok := byName[name]
				if !ok {
					t.Errorf("missing field %s", name)
					continue
				}
				if f.Type != w.typ || f.Length != w.length || f.Updateable != w.updateable || f.Custom != w.custom {
					t.Errorf("%s: got type %s length %d updateable %v custom %v, want %+v", name, f.Type, f.Length, f.Updateable, f.Custom, w)
				}
				if w.ref != "" && (len(f.ReferenceTo) != 1 || f.ReferenceTo[0] != w.ref || f.RelationshipName == nil) {
					t.Errorf("%s: got referenceTo %v relationship %v, want %s", name, f.ReferenceTo, f.RelationshipName, w.ref)
				}
			}
			if obj == "Opportunity" {
				st := byName["MAP_Status__c"]
				if !st.RestrictedPicklist || len(st.PicklistValues) != len(salesforce.MAPStatusValues) {
					t.Errorf("MAP_Status__c: got %+v", st)
				}
				if a := byName["Amount"]; a.Precision != 18 || a.Scale != 2 || a.SoapType != "xsd:double" {
					t.Errorf("Amount: got %+v", a)
				}
				if q := byName["TotalOpportunityQuantity"]; q.Precision != 18 || q.Scale != 2 || q.SoapType != "xsd:double" || !q.Nillable || q.Custom {
					t.Errorf("TotalOpportunityQuantity: got %+v, want a nillable standard double(18,2)", q)
				}
				if byName["StageName"].Nillable || !byName["NextStep"].Nillable {
					t.Errorf("nillable: StageName %v NextStep %v", byName["StageName"].Nillable, byName["NextStep"].Nillable)
				}
			}
		})
	}
	if r := b.do(t, "GET", api+"/sobjects/Nope/describe", nil); r.status != 404 {
		t.Errorf("unknown object: got %d", r.status)
	}
	r := b.do(t, "GET", api+"/sobjects", nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"maxBatchSize":200`) || !strings.Contains(string(r.body), `"keyPrefix":"00K"`) {
		t.Errorf("global describe: got %d %s", r.status, r.body)
	}
}

func TestRecordCRUD(t *testing.T) {
	t.Parallel()
	b := setup(t, 10)
	owner := b.sb.IDs("User")[1]
	account := b.sb.IDs("Account")[0]

	// Create.
	resp := b.do(t, "POST", api+"/sobjects/Opportunity", map[string]any{
		"Name": "New deal", "StageName": "Qualification", "CloseDate": "2026-12-31", "Amount": 1234.5,
		"OwnerId": owner, "AccountId": account, "MAP_Status__c": "On Track",
	})
	var created struct {
		ID      string `json:"id"`
		Success bool   `json:"success"`
		Errors  []any  `json:"errors"`
	}
	resp.decode(t, &created)
	if resp.status != 201 || !created.Success || created.Errors == nil || !strings.HasPrefix(created.ID, "006") || len(created.ID) != 18 {
		t.Fatalf("create: got %d %s", resp.status, resp.body)
	}

	// Read; derived fields follow the stage.
	resp = b.do(t, "GET", api+"/sobjects/Opportunity/"+created.ID, nil)
	var rec map[string]any
	resp.decode(t, &rec)
	if resp.status != 200 || rec["Name"] != "New deal" || rec["Probability"] != 20.0 || rec["IsClosed"] != false || rec["CloseDate"] != "2026-12-31" {
		t.Fatalf("get: got %d %v", resp.status, rec)
	}
	created1 := rec["SystemModstamp"].(string)

	// Update bumps LastModifiedDate and SystemModstamp.
	b.clock.Advance(90 * time.Second)
	resp = b.do(t, "PATCH", api+"/sobjects/Opportunity/"+created.ID, map[string]any{"StageName": "Closed Won", "MAP_Progress__c": 100})
	if resp.status != 204 || len(resp.body) != 0 {
		t.Fatalf("update: got %d %q, want 204 without body", resp.status, resp.body)
	}
	resp = b.do(t, "GET", api+"/sobjects/Opportunity/"+created.ID[:15]+"?fields=StageName,IsWon,Probability,SystemModstamp,LastModifiedDate,MAP_Progress__c", nil)
	rec = map[string]any{}
	resp.decode(t, &rec)
	if rec["IsWon"] != true || rec["Probability"] != 100.0 || rec["MAP_Progress__c"] != 100.0 || len(rec) != 7 {
		t.Fatalf("after update: got %v", rec)
	}
	if rec["SystemModstamp"] != "2026-11-23T12:01:30.000+0000" || rec["LastModifiedDate"] != rec["SystemModstamp"] || created1 == rec["SystemModstamp"] {
		t.Fatalf("stamps: got %v / %v, created %v", rec["SystemModstamp"], rec["LastModifiedDate"], created1)
	}

	// Delete, then the record is gone.
	if r := b.do(t, "DELETE", api+"/sobjects/Opportunity/"+created.ID, nil); r.status != 204 {
		t.Fatalf("delete: got %d", r.status)
	}
	if r := b.do(t, "GET", api+"/sobjects/Opportunity/"+created.ID, nil); r.status != 404 || r.errorCode(t) != "ENTITY_IS_DELETED" {
		t.Fatalf("get deleted: got %d %s", r.status, r.body)
	}
	if r := b.do(t, "GET", api+"/sobjects/Opportunity/006000000000000AAA", nil); r.status != 404 || r.errorCode(t) != "NOT_FOUND" {
		t.Fatalf("get missing: got %d %s", r.status, r.body)
	}
	if r := b.do(t, "PUT", api+"/sobjects/Opportunity/"+created.ID, map[string]any{}); r.status != 405 || r.errorCode(t) != "METHOD_NOT_ALLOWED" {
		t.Fatalf("PUT: got %d %s", r.status, r.body)
	}
}

func TestSingleRecordValidation(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	id := b.sb.IDs("Opportunity")[0]
	tests := []struct {
		name     string
		method   string
		path     string
		body     map[string]any
		status   int
		wantCode string
	}{
		{"restricted picklist", "PATCH", "/sobjects/Opportunity/" + id, map[string]any{"MAP_Status__c": "Great"}, 400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"},
		{"too long", "PATCH", "/sobjects/Opportunity/" + id, map[string]any{"Name": strings.Repeat("x", 121)}, 400, "STRING_TOO_LONG"},
		{"read-only field", "PATCH", "/sobjects/Opportunity/" + id, map[string]any{"IsWon": true}, 400, "INVALID_FIELD_FOR_INSERT_UPDATE"},
		{"unknown field", "PATCH", "/sobjects/Opportunity/" + id, map[string]any{"Nope__c": 1}, 400, "INVALID_FIELD"},
		{"wrong type", "PATCH", "/sobjects/Opportunity/" + id, map[string]any{"Amount": "lots"}, 400, "INVALID_TYPE_ON_FIELD_IN_RECORD"},
		{"bad date", "PATCH", "/sobjects/Opportunity/" + id, map[string]any{"CloseDate": "31/12/2026"}, 400, "INVALID_TYPE_ON_FIELD_IN_RECORD"},
		{"required to null", "PATCH", "/sobjects/Opportunity/" + id, map[string]any{"StageName": nil}, 400, "REQUIRED_FIELD_MISSING"},
		{"number out of range", "PATCH", "/sobjects/Opportunity/" + id, map[string]any{"MAP_Progress__c": 1000}, 400, "NUMBER_OUTSIDE_VALID_RANGE"},
		{"bad reference", "PATCH", "/sobjects/Opportunity/" + id, map[string]any{"OwnerId": "005000000000000AAA"}, 400, "INVALID_CROSS_REFERENCE_KEY"},
		{"create-only field", "PATCH", "/sobjects/OpportunityContactRole/" + b.sb.IDs("OpportunityContactRole")[0], map[string]any{"OpportunityId": id}, 400, "INVALID_FIELD_FOR_INSERT_UPDATE"},
		{"missing record", "PATCH", "/sobjects/Opportunity/006000000000000AAA", map[string]any{"Name": "x"}, 404, "NOT_FOUND"},
		{"create without required", "POST", "/sobjects/Opportunity", map[string]any{"Name": "x"}, 400, "REQUIRED_FIELD_MISSING"},
		{"create with Id", "POST", "/sobjects/Opportunity", map[string]any{"Id": id, "Name": "x"}, 400, "INVALID_FIELD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := b.do(t, tt.method, api+tt.path, tt.body)
			if resp.status != tt.status || resp.errorCode(t) != tt.wantCode {
				t.Fatalf("got %d %s, want %d %s", resp.status, resp.body, tt.status, tt.wantCode)
			}
		})
	}
	rec, err := b.sb.Record("Opportunity", id)
	if err != nil {
		t.Fatal(err)
	}
	if rec["MAP_Status__c"] != nil || len(rec["Name"].(string)) > 120 {
		t.Fatalf("a failed write changed the record: %v", rec)
	}
}

func TestContactRolePrimaryIsUnique(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	opp := b.sb.IDs("Opportunity")[0]
	contact := b.sb.IDs("Contact")[0]
	resp := b.do(t, "POST", api+"/sobjects/OpportunityContactRole", map[string]any{
		"OpportunityId": opp, "ContactId": contact, "Role": "Champion", "IsPrimary": true,
	})
	if resp.status != http.StatusCreated {
		t.Fatalf("create role: got %d %s", resp.status, resp.body)
	}
	qr, _ := b.query(t, "SELECT Id, IsPrimary FROM OpportunityContactRole WHERE OpportunityId = '"+opp+"' AND IsPrimary = true")
	if qr.TotalSize != 1 {
		t.Fatalf("got %d primary roles, want 1", qr.TotalSize)
	}
}

func TestCustomFieldDeclarations(t *testing.T) {
	t.Parallel()
	bad := map[string]salesforce.Field{
		"no __c suffix":     {Object: "Opportunity", Name: "Plain", Type: "string"},
		"unknown object":    {Object: "Widget", Name: "X__c", Type: "string"},
		"unknown type":      {Object: "Opportunity", Name: "X__c", Type: "blob"},
		"dangling lookup":   {Object: "Opportunity", Name: "X__c", Type: "reference", ReferenceTo: "Widget"},
		"duplicate of std":  {Object: "Opportunity", Name: "Name", Type: "string"},
		"id type is for Id": {Object: "Opportunity", Name: "X__c", Type: "id"},
	}
	for name, f := range bad {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := salesforce.NewWithError(salesforce.Options{Deals: 1, CustomFields: []salesforce.Field{f}}); err == nil {
				t.Fatalf("declaration %+v accepted", f)
			}
		})
	}
	sb, err := salesforce.NewWithError(salesforce.Options{Deals: 1, CustomFields: []salesforce.Field{
		{Object: "Contact", Name: "Champion_Score__c", Type: "int", Precision: 3},
		{Object: "Opportunity", Name: "Primary_Contact__c", Type: "reference", ReferenceTo: "Contact"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if err := sb.UpdateRecord("Contact", sb.IDs("Contact")[0], map[string]any{"Champion_Score__c": 1000}); err == nil {
		t.Fatal("int(3) accepted 1000")
	}
	if err := sb.UpdateRecord("Opportunity", sb.IDs("Opportunity")[0], map[string]any{"Primary_Contact__c": sb.IDs("Contact")[0]}); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Record("Opportunity", sb.IDs("Opportunity")[0]); err != nil {
		t.Fatal(err)
	}
	rec, _ := sb.Record("Opportunity", sb.IDs("Opportunity")[0])
	if _, ok := rec["MAP_Status__c"]; ok {
		t.Errorf("explicit custom fields still got the defaults: %v", rec)
	}
}

// TotalOpportunityQuantity is a double: generated deals carry fractional and absent quantities,
// SOQL compares it as a number, and writes round to its scale and reject text.
func TestDoubleField(t *testing.T) {
	t.Parallel()
	b := setup(t, 60)
	all, _ := b.queryAllPages(t, "query", "SELECT Id, Amount, TotalOpportunityQuantity FROM Opportunity ORDER BY Id")
	nulls, fractional, above := 0, 0, 0
	var withQty string
	for _, rec := range all {
		q, ok := rec["TotalOpportunityQuantity"].(float64)
		if q > 2.5 {
			above++
		}
		switch {
		case rec["TotalOpportunityQuantity"] == nil:
			nulls++
		case !ok:
			t.Fatalf("quantity is not a JSON number: %v", rec)
		case q != float64(int64(q)):
			fractional++
			withQty = rec["Id"].(string)
		}
	}
	if nulls == 0 || fractional == 0 {
		t.Fatalf("got %d deals without quantity and %d fractional ones, want some of each", nulls, fractional)
	}
	qr, resp := b.query(t, "SELECT Id FROM Opportunity WHERE TotalOpportunityQuantity > 2.5 AND TotalOpportunityQuantity != null")
	if resp.status != 200 || qr.TotalSize != above || above == 0 {
		t.Fatalf("numeric filter: got %d, %d records, want %d: %s", resp.status, qr.TotalSize, above, resp.body)
	}
	if r := b.do(t, "PATCH", api+"/sobjects/Opportunity/"+withQty, map[string]any{"TotalOpportunityQuantity": 12.345}); r.status != 204 {
		t.Fatalf("write a double: got %d %s", r.status, r.body)
	}
	var rec map[string]any
	b.do(t, "GET", api+"/sobjects/Opportunity/"+withQty+"?fields=TotalOpportunityQuantity", nil).decode(t, &rec)
	if rec["TotalOpportunityQuantity"] != 12.35 {
		t.Fatalf("got %v, want 12.35 (rounded to scale 2)", rec["TotalOpportunityQuantity"])
	}
	r := b.do(t, "PATCH", api+"/sobjects/Opportunity/"+withQty, map[string]any{"TotalOpportunityQuantity": "many"})
	if r.status != 400 || r.errorCode(t) != "INVALID_TYPE_ON_FIELD_IN_RECORD" {
		t.Fatalf("text in a double: got %d %s", r.status, r.body)
	}
}
