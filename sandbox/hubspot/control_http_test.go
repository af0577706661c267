package hubspot

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// The late-record trap on an existing record keeps serving the previous version (get, list,
// search, batch read) until release, then the new version with the back-dated stamp.
func TestLateRecordUpdateKeepsPreviousVersion(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 5, SearchPerSecond: -1})
	id := b.sb.IDs("deals")[2]
	before := b.do(t, "GET", "/crm/v3/objects/deals/"+id+"?properties=dealname,description", nil)
	wantStatus(t, before, 200)
	oldName := dig(before.json(t), "properties", "dealname")
	oldStamp := dig(before.json(t), "updatedAt")
	b.clock.Advance(time.Minute)
	r := b.do(t, "POST", "/__sandbox/traps/late-record", map[string]any{"objectType": "deals", "id": id, "lag": "30s",
		"properties": map[string]string{"dealname": "Committed late", "description": "late"}}, "-")
	wantStatus(t, r, 201)
	stamp := r.json(t)["stamp"].(string)
	if stamp != "2026-11-02T09:00:30.000Z" {
		t.Fatalf("got stamp %s, want 30s before the sandbox clock", stamp)
	}
	// A reader moves its cursor past the stamp meanwhile.
	b.clock.Advance(time.Minute)
	if _, err := b.sb.CreateDeal(map[string]string{"dealname": "Moves the cursor"}); err != nil {
		t.Fatal(err)
	}
	cursor := b.clock.Now()

	reads := func() (get, list, searched, batch any) {
		g := b.do(t, "GET", "/crm/v3/objects/deals/"+id+"?properties=dealname", nil)
		wantStatus(t, g, 200)
		l := b.do(t, "GET", "/crm/v3/objects/deals?limit=100&properties=dealname", nil)
		wantStatus(t, l, 200)
		for _, rec := range dig(l.json(t), "results").([]any) {
			if dig(rec, "id") == id {
				list = dig(rec, "properties", "dealname")
			}
		}
		s := search(t, b, map[string]any{"properties": []string{"dealname"}, "filterGroups": []any{map[string]any{"filters": []any{filter("hs_object_id", "EQ", id)}}}})
		wantStatus(t, s, 200)
		br := b.do(t, "POST", "/crm/v3/objects/deals/batch/read", map[string]any{"properties": []string{"dealname"}, "inputs": []any{map[string]string{"id": id}}})
		wantStatus(t, br, 200)
		return dig(g.json(t), "properties", "dealname"), list, dig(s.json(t), "results", 0, "properties", "dealname"), dig(br.json(t), "results", 0, "properties", "dealname")
	}
	g, l, s, bt := reads()
	if g != oldName || l != oldName || s != oldName || bt != oldName {
		t.Fatalf("before release: got %v %v %v %v, want the previous version %v everywhere", g, l, s, bt, oldName)
	}
	if got := dig(b.do(t, "GET", "/crm/v3/objects/deals/"+id, nil).json(t), "updatedAt"); got != oldStamp {
		t.Fatalf("before release: updatedAt %v, want the previous %v", got, oldStamp)
	}
	if p, _ := b.sb.Object("deals", id); p["dealname"] != oldName {
		t.Fatalf("Object shows the held change before release: %v", p["dealname"])
	}
	wantStatus(t, b.do(t, "POST", "/__sandbox/traps/late-record/deals/"+id+"/release", nil, "-"), 204)
	g, l, s, bt = reads()
	if g != "Committed late" || l != "Committed late" || s != "Committed late" || bt != "Committed late" {
		t.Fatalf("after release: got %v %v %v %v, want the new version everywhere", g, l, s, bt)
	}
	r = b.do(t, "GET", "/crm/v3/objects/deals/"+id+"?properties=description,hs_lastmodifieddate", nil)
	m := r.json(t)
	if dig(m, "updatedAt") != stamp || dig(m, "properties", "hs_lastmodifieddate") != stamp || dig(m, "properties", "description") != "late" {
		t.Fatalf("after release: got %s, want the new version stamped %s", r.body, stamp)
	}
	// An incremental reader past its cursor never sees it.
	res := search(t, b, map[string]any{"filterGroups": []any{map[string]any{"filters": []any{
		filter("hs_lastmodifieddate", "GT", strconv.FormatInt(cursor.UnixMilli(), 10))}}}})
	if total := res.json(t)["total"]; total != float64(0) {
		t.Fatalf("got %v deals changed since the cursor, want 0", total)
	}

	// With visibleAfter the clock commits it.
	id2 := b.sb.IDs("deals")[3]
	if _, _, err := b.sb.LateRecord("deals", id2, map[string]string{"description": "timed"}, 10*time.Second, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := dig(b.do(t, "GET", "/crm/v3/objects/deals/"+id2+"?properties=description", nil).json(t), "properties", "description"); d == "timed" {
		t.Fatal("timed late change visible early")
	}
	b.clock.Advance(5 * time.Second)
	if d := dig(b.do(t, "GET", "/crm/v3/objects/deals/"+id2+"?properties=description", nil).json(t), "properties", "description"); d != "timed" {
		t.Fatalf("timed late change: got %v after visibleAfter", d)
	}
	wantStatus(t, b.do(t, "POST", "/__sandbox/traps/late-record", map[string]any{"id": "424242", "properties": map[string]string{"dealname": "x"}}, "-"), 404)
}

