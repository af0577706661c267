package hubspot

import (
	"sort"
	"strconv"
	"testing"
	"time"
)

func search(t *testing.T, b *testBundle, body map[string]any) response {
	t.Helper()
	return b.do(t, "POST", "/crm/v3/objects/deals/search", body)
}

func filter(prop, op string, v any) map[string]any {
	return map[string]any{"propertyName": prop, "operator": op, "value": v}
}

func TestSearchOperators(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 60, SearchPerSecond: -1})
	// The expected sets are computed from the sandbox's own records.
	var amounts []float64
	ids := b.sb.IDs("deals")
	stages := map[string]int{}
	for _, id := range ids {
		p, _ := b.sb.Object("deals", id)
		a, _ := strconv.ParseFloat(p["amount"], 64)
		amounts = append(amounts, a)
		stages[p["dealstage"]]++
	}
	count := func(f func(a float64) bool) int {
		n := 0
		for _, a := range amounts {
			if f(a) {
				n++
			}
		}
		return n
	}
	nextStepEmpty := 0
	for _, id := range ids {
		if p, _ := b.sb.Object("deals", id); p["hs_next_step"] == "" {
			nextStepEmpty++
		}
	}
	tests := map[string]struct {
		filters []map[string]any
		want    int
	}{
		"EQ":       {[]map[string]any{filter("dealstage", "EQ", "closedwon")}, stages["closedwon"]},
		"NEQ":      {[]map[string]any{filter("dealstage", "NEQ", "closedwon")}, len(ids) - stages["closedwon"]},
		"LT":       {[]map[string]any{filter("amount", "LT", "100000")}, count(func(a float64) bool { return a < 100000 })},
		"LTE":      {[]map[string]any{filter("amount", "LTE", 100000)}, count(func(a float64) bool { return a <= 100000 })},
		"GT":       {[]map[string]any{filter("amount", "GT", "100000")}, count(func(a float64) bool { return a > 100000 })},
		"GTE":      {[]map[string]any{filter("amount", "GTE", "100000")}, count(func(a float64) bool { return a >= 100000 })},
		"BETWEEN":  {[]map[string]any{{"propertyName": "amount", "operator": "BETWEEN", "value": "50000", "highValue": "200000"}}, count(func(a float64) bool { return a >= 50000 && a <= 200000 })},
		"IN":       {[]map[string]any{{"propertyName": "dealstage", "operator": "IN", "values": []string{"closedwon", "closedlost"}}}, stages["closedwon"] + stages["closedlost"]},
		"NOT_IN":   {[]map[string]any{{"propertyName": "dealstage", "operator": "NOT_IN", "values": []string{"closedwon", "closedlost"}}}, len(ids) - stages["closedwon"] - stages["closedlost"]},
		"HAS":      {[]map[string]any{{"propertyName": "hs_next_step", "operator": "HAS_PROPERTY"}}, len(ids) - nextStepEmpty},
		"NOT_HAS":  {[]map[string]any{{"propertyName": "hs_next_step", "operator": "NOT_HAS_PROPERTY"}}, nextStepEmpty},
		"datetime": {[]map[string]any{filter("hs_lastmodifieddate", "GTE", "0")}, len(ids)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := search(t, b, map[string]any{"filterGroups": []any{map[string]any{"filters": tc.filters}}, "limit": 200})
			wantStatus(t, r, 200)
			m := r.json(t)
			if got := int(m["total"].(float64)); got != tc.want || len(m["results"].([]any)) != tc.want {
				t.Errorf("got total %d (%d results), want %d", got, len(m["results"].([]any)), tc.want)
			}
		})
	}
	t.Run("groups are ORed", func(t *testing.T) {
		r := search(t, b, map[string]any{"filterGroups": []any{
			map[string]any{"filters": []any{filter("dealstage", "EQ", "closedwon")}},
			map[string]any{"filters": []any{filter("dealstage", "EQ", "closedlost")}},
		}})
		if got := r.json(t)["total"].(float64); int(got) != stages["closedwon"]+stages["closedlost"] {
			t.Errorf("got %v, want %d", got, stages["closedwon"]+stages["closedlost"])
		}
	})
	t.Run("sorts and paging", func(t *testing.T) {
		var stamps []string
		after := ""
		for {
			body := map[string]any{"sorts": []any{map[string]any{"propertyName": "hs_lastmodifieddate", "direction": "DESCENDING"}},
				"properties": []string{"hs_lastmodifieddate"}, "limit": 25}
			if after != "" {
				body["after"] = after
			}
			m := search(t, b, body).json(t)
			for _, res := range m["results"].([]any) {
				stamps = append(stamps, dig(res, "properties", "hs_lastmodifieddate").(string))
			}
			next, _ := dig(m, "paging", "next", "after").(string)
			if next == "" {
				break
			}
			after = next
		}
		if len(stamps) != len(ids) || !sort.SliceIsSorted(stamps, func(i, j int) bool { return stamps[i] > stamps[j] }) {
			t.Errorf("got %d stamps sorted=%v, want %d descending", len(stamps), sort.SliceIsSorted(stamps, func(i, j int) bool { return stamps[i] > stamps[j] }), len(ids))
		}
	})
	t.Run("limits", func(t *testing.T) {
		wantStatus(t, search(t, b, map[string]any{"limit": 201}), 400)
		groups := []any{}
		for range 6 {
			groups = append(groups, map[string]any{"filters": []any{filter("amount", "GT", 1)}})
		}
		wantStatus(t, search(t, b, map[string]any{"filterGroups": groups}), 400)
	})
	t.Run("no rate-limit headers", func(t *testing.T) {
		r := search(t, b, map[string]any{})
		if r.header.Get("X-HubSpot-RateLimit-Max") != "" || r.header.Get("X-HubSpot-RateLimit-Daily") != "" {
			t.Errorf("got rate-limit headers on search: %v", r.header)
		}
	})
}

