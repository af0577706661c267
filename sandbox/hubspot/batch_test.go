package hubspot

import (
	"strconv"
	"strings"
	"testing"
)

func TestBatch(t *testing.T) {
	t.Parallel()
	date := Property{ObjectType: "deals", Name: "renewal_date", Label: "Renewal date", Type: "date"}
	b := setup(t, Options{Deals: 5, CustomProperties: append(DefaultCustomProperties(), date)})
	ids := b.sb.IDs("deals")

	t.Run("read with a missing id is 207", func(t *testing.T) {
		r := b.do(t, "POST", "/crm/v3/objects/deals/batch/read", map[string]any{"properties": []string{"dealname"},
			"inputs": []any{map[string]string{"id": ids[0]}, map[string]string{"id": "99999"}}})
		wantStatus(t, r, 207)
		m := r.json(t)
		if m["status"] != "COMPLETE" || m["numErrors"] != float64(1) || dig(m, "errors", 0, "category") != "OBJECT_NOT_FOUND" ||
			dig(m, "errors", 0, "context", "ids", 0) != "99999" || len(m["results"].([]any)) != 1 {
			t.Errorf("got %s", r.body)
		}
	})
	t.Run("read all found is 200", func(t *testing.T) {
		r := b.do(t, "POST", "/crm/v3/objects/deals/batch/read", map[string]any{"inputs": []any{map[string]string{"id": ids[1]}}})
		wantStatus(t, r, 200)
	})
	t.Run("update and read back", func(t *testing.T) {
		r := b.do(t, "POST", "/crm/v3/objects/deals/batch/update", map[string]any{"inputs": []any{
			map[string]any{"id": ids[0], "properties": map[string]any{"map_status": "at_risk", "map_progress": "42.5", "renewal_date": "2027-01-31"}},
			map[string]any{"id": ids[1], "properties": map[string]any{"map_next_step": "Sign", "renewal_date": 1801267200000}},
		}})
		wantStatus(t, r, 200)
		p, _ := b.sb.Object("deals", ids[0])
		if p["map_status"] != "at_risk" || p["map_progress"] != "42.5" || p["renewal_date"] != "2027-01-31T00:00:00Z" {
			t.Errorf("got %v", p)
		}
	})
	t.Run("update with a missing id is 207", func(t *testing.T) {
		r := b.do(t, "POST", "/crm/v3/objects/deals/batch/update", map[string]any{"inputs": []any{
			map[string]any{"id": ids[2], "properties": map[string]any{"map_status": "completed"}},
			map[string]any{"id": "424242", "properties": map[string]any{"map_status": "completed"}},
		}})
		wantStatus(t, r, 207)
		if p, _ := b.sb.Object("deals", ids[2]); p["map_status"] != "completed" {
			t.Errorf("got %v, want the found input updated", p["map_status"])
		}
	})
	validation := map[string]struct {
		props map[string]any
		code  string
	}{
		"option":    {map[string]any{"map_status": "Done"}, "INVALID_OPTION"},
		"number":    {map[string]any{"map_progress": "lots"}, "INVALID_INTEGER"},
		"read-only": {map[string]any{"hs_lastmodifieddate": "2026-01-01T00:00:00Z"}, "READ_ONLY_VALUE"},
		"unknown":   {map[string]any{"no_such": "x"}, "PROPERTY_DOESNT_EXIST"},
		"midnight":  {map[string]any{"renewal_date": "1801267200001"}, "INVALID_DATE"},
	}
	for name, tc := range validation {
		t.Run("validation "+name, func(t *testing.T) {
			before, _ := b.sb.Object("deals", ids[3])
			r := b.do(t, "POST", "/crm/v3/objects/deals/batch/update", map[string]any{"inputs": []any{
				map[string]any{"id": ids[4], "properties": map[string]any{"map_next_step": "ok"}},
				map[string]any{"id": ids[3], "properties": tc.props},
			}})
			wantStatus(t, r, 400)
			m := r.json(t)
			if m["category"] != "VALIDATION_ERROR" || !strings.Contains(m["message"].(string), `"error":"`+tc.code+`"`) ||
				!strings.HasPrefix(m["message"].(string), "Property values were not valid: ") {
				t.Errorf("got %s, want VALIDATION_ERROR with %s", r.body, tc.code)
			}
			after, _ := b.sb.Object("deals", ids[3])
			if after["hs_lastmodifieddate"] != before["hs_lastmodifieddate"] {
				t.Errorf("a failed batch changed a record")
			}
		})
	}
	t.Run("more than 100 inputs", func(t *testing.T) {
		var inputs []any
		for range 101 {
			inputs = append(inputs, map[string]string{"id": ids[0]})
		}
		wantStatus(t, b.do(t, "POST", "/crm/v3/objects/deals/batch/read", map[string]any{"inputs": inputs}), 400)
	})
	t.Run("create and archive", func(t *testing.T) {
		r := b.do(t, "POST", "/crm/v3/objects/deals/batch/create", map[string]any{"inputs": []any{
			map[string]any{"properties": map[string]any{"dealname": "A", "dealstage": "appointmentscheduled"}},
			map[string]any{"properties": map[string]any{"dealname": "B", "dealstage": "appointmentscheduled"}},
		}})
		wantStatus(t, r, 201)
		var in []any
		for _, res := range r.json(t)["results"].([]any) {
			in = append(in, map[string]any{"id": dig(res, "id")})
		}
		r = b.do(t, "POST", "/crm/v3/objects/deals/batch/archive", map[string]any{"inputs": in})
		wantStatus(t, r, 204)
		if len(b.sb.IDs("deals")) != 5 {
			t.Errorf("got %d live deals, want 5", len(b.sb.IDs("deals")))
		}
	})
}

func TestPropertiesAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{CustomProperties: DefaultCustomProperties()})
	r := b.do(t, "GET", "/crm/v3/properties/deals", nil)
	wantStatus(t, r, 200)
	byName := map[string]any{}
	for _, p := range r.json(t)["results"].([]any) {
		byName[dig(p, "name").(string)] = p
	}
	for name, want := range map[string]struct {
		typ, fieldType string
		readOnly       bool
		options        int
	}{
		"dealstage":           {"enumeration", "radio", false, 11},
		"map_status":          {"enumeration", "select", false, 6},
		"map_progress":        {"number", "number", false, 0},
		"hs_lastmodifieddate": {"datetime", "date", true, 0},
		"closedate":           {"datetime", "date", false, 0},
	} {
		p := byName[name]
		if p == nil {
			t.Errorf("property %s missing", name)
			continue
		}
		if dig(p, "type") != want.typ || dig(p, "fieldType") != want.fieldType || dig(p, "modificationMetadata", "readOnlyValue") != want.readOnly ||
			len(dig(p, "options").([]any)) != want.options {
			t.Errorf("got %s = %v, want %+v", name, p, want)
		}
	}
	if dig(byName["map_status"], "hubspotDefined") != false || dig(byName["map_status"], "options", 1, "value") != "on_track" {
		t.Errorf("got map_status %v", byName["map_status"])
	}
	r = b.do(t, "GET", "/crm/v3/properties/0-1/email", nil)
	wantStatus(t, r, 200)
	wantStatus(t, b.do(t, "GET", "/crm/v3/properties/deals/nope", nil), 404)
}

