package hubspot

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestListPaging(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 250, CustomProperties: DefaultCustomProperties()})
	seen := map[string]bool{}
	after, pages := "", 0
	for {
		q := url.Values{"limit": {"100"}}
		if after != "" {
			q.Set("after", after)
		}
		r := b.do(t, "GET", "/crm/v3/objects/deals?"+q.Encode(), nil)
		wantStatus(t, r, 200)
		m := r.json(t)
		pages++
		for _, res := range m["results"].([]any) {
			id := dig(res, "id").(string)
			if seen[id] {
				t.Fatalf("got deal %s twice", id)
			}
			seen[id] = true
			if dig(res, "properties", "hs_object_id") != id || dig(res, "archived") != false {
				t.Fatalf("got record %v, want hs_object_id = id and archived false", res)
			}
			if _, err := time.Parse(time.RFC3339, dig(res, "updatedAt").(string)); err != nil {
				t.Fatalf("updatedAt: %v", err)
			}
		}
		next, _ := dig(m, "paging", "next", "after").(string)
		if next == "" {
			if _, ok := m["paging"]; ok {
				t.Errorf("last page carries paging %v, want none", m["paging"])
			}
			break
		}
		after = next
	}
	if len(seen) != 250 || pages != 3 {
		t.Errorf("got %d deals in %d pages, want 250 in 3", len(seen), pages)
	}

	tests := map[string]struct {
		query     string
		status    int
		wantProps []string
		notProps  []string
	}{
		"defaults":       {query: "limit=1", status: 200, wantProps: []string{"dealname", "amount", "dealstage", "pipeline", "closedate", "createdate", "hs_lastmodifieddate", "hs_object_id"}, notProps: []string{"hubspot_owner_id"}},
		"repeated":       {query: "limit=1&properties=dealname&properties=hubspot_owner_id", status: 200, wantProps: []string{"dealname", "hubspot_owner_id", "hs_object_id", "hs_lastmodifieddate"}, notProps: []string{"amount"}},
		"comma":          {query: "limit=1&properties=dealname,map_status,nope", status: 200, wantProps: []string{"dealname", "map_status"}, notProps: []string{"nope", "amount"}},
		"mixed":          {query: "limit=1&properties=dealname,amount&properties=description", status: 200, wantProps: []string{"dealname", "amount", "description"}},
		"limit too high": {query: "limit=101", status: 400},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := b.do(t, "GET", "/crm/v3/objects/deals?"+tc.query, nil)
			wantStatus(t, r, tc.status)
			if tc.status != 200 {
				if got := r.json(t)["category"]; got != "VALIDATION_ERROR" {
					t.Errorf("got category %v, want VALIDATION_ERROR", got)
				}
				return
			}
			props := dig(r.json(t), "results", 0, "properties").(map[string]any)
			for _, p := range tc.wantProps {
				if _, ok := props[p]; !ok {
					t.Errorf("got properties %v, want %s", props, p)
				}
			}
			for _, p := range tc.notProps {
				if _, ok := props[p]; ok {
					t.Errorf("got property %s, want it absent", p)
				}
			}
			if v, ok := props["map_status"]; ok && v != nil {
				t.Errorf("got map_status %v, want null", v)
			}
		})
	}
}

func TestListAssociationsAndArchived(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 5})
	r := b.do(t, "GET", "/crm/v3/objects/deals?limit=5&associations=contacts", nil)
	wantStatus(t, r, 200)
	first := dig(r.json(t), "results", 0)
	if dig(first, "associations", "contacts", "results", 0, "type") != "deal_to_contact" {
		t.Errorf("got associations %v, want deal_to_contact entries", dig(first, "associations"))
	}
	id := dig(first, "id").(string)
	wantStatus(t, b.do(t, "DELETE", "/crm/v3/objects/deals/"+id, nil), 204)
	r = b.do(t, "GET", "/crm/v3/objects/deals?archived=true", nil)
	res := r.json(t)["results"].([]any)
	if len(res) != 1 || dig(res[0], "id") != id || dig(res[0], "archived") != true {
		t.Errorf("got archived list %s, want only deal %s", r.body, id)
	}
	r = b.do(t, "GET", "/crm/v3/objects/deals?limit=100", nil)
	if n := len(r.json(t)["results"].([]any)); n != 4 {
		t.Errorf("got %d live deals, want 4", n)
	}
	wantStatus(t, b.do(t, "GET", "/crm/v3/objects/deals/"+id+"?archived=true", nil), 200)
}

