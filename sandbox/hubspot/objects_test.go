package hubspot

import (
	"net/url"
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
		"dealname": "New one", "dealstage": "qualification", "amount": 1200, "map_status": "on_track"}})
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