// Faults through the control API over HTTP: expire_tokens, fail_write on a single PATCH, and an
// unknown id for fail_write.
func TestFaultsOverHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 3})
	id := b.sb.IDs("deals")[0]

	tok := refresh(t, b, refreshForm(RefreshToken)).json(t)["access_token"].(string)
	wantStatus(t, b.do(t, "GET", "/crm/v3/objects/deals/"+id, nil, tok), 200)
	wantStatus(t, b.do(t, "POST", "/__sandbox/faults", map[string]any{"kind": "expire_tokens"}, "-"), 204)
	r := b.do(t, "GET", "/crm/v3/objects/deals/"+id, nil, tok)
	wantStatus(t, r, 401)
	if m := r.json(t); m["category"] != "EXPIRED_AUTHENTICATION" || !strings.Contains(m["message"].(string), "expired") {
		t.Fatalf("after expire_tokens: got %s", r.body)
	}
	wantStatus(t, b.do(t, "GET", "/crm/v3/objects/deals/"+id, nil), 200) // the private-app token does not expire
	tok = refresh(t, b, refreshForm(RefreshToken)).json(t)["access_token"].(string)
	wantStatus(t, b.do(t, "GET", "/crm/v3/objects/deals/"+id, nil, tok), 200)

	wantStatus(t, b.do(t, "POST", "/__sandbox/faults", map[string]any{"kind": "fail_write", "objectType": "deals", "id": id}, "-"), 204)
	wantStatus(t, b.do(t, "GET", "/crm/v3/objects/deals/"+id, nil), 200) // reads are not writes
	patch := map[string]any{"properties": map[string]any{"description": "after the fault"}}
	r = b.do(t, "PATCH", "/crm/v3/objects/deals/"+id, patch)
	wantStatus(t, r, 500)
	if m := r.json(t); m["category"] != "INTERNAL_ERROR" || m["correlationId"] == "" {
		t.Fatalf("failed write: got %s", r.body)
	}
	if p, _ := b.sb.Object("deals", id); p["description"] == "after the fault" {
		t.Fatal("the failed write was applied")
	}
	r = b.do(t, "PATCH", "/crm/v3/objects/deals/"+id, patch)
	wantStatus(t, r, 200)
	if dig(r.json(t), "properties", "description") != "after the fault" {
		t.Fatalf("second write: got %s", r.body)
	}

	r = b.do(t, "POST", "/__sandbox/faults", map[string]any{"kind": "fail_write", "objectType": "deals", "id": "424242"}, "-")
	wantStatus(t, r, 404)
	if m := r.json(t); !strings.Contains(m["message"].(string), "424242") || m["category"] != "OBJECT_NOT_FOUND" {
		t.Fatalf("unknown id: got %s", r.body)
	}
	wantStatus(t, b.do(t, "POST", "/__sandbox/faults", map[string]any{"kind": "fail_write", "objectType": "tickets", "id": id}, "-"), 400)
	wantStatus(t, b.do(t, "DELETE", "/crm/v3/objects/deals/"+id, nil), 204)
	wantStatus(t, b.do(t, "POST", "/__sandbox/faults", map[string]any{"kind": "fail_write", "objectType": "deals", "id": id}, "-"), 404)
}