func TestObjectCRUD(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 3, CustomProperties: DefaultCustomProperties()})

	r := b.do(t, "GET", "/crm/v3/objects/deals/999", nil)
	wantStatus(t, r, 404)
	if got := r.json(t)["category"]; got != "OBJECT_NOT_FOUND" {
		t.Errorf("got category %v, want OBJECT_NOT_FOUND", got)
	}

	r = b.do(t, "POST", "/crm/v3/objects/deals", map[string]any{"properties": map[string]any{
		"dealname": "New one", "dealstage": "qualifiedtobuy", "amount": 1200, "map_status": "on_track"}})
	wantStatus(t, r, 201)
	created := r.json(t)
	id := created["id"].(string)
	if dig(created, "properties", "amount") != "1200" || dig(created, "properties", "map_status") != "on_track" {
		t.Errorf("got created %s, want string values", r.body)
	}
	stamp := dig(created, "properties", "hs_lastmodifieddate").(string)

	b.clock.Advance(90 * time.Second)
	r = b.do(t, "PATCH", "/crm/v3/objects/deals/"+id, map[string]any{"properties": map[string]any{"dealstage": "closedwon"}})
	wantStatus(t, r, 200)
	m := r.json(t)
	newStamp := dig(m, "properties", "hs_lastmodifieddate").(string)
	if newStamp == stamp || newStamp != "2026-11-02T09:01:30.000Z" || m["updatedAt"] != newStamp {
		t.Errorf("got stamp %s updatedAt %v after PATCH (was %s), want both 2026-11-02T09:01:30.000Z", newStamp, m["updatedAt"], stamp)
	}
	r = b.do(t, "GET", "/crm/v3/objects/deals/"+id+"?properties=hs_is_closed_won,hs_deal_stage_probability", nil)
	wantStatus(t, r, 200)
	if p := r.json(t)["properties"].(map[string]any); p["hs_is_closed_won"] != "true" || p["hs_deal_stage_probability"] != "1" {
		t.Errorf("got derived properties %v, want closed won with probability 1", p)
	}

	r = b.do(t, "PATCH", "/crm/v3/objects/deals/"+id, map[string]any{"properties": map[string]any{"dealstage": "nope"}})
	wantStatus(t, r, 400)
	if got := r.json(t)["category"]; got != "VALIDATION_ERROR" {
		t.Errorf("got %v, want VALIDATION_ERROR", got)
	}
	wantStatus(t, b.do(t, "PATCH", "/crm/v3/objects/deals/123", map[string]any{"properties": map[string]any{"dealname": "x"}}), 404)
	r = b.do(t, "DELETE", "/crm/v3/objects/deals/"+id, nil)
	wantStatus(t, r, 204)
	if len(r.body) != 0 {
		t.Errorf("got 204 body %q, want none", r.body)
	}
	wantStatus(t, b.do(t, "GET", "/crm/v3/objects/deals/"+id, nil), 404)
	wantStatus(t, b.do(t, "GET", "/crm/v3/objects/0-3/"+b.sb.IDs("deals")[0], nil), 200)
	r = b.do(t, "GET", "/crm/v3/objects/contacts/"+b.sb.IDs("contacts")[0], nil)
	wantStatus(t, r, 200)
	if dig(r.json(t), "properties", "email") == nil || dig(r.json(t), "properties", "lastmodifieddate") == nil {
		t.Errorf("got contact %s, want email and lastmodifieddate", r.body)
	}
}

func TestContentTypeAndUnknownRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/crm/v3/nothing", 404},
		{"PUT", "/crm/v3/objects/deals", 405},
		{"GET", "/crm/v3/objects/widgets", 400},
	} {
		r := b.do(t, tc.method, tc.path, nil) // do checks Content-Type on every body
		wantStatus(t, r, tc.status)
	}
}