func TestSearchResultCap(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 10, SearchPerSecond: -1})
	b.clock.Advance(time.Hour)
	res, err := b.sb.SameStamp("deals", 10_050, map[string]string{"description": "bulk"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Updated != 10 || res.Created != 10_040 {
		t.Fatalf("got %+v, want 10 updated and 10040 created", res)
	}
	ms := strconv.FormatInt(res.Stamp.UnixMilli(), 10)
	body := map[string]any{"filterGroups": []any{map[string]any{"filters": []any{filter("hs_lastmodifieddate", "EQ", ms)}}},
		"limit": 200, "after": "9800"}
	r := search(t, b, body)
	wantStatus(t, r, 200)
	m := r.json(t)
	if m["total"].(float64) != 10_050 || dig(m, "paging", "next", "after") != "10000" {
		t.Errorf("got total %v next %v, want 10050 and 10000", m["total"], dig(m, "paging", "next", "after"))
	}
	body["after"] = "10000"
	r = search(t, b, body)
	wantStatus(t, r, 400)
	if got := r.json(t)["category"]; got != "VALIDATION_ERROR" {
		t.Errorf("got %v, want VALIDATION_ERROR", got)
	}
}

func TestSearchRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{SearchPerSecond: 2})
	for i := range 2 {
		wantStatus(t, search(t, b, map[string]any{}), 200)
		_ = i
	}
	r := search(t, b, map[string]any{})
	wantStatus(t, r, 429)
	m := r.json(t)
	if m["message"] != "You have reached your secondly limit." || m["category"] != "RATE_LIMITS" {
		t.Errorf("got %s, want the secondly-limit body", r.body)
	}
	// Non-search calls are not affected by the search limit.
	wantStatus(t, b.do(t, "GET", "/crm/v3/objects/deals", nil), 200)
	b.clock.Advance(time.Second)
	wantStatus(t, search(t, b, map[string]any{}), 200)
	if got := b.sb.Requests("POST /crm/v3/objects/deals/search"); got != 4 {
		t.Errorf("got %d search requests counted, want 4", got)
	}
}