// More than 10,000 records with one stamp through the control API on a small sandbox: search
// reports them all, caps paging at 10,000, and an id-sliced query reaches the rest.
func TestSameStampOverHTTPBeyondSearchCap(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 20, SearchPerSecond: -1, BurstLimit: -1})
	b.clock.Advance(time.Hour)
	r := b.do(t, "POST", "/__sandbox/traps/same-stamp", map[string]any{"objectType": "deals", "count": 10_500,
		"properties": map[string]string{"description": "bulk import"}}, "-")
	wantStatus(t, r, 200)
	m := r.json(t)
	if m["updated"] != float64(20) || m["created"] != float64(10_480) || m["stamp"] != "2026-11-02T10:00:00.000Z" {
		t.Fatalf("same-stamp: got %s", r.body)
	}
	stampFilter := filter("hs_lastmodifieddate", "EQ", m["stamp"])
	res := search(t, b, map[string]any{"limit": 200, "filterGroups": []any{map[string]any{"filters": []any{stampFilter}}}})
	wantStatus(t, res, 200)
	if got := res.json(t)["total"]; got != float64(10_500) {
		t.Fatalf("got total %v, want 10500", got)
	}
	res = search(t, b, map[string]any{"limit": 200, "after": "10000", "filterGroups": []any{map[string]any{"filters": []any{stampFilter}}}})
	wantStatus(t, res, 400)
	// Slicing by id: every record with the stamp is reachable in pages of 200.
	seen := map[string]bool{}
	last := "0"
	for range 200 {
		res = search(t, b, map[string]any{"limit": 200, "properties": []string{"description"},
			"sorts":        []any{map[string]any{"propertyName": "hs_object_id", "direction": "ASCENDING"}},
			"filterGroups": []any{map[string]any{"filters": []any{stampFilter, filter("hs_object_id", "GT", last)}}}})
		wantStatus(t, res, 200)
		page := dig(res.json(t), "results").([]any)
		if len(page) == 0 {
			break
		}
		for _, rec := range page {
			if dig(rec, "properties", "description") != "bulk import" {
				t.Fatalf("record without the change: %v", rec)
			}
			last = dig(rec, "id").(string)
			seen[last] = true
		}
	}
	if len(seen) != 10_500 {
		t.Fatalf("reached %d records by id slices, want 10500", len(seen))
	}
}

// Injected 5xx and 429 answers carry the rate-limit headers and are not counted; search faults
// carry none, as search responses never do.
func TestFaultsCarryRateLimitHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 3, BurstLimit: 10, DailyLimit: 100})
	wantStatus(t, b.do(t, "GET", "/crm/v3/owners", nil), 200) // 1 call counted
	check := func(r response, status int, remaining string) {
		t.Helper()
		wantStatus(t, r, status)
		h := r.header
		if h.Get("X-HubSpot-RateLimit-Max") != "10" || h.Get("X-HubSpot-RateLimit-Remaining") != remaining ||
			h.Get("X-HubSpot-RateLimit-Interval-Milliseconds") != "10000" || h.Get("X-HubSpot-RateLimit-Daily") != "100" ||
			h.Get("X-HubSpot-RateLimit-Daily-Remaining") != "99" {
			t.Errorf("status %d: got headers %v, want Max 10, Remaining %s, Daily 100, Daily-Remaining 99", status, h, remaining)
		}
	}
	wantStatus(t, b.do(t, "POST", "/__sandbox/faults", map[string]any{"kind": "server_errors", "count": 1, "status": 503}, "-"), 204)
	check(b.do(t, "GET", "/crm/v3/owners", nil), 503, "9")
	wantStatus(t, b.do(t, "POST", "/__sandbox/faults", map[string]any{"kind": "rate_limits", "count": 1}, "-"), 204)
	r := b.do(t, "GET", "/crm/v3/owners", nil)
	check(r, 429, "0")
	if r.json(t)["policyName"] != "TEN_SECONDLY_ROLLING" {
		t.Errorf("got %s", r.body)
	}
	wantStatus(t, b.do(t, "POST", "/__sandbox/faults", map[string]any{"kind": "server_errors", "count": 1}, "-"), 204)
	r = search(t, b, map[string]any{})
	wantStatus(t, r, 502)
	if r.header.Get("X-HubSpot-RateLimit-Max") != "" || r.header.Get("X-HubSpot-RateLimit-Daily") != "" {
		t.Errorf("search fault: got rate-limit headers %v, want none", r.header)
	}
	// OAuth tokens get no daily headers, faults included.
	tok := refresh(t, b, refreshForm(RefreshToken)).json(t)["access_token"].(string)
	wantStatus(t, b.do(t, "POST", "/__sandbox/faults", map[string]any{"kind": "server_errors", "count": 1}, "-"), 204)
	r = b.do(t, "GET", "/crm/v3/owners", nil, tok)
	wantStatus(t, r, 502)
	if r.header.Get("X-HubSpot-RateLimit-Max") != "10" || r.header.Get("X-HubSpot-RateLimit-Daily") != "" {
		t.Errorf("OAuth fault: got %v", r.header)
	}
	if used, _ := b.sb.DailyUsage(); used != 1 {
		t.Errorf("got %d calls counted, want 1 (faults are not counted)", used)
	}
}