// Contacts carry hubspot_owner_id, deterministically the owner of the deal they belong to.
func TestContactOwners(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 40, Seed: 4})
	owners := map[string]bool{}
	for _, o := range dig(b.do(t, "GET", "/crm/v3/owners?limit=100", nil).json(t), "results").([]any) {
		owners[o.(map[string]any)["id"].(string)] = true
	}
	r := b.do(t, "GET", "/crm/v3/objects/contacts?limit=100&properties=email,hubspot_owner_id", nil)
	wantStatus(t, r, 200)
	contactOwner := map[string]string{}
	for _, c := range dig(r.json(t), "results").([]any) {
		c := c.(map[string]any)
		o, _ := dig(c, "properties", "hubspot_owner_id").(string)
		if !owners[o] {
			t.Fatalf("contact %v: hubspot_owner_id %q is not an owner", c["id"], o)
		}
		contactOwner[c["id"].(string)] = o
	}
	r = b.do(t, "GET", "/crm/v3/objects/deals?limit=40&properties=hubspot_owner_id&associations=contacts", nil)
	wantStatus(t, r, 200)
	checked := 0
	for _, d := range dig(r.json(t), "results").([]any) {
		owner := dig(d, "properties", "hubspot_owner_id")
		for _, a := range dig(d, "associations", "contacts", "results").([]any) {
			cid := a.(map[string]any)["id"].(string)
			if got, ok := contactOwner[cid]; ok {
				checked++
				if got != owner {
					t.Errorf("contact %s: owner %s, want its deal's owner %v", cid, got, owner)
				}
			}
		}
	}
	if checked < 40 {
		t.Fatalf("checked %d contacts against their deals, want at least 40", checked)
	}
	// The same seed gives the same owners.
	again := New(Options{Deals: 40, Seed: 4, Now: b.clock.Now})
	defer again.Close()
	for id, o := range contactOwner {
		if p, _ := again.Object("contacts", id); p["hubspot_owner_id"] != o {
			t.Fatalf("contact %s: owner %q in a second sandbox, want %q", id, p["hubspot_owner_id"], o)
		}
	}
}

// dealIn returns the id of a deal of pipeline.
func dealIn(t *testing.T, b *testBundle, pipeline string) string {
	t.Helper()
	for _, id := range b.sb.IDs("deals") {
		if p, _ := b.sb.Object("deals", id); p["pipeline"] == pipeline {
			return id
		}
	}
	t.Fatalf("no deal in pipeline %s", pipeline)
	return ""
}

// wantStageError checks a 400 VALIDATION_ERROR naming the stage and the pipeline.
func wantStageError(t *testing.T, r response, stage, pipeline string) {
	t.Helper()
	wantStatus(t, r, 400)
	m := r.json(t)
	msg, _ := m["message"].(string)
	if m["category"] != "VALIDATION_ERROR" || !strings.HasPrefix(msg, "Property values were not valid: ") ||
		!strings.Contains(msg, `"error":"INVALID_OPTION","name":"dealstage"`) ||
		!strings.Contains(msg, stage+" is not a valid dealstage for pipeline "+pipeline) {
		t.Fatalf("got %s, want a dealstage VALIDATION_ERROR naming %s and %s", r.body, stage, pipeline)
	}
}