func TestAssociationsV4(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 10})
	deal := b.sb.IDs("deals")[0]
	r := b.do(t, "GET", "/crm/v4/objects/deals/"+deal+"/associations/contacts", nil)
	wantStatus(t, r, 200)
	results := r.json(t)["results"].([]any)
	if len(results) == 0 {
		t.Fatalf("got no associations for deal %s", deal)
	}
	types := dig(results[0], "associationTypes").([]any)
	if dig(types, 0, "category") != "HUBSPOT_DEFINED" || dig(types, 0, "typeId") != float64(3) || dig(types, 0, "label") != nil {
		t.Errorf("got types %v, want HUBSPOT_DEFINED 3 first", types)
	}
	if dig(types, 1, "category") != "USER_DEFINED" || dig(types, 1, "typeId").(float64) < 28 {
		t.Errorf("got %v, want a USER_DEFINED role label", types)
	}
	if _, ok := dig(results[0], "toObjectId").(float64); !ok {
		t.Errorf("got toObjectId %v, want a JSON number", dig(results[0], "toObjectId"))
	}
	hasPrimary := false
	for _, res := range results {
		for _, ty := range dig(res, "associationTypes").([]any) {
			hasPrimary = hasPrimary || dig(ty, "label") == PrimaryContactLabel
		}
	}
	if !hasPrimary {
		t.Errorf("no contact of deal %s carries the primary label", deal)
	}

	lonely, err := b.sb.CreateDeal(map[string]string{"dealname": "No contacts", "dealstage": "appointmentscheduled"})
	if err != nil {
		t.Fatal(err)
	}
	r = b.do(t, "POST", "/crm/v4/associations/deals/contacts/batch/read", map[string]any{"inputs": []any{
		map[string]string{"id": deal}, map[string]string{"id": lonely}}})
	wantStatus(t, r, 207)
	m := r.json(t)
	if len(m["results"].([]any)) != 1 || dig(m, "errors", 0, "subCategory") != "crm.associations.NO_ASSOCIATIONS_FOUND" ||
		dig(m, "results", 0, "from", "id") != deal {
		t.Errorf("got %s", r.body)
	}

	contact := fmtFloat(dig(results[0], "toObjectId").(float64))
	r = b.do(t, "GET", "/crm/v4/objects/contacts/"+contact+"/associations/deals", nil)
	if dig(r.json(t), "results", 0, "associationTypes", 0, "typeId") != float64(4) {
		t.Errorf("got contact->deal %s, want typeId 4", r.body)
	}

	for _, path := range []string{"/crm/v4/associations/deals/contacts/labels", "/crm/associations/v4/deals/contacts/labels"} {
		r := b.do(t, "GET", path, nil)
		wantStatus(t, r, 200)
		labels := r.json(t)["results"].([]any)
		if len(labels) != 10 || dig(labels, 1, "label") != "Decision Maker" || dig(labels, 1, "typeId") != float64(28) {
			t.Errorf("%s: got %s", path, r.body)
		}
	}

	r = b.do(t, "PUT", "/crm/v4/objects/deals/"+lonely+"/associations/contacts/"+contact, []any{
		map[string]any{"associationCategory": "USER_DEFINED", "associationTypeId": 30}})
	wantStatus(t, r, 201)
	r = b.do(t, "PUT", "/crm/v4/objects/deals/"+lonely+"/associations/default/contacts/"+contact, nil)
	wantStatus(t, r, 200)
	r = b.do(t, "GET", "/crm/v4/objects/deals/"+lonely+"/associations/contacts", nil)
	if n := len(dig(r.json(t), "results", 0, "associationTypes").([]any)); n != 2 {
		t.Errorf("got %s, want two types", r.body)
	}
}

func TestOwners(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 200}) // 8 owners
	for _, path := range []string{"/crm/v3/owners", "/crm/v3/owners/"} {
		var all []any
		after := ""
		for {
			r := b.do(t, "GET", path+"?limit=3&after="+after, nil)
			wantStatus(t, r, 200)
			m := r.json(t)
			all = append(all, m["results"].([]any)...)
			next, _ := dig(m, "paging", "next", "after").(string)
			if next == "" {
				break
			}
			after = next
		}
		if len(all) != 8 || dig(all, 0, "type") != "PERSON" || dig(all, 0, "email") == nil {
			t.Errorf("%s: got %d owners (%v), want 8", path, len(all), dig(all, 0))
		}
	}
	r := b.do(t, "GET", "/crm/v3/owners/70000002", nil)
	wantStatus(t, r, 200)
	if r.json(t)["userId"] != float64(9000002) {
		t.Errorf("got %s", r.body)
	}
	wantStatus(t, b.do(t, "GET", "/crm/v3/owners/1", nil), 404)
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