// POST /__sandbox/limits changes the limits at run time, like Salesforce's.
func TestLimitsControlRoute(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 2})
	r := b.do(t, "GET", "/__sandbox/limits", nil, "-")
	wantStatus(t, r, 200)
	if m := r.json(t); m["burstLimit"] != float64(190) || m["dailyLimit"] != float64(625_000) || m["searchPerSecond"] != float64(5) {
		t.Fatalf("defaults: got %s", r.body)
	}
	r = b.do(t, "POST", "/__sandbox/limits", map[string]any{"burstLimit": 2, "dailyLimit": 5}, "-")
	wantStatus(t, r, 200)
	if m := r.json(t); m["burstLimit"] != float64(2) || m["dailyLimit"] != float64(5) || m["searchPerSecond"] != float64(5) {
		t.Fatalf("set: got %s", r.body)
	}
	for i := range 2 {
		r := b.do(t, "GET", "/crm/v3/owners", nil)
		wantStatus(t, r, 200)
		if r.header.Get("X-HubSpot-RateLimit-Max") != "2" || r.header.Get("X-HubSpot-RateLimit-Daily") != "5" {
			t.Errorf("call %d: got headers %v", i, r.header)
		}
	}
	r = b.do(t, "GET", "/crm/v3/owners", nil)
	wantStatus(t, r, 429)
	if r.json(t)["policyName"] != "TEN_SECONDLY_ROLLING" {
		t.Fatalf("burst: got %s", r.body)
	}
	b.clock.Advance(11 * time.Second)
	wantStatus(t, b.do(t, "POST", "/__sandbox/limits", map[string]any{"dailyUsed": 5}, "-"), 200)
	r = b.do(t, "GET", "/crm/v3/owners", nil)
	wantStatus(t, r, 429)
	if r.json(t)["policyName"] != "DAILY" {
		t.Fatalf("daily: got %s", r.body)
	}
	// Negative turns a limit off; search keeps its own.
	r = b.do(t, "POST", "/__sandbox/limits", map[string]any{"burstLimit": -1, "dailyLimit": -1, "searchPerSecond": 1}, "-")
	wantStatus(t, r, 200)
	for range 5 {
		r := b.do(t, "GET", "/crm/v3/owners", nil)
		wantStatus(t, r, 200)
		if r.header.Get("X-HubSpot-RateLimit-Max") != "" || r.header.Get("X-HubSpot-RateLimit-Daily") != "" {
			t.Fatalf("limits off: got headers %v", r.header)
		}
	}
	wantStatus(t, search(t, b, map[string]any{}), 200)
	wantStatus(t, search(t, b, map[string]any{}), 429)
	wantStatus(t, b.do(t, "POST", "/__sandbox/limits", map[string]any{"dailyUsed": -1}, "-"), 400)
	if l := b.sb.Limits(); l.BurstLimit != -1 || l.DailyLimit != -1 || l.SearchPerSecond != 1 {
		t.Fatalf("Limits: got %+v", l)
	}
}

// The per-input errors of a 207 carry no empty correlationId.
func TestMultiStatusErrorsHaveNoEmptyCorrelationID(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 2})
	ids := b.sb.IDs("deals")
	if err := b.sb.FailNextWrite("deals", ids[1]); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		body map[string]any
	}{
		{"/crm/v3/objects/deals/batch/read", map[string]any{"inputs": []any{map[string]string{"id": ids[0]}, map[string]string{"id": "99999"}}}},
		{"/crm/v3/objects/deals/batch/update", map[string]any{"inputs": []any{
			map[string]any{"id": ids[1], "properties": map[string]string{"description": "x"}},
			map[string]any{"id": "99999", "properties": map[string]string{"description": "x"}}}}},
		{"/crm/v4/associations/deals/contacts/batch/read", map[string]any{"inputs": []any{map[string]string{"id": "99999"}}}},
	} {
		r := b.do(t, "POST", c.path, c.body)
		wantStatus(t, r, 207)
		errs, _ := r.json(t)["errors"].([]any)
		if len(errs) == 0 {
			t.Fatalf("%s: got %s, want per-input errors", c.path, r.body)
		}
		for _, e := range errs {
			if id, ok := e.(map[string]any)["correlationId"]; ok && (id == "" || id == nil) {
				t.Errorf("%s: error %v has an empty correlationId", c.path, e)
			}
		}
		if strings.Contains(string(r.body), `"correlationId":""`) {
			t.Errorf("%s: body has an empty correlationId: %s", c.path, r.body)
		}
	}
}