// A dealstage belongs to one pipeline: a write that leaves a deal on a stage of another pipeline
// is refused on create, PATCH, batch create and batch update, a pipeline change included.
func TestDealStageMustBelongToPipeline(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 40})
	def, ren := dealIn(t, b, "default"), dealIn(t, b, "renewals")
	create := func(props map[string]any) response {
		return b.do(t, "POST", "/crm/v3/objects/deals", map[string]any{"properties": props})
	}
	t.Run("create", func(t *testing.T) {
		wantStageError(t, create(map[string]any{"dealname": "x", "pipeline": "renewals", "dealstage": "closedwon"}), "closedwon", "renewals")
		wantStageError(t, create(map[string]any{"dealname": "x", "dealstage": "renewaldue"}), "renewaldue", "default")
		r := create(map[string]any{"dealname": "Renewal", "pipeline": "renewals", "dealstage": "renewaldue"})
		wantStatus(t, r, 201)
		if dig(r.json(t), "properties", "dealstage") != "renewaldue" {
			t.Errorf("got %s", r.body)
		}
		wantStatus(t, create(map[string]any{"dealname": "Default", "dealstage": "closedwon"}), 201)
		r = b.do(t, "POST", "/crm/v3/objects/deals/batch/create", map[string]any{"inputs": []any{
			map[string]any{"properties": map[string]any{"dealname": "ok", "dealstage": "appointmentscheduled"}},
			map[string]any{"properties": map[string]any{"dealname": "bad", "pipeline": "renewals", "dealstage": "appointmentscheduled"}},
		}})
		wantStageError(t, r, "appointmentscheduled", "renewals")
	})
	t.Run("patch", func(t *testing.T) {
		path := "/crm/v3/objects/deals/" + def
		before, _ := b.sb.Object("deals", def)
		wantStageError(t, b.do(t, "PATCH", path, map[string]any{"properties": map[string]any{"dealstage": "renewed"}}), "renewed", "default")
		// Moving the deal to another pipeline without a stage of it leaves the old stage behind.
		wantStageError(t, b.do(t, "PATCH", path, map[string]any{"properties": map[string]any{"pipeline": "renewals"}}), before["dealstage"], "renewals")
		if after, _ := b.sb.Object("deals", def); after["pipeline"] != "default" || after["dealstage"] != before["dealstage"] || after["hs_lastmodifieddate"] != before["hs_lastmodifieddate"] {
			t.Fatalf("refused writes changed the deal: %v", after)
		}
		r := b.do(t, "PATCH", path, map[string]any{"properties": map[string]any{"pipeline": "renewals", "dealstage": "renewalnegotiation"}})
		wantStatus(t, r, 200)
		if p := dig(r.json(t), "properties"); dig(p, "pipeline") != "renewals" || dig(p, "dealstage") != "renewalnegotiation" {
			t.Fatalf("got %s", r.body)
		}
		wantStatus(t, b.do(t, "PATCH", path, map[string]any{"properties": map[string]any{"pipeline": "default", "dealstage": "qualifiedtobuy"}}), 200)
		// The control API (a person in the CRM) is held to the same rule.
		r = b.do(t, "PATCH", "/__sandbox/deals/"+def, map[string]any{"properties": map[string]string{"dealstage": "churned"}}, "-")
		wantStatus(t, r, 400)
		if !strings.Contains(string(r.body), "churned is not a valid dealstage for pipeline default") {
			t.Fatalf("control update: got %s", r.body)
		}
	})
	t.Run("batch update", func(t *testing.T) {
		path := "/crm/v3/objects/deals/batch/update"
		before, _ := b.sb.Object("deals", ren)
		r := b.do(t, "POST", path, map[string]any{"inputs": []any{
			map[string]any{"id": def, "properties": map[string]any{"description": "fine", "dealstage": "closedlost"}},
			map[string]any{"id": ren, "properties": map[string]any{"dealstage": "closedwon"}},
		}})
		wantStageError(t, r, "closedwon", "renewals")
		if p, _ := b.sb.Object("deals", def); p["description"] == "fine" {
			t.Fatalf("the valid input of a refused batch was applied")
		}
		r = b.do(t, "POST", path, map[string]any{"inputs": []any{
			map[string]any{"id": ren, "properties": map[string]any{"pipeline": "default"}},
		}})
		wantStageError(t, r, before["dealstage"], "default")
		r = b.do(t, "POST", path, map[string]any{"inputs": []any{
			map[string]any{"id": def, "properties": map[string]any{"dealstage": "closedlost"}},
			map[string]any{"id": ren, "properties": map[string]any{"pipeline": "default", "dealstage": "closedwon"}},
			map[string]any{"id": "99999", "properties": map[string]any{"dealstage": "renewed"}},
		}})
		wantStatus(t, r, 207) // the unknown id is not checked against a pipeline: it is not found
		if p, _ := b.sb.Object("deals", ren); p["pipeline"] != "default" || p["dealstage"] != "closedwon" || p["hs_is_closed_won"] != "true" {
			t.Fatalf("pipeline move: got %v", p)
		}
	})
}
