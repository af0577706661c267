package salesforce_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mapsync/mapsync/sandbox/salesforce"
)

func TestFaultBursts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fault     map[string]any
		wantCodes []int
		wantError string
	}{
		{"three 503s then success", map[string]any{"kind": "server_error", "count": 3, "status": 503}, []int{503, 503, 503, 200}, "SERVER_UNAVAILABLE"},
		{"one 500", map[string]any{"kind": "server_error"}, []int{500, 200}, "UNKNOWN_EXCEPTION"},
		{"403 limit", map[string]any{"kind": "limit", "count": 2}, []int{403, 403, 200}, "REQUEST_LIMIT_EXCEEDED"},
		{"429 limit", map[string]any{"kind": "limit", "count": 1, "status": 429}, []int{429, 200}, "REQUEST_LIMIT_EXCEEDED"},
		{"only one endpoint", map[string]any{"kind": "server_error", "endpoint": "describe"}, []int{200, 200}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, 2)
			if r := b.do(t, "POST", "/__sandbox/faults", tt.fault); r.status != 200 {
				t.Fatalf("control: %d %s", r.status, r.body)
			}
			for i, want := range tt.wantCodes {
				r := b.do(t, "GET", api+"/query?q="+url.QueryEscape("SELECT Id FROM User"), nil)
				if r.status != want {
					t.Fatalf("request %d: got %d, want %d", i, r.status, want)
				}
				if want != 200 && r.errorCode(t) != tt.wantError {
					t.Fatalf("request %d: got %s, want %s", i, r.body, tt.wantError)
				}
			}
			counts := map[int]int64{}
			for _, c := range b.sb.Counters() {
				if c.Endpoint == "query" {
					counts[c.Status] += c.Count
				}
			}
			for _, want := range tt.wantCodes {
				if counts[want] == 0 {
					t.Errorf("counters miss status %d: %v", want, b.sb.Counters())
				}
			}
		})
	}
}

func TestSlowResponsesAndLatency(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	if err := b.sb.InjectFault(salesforce.Fault{Kind: salesforce.FaultSlow, Delay: 3 * time.Second}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.srv.URL+api+"/limits", nil)
	req.Header.Set("Authorization", "Bearer "+b.token)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("slow response arrived within 100ms: %d", resp.StatusCode)
	}
	start := time.Now()
	if r := b.do(t, "GET", api+"/limits", nil); r.status != 200 {
		t.Fatalf("after the slow burst: got %d", r.status)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("the burst of one slowed a second request: %v", el)
	}
	if r := b.do(t, "POST", "/__sandbox/latency", map[string]int{"ms": 120}); r.status != 200 {
		t.Fatalf("latency: %d", r.status)
	}
	start = time.Now()
	b.do(t, "GET", api+"/limits", nil)
	if el := time.Since(start); el < 120*time.Millisecond {
		t.Fatalf("latency 120ms: request took %v", el)
	}
}

func TestCountersPerEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	b.sb.ResetCounters()
	b.query(t, "SELECT Id FROM Opportunity")
	b.query(t, "SELECT Id FROM Opportunity")
	b.do(t, "GET", api+"/sobjects/Opportunity/describe", nil)
	b.do(t, "GET", api+"/query?q=SELECT+Nope+FROM+Opportunity", nil)
	r := b.do(t, "GET", "/__sandbox/counters", nil)
	var c struct {
		Total    int64                     `json:"total"`
		Requests []salesforce.RequestCount `json:"requests"`
	}
	r.decode(t, &c)
	want := map[[2]any]int64{{"query", 200}: 2, {"query", 400}: 1, {"describe", 200}: 1}
	got := map[[2]any]int64{}
	for _, rc := range c.Requests {
		got[[2]any{rc.Endpoint, rc.Status}] = rc.Count
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%v: got %d, want %d (all: %v)", k, got[k], n, c.Requests)
		}
	}
	if c.Total != 4 || b.sb.Requests("query") != 3 {
		t.Errorf("got total %d, query %d; want 4 and 3", c.Total, b.sb.Requests("query"))
	}
}

func TestControlDealChanges(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	r := b.do(t, "POST", "/__sandbox/deals", map[string]any{"fields": map[string]any{
		"Name": "Person-made deal", "StageName": "Prospecting", "CloseDate": "2027-01-15", "Amount": 9000,
	}})
	var rec map[string]any
	r.decode(t, &rec)
	if r.status != 201 || rec["Id"] == nil || rec["Probability"] != 10.0 {
		t.Fatalf("create: got %d %s", r.status, r.body)
	}
	id := rec["Id"].(string)
	b.clock.Advance(time.Minute)
	r = b.do(t, "PATCH", "/__sandbox/deals/"+id, map[string]any{"fields": map[string]any{"StageName": "Negotiation/Review"}})
	rec = nil
	r.decode(t, &rec)
	if r.status != 200 || rec["StageName"] != "Negotiation/Review" || rec["SystemModstamp"] != "2026-11-23T12:01:00.000+0000" {
		t.Fatalf("change: got %d %s", r.status, r.body)
	}
	if r := b.do(t, "PATCH", "/__sandbox/deals/"+id, map[string]any{"fields": map[string]any{"MAP_Status__c": "Meh"}}); r.status != 400 {
		t.Fatalf("invalid change: got %d %s", r.status, r.body)
	}
	// A person's change is not an API call.
	if n := b.sb.Requests("record.update"); n != 0 {
		t.Fatalf("control changes counted as API calls: %d", n)
	}
}

// TestMassUpdateTrap gives more than 10,000 records one SystemModstamp and checks that they are
// all there for a reader that pages with (SystemModstamp, Id).
func TestMassUpdateTrap(t *testing.T) {
	t.Parallel()
	b := setup(t, 6000) // about 12,000 contacts
	b.clock.Advance(time.Hour)
	r := b.do(t, "POST", "/__sandbox/mass-update", map[string]any{"object": "Contact", "count": 10500, "fields": map[string]any{"Title": "Imported"}})
	var res salesforce.MassUpdateResult
	r.decode(t, &res)
	if r.status != 200 || res.Updated != 10500 || res.SystemModstamp != "2026-11-23T13:00:00.000+0000" {
		t.Fatalf("mass update: got %d %s", r.status, r.body)
	}
	soql := "SELECT Id, Title, SystemModstamp FROM Contact WHERE SystemModstamp = 2026-11-23T13:00:00Z ORDER BY SystemModstamp, Id"
	got, pages := b.queryAllPages(t, "query", soql)
	if len(got) != 10500 || pages != 6 {
		t.Fatalf("got %d records in %d pages, want 10500 in 6", len(got), pages)
	}
	for _, rec := range got {
		if rec["Title"] != "Imported" {
			t.Fatalf("record not changed: %v", rec)
		}
	}
	// A reader with LIMIT 2000 and a strict > cursor on the stamp alone would lose 8,500 of them:
	// the trap is real.
	qr, _ := b.query(t, "SELECT Id FROM Contact WHERE SystemModstamp > 2026-11-23T13:00:00Z")
	if qr.TotalSize != 0 {
		t.Fatalf("got %d records after the shared stamp, want 0", qr.TotalSize)
	}
}

// TestCommitLagTrap holds a change whose stamp is older than what a reader has already seen.
func TestCommitLagTrap(t *testing.T) {
	t.Parallel()
	b := setup(t, 10)
	ids := b.sb.IDs("Opportunity")
	r := b.do(t, "POST", "/__sandbox/commit-lag", map[string]any{"id": ids[0], "fields": map[string]any{"NextStep": "Late"}, "hold": true})
	if r.status != 200 {
		t.Fatalf("commit-lag: %d %s", r.status, r.body)
	}
	b.clock.Advance(10 * time.Second)
	if err := b.sb.UpdateRecord("Opportunity", ids[1], map[string]any{"NextStep": "Early"}); err != nil {
		t.Fatal(err)
	}
	// The reader sees ids[1] and moves its cursor to its stamp.
	qr, _ := b.query(t, "SELECT Id, NextStep, SystemModstamp FROM Opportunity WHERE SystemModstamp >= 2026-11-23T12:00:00Z ORDER BY SystemModstamp, Id")
	if qr.TotalSize != 1 || qr.Records[0]["Id"] != ids[1] {
		t.Fatalf("before release: got %+v", qr.Records)
	}
	cursor := qr.Records[0]["SystemModstamp"].(string)
	if r := b.do(t, "POST", "/__sandbox/commit-lag/release", nil); r.status != 200 {
		t.Fatalf("release: %d", r.status)
	}
	rec, _ := b.sb.Record("Opportunity", ids[0])
	if rec["NextStep"] != "Late" || rec["SystemModstamp"] != "2026-11-23T12:00:00.000+0000" || rec["SystemModstamp"].(string) >= cursor {
		t.Fatalf("released record: got %v, want NextStep Late with a stamp behind %s", rec, cursor)
	}
	// Visible now, but behind the reader's cursor.
	qr, _ = b.query(t, "SELECT Id FROM Opportunity WHERE SystemModstamp > 2026-11-23T12:00:10Z")
	if qr.TotalSize != 0 {
		t.Fatalf("reader past the cursor sees %d records", qr.TotalSize)
	}

	// Immediate form: visible at once, stamped in the past; and a held create released by the clock.
	id, err := b.sb.CommitLag(salesforce.LagChange{Object: "Opportunity", ID: ids[2], Fields: map[string]any{"NextStep": "Past"}, StampBehind: time.Minute})
	if err != nil || id != ids[2] {
		t.Fatalf("immediate lag: %v %s", err, id)
	}
	rec, _ = b.sb.Record("Opportunity", ids[2])
	if rec["SystemModstamp"] != "2026-11-23T11:59:10.000+0000" {
		t.Fatalf("stamp behind: got %v", rec["SystemModstamp"])
	}
	before := len(b.sb.IDs("Opportunity"))
	if _, err := b.sb.CommitLag(salesforce.LagChange{Object: "Opportunity", Fields: map[string]any{"Name": "Lagging", "StageName": "Prospecting", "CloseDate": "2027-01-01"},
		VisibleAfter: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if n := len(b.sb.IDs("Opportunity")); n != before {
		t.Fatalf("held create visible early: %d", n)
	}
	b.clock.Advance(31 * time.Second)
	b.do(t, "GET", api+"/limits", nil) // any API request releases what is due
	if n := len(b.sb.IDs("Opportunity")); n != before+1 {
		t.Fatalf("held create not released: %d, want %d", n, before+1)
	}
}

func TestControlHTTPFaults(t *testing.T) {
	t.Parallel()
	b := setup(t, 3)
	id := b.sb.IDs("Opportunity")[0]
	if r := b.do(t, "POST", "/__sandbox/faults", map[string]any{"kind": "fail_write", "id": id, "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": "Amount must be positive"}); r.status != 200 {
		t.Fatalf("fail_write: %d %s", r.status, r.body)
	}
	r := b.do(t, "PATCH", api+"/sobjects/Opportunity/"+id, map[string]any{"NextStep": "x"})
	if r.status != 400 || r.errorCode(t) != "FIELD_CUSTOM_VALIDATION_EXCEPTION" {
		t.Fatalf("write after fail_write: got %d %s", r.status, r.body)
	}
	if r := b.do(t, "PATCH", api+"/sobjects/Opportunity/"+id, map[string]any{"NextStep": "x"}); r.status != 204 {
		t.Fatalf("second write: got %d %s", r.status, r.body)
	}
	if r := b.do(t, "POST", "/__sandbox/faults", map[string]any{"kind": "expire_tokens"}); r.status != 200 {
		t.Fatalf("expire_tokens: %d", r.status)
	}
	if r := b.do(t, "GET", api+"/limits", nil); r.status != 401 {
		t.Fatalf("after expire_tokens: got %d", r.status)
	}
	for _, bad := range []map[string]any{{"kind": "explode"}, {"kind": "server_error", "status": 404}, {"kind": "fail_write", "id": "nope"}} {
		if r := b.do(t, "POST", "/__sandbox/faults", bad); r.status != 400 {
			t.Errorf("%v: got %d, want 400", bad, r.status)
		}
	}
	var info map[string]any
	r = b.do(t, "GET", "/__sandbox/", nil)
	r.decode(t, &info)
	if info["instanceUrl"] != b.srv.URL || info["clientId"] != salesforce.ClientID || info["refreshToken"] != salesforce.RefreshToken {
		t.Fatalf("info: got %v", info)
	}
}

// TestMassUpdateImportsMissingRecords asks for 12,000 records with one stamp on a sandbox of 50
// deals: the 50 are updated and 11,950 imported, and all of them page out with the shared stamp.
func TestMassUpdateImportsMissingRecords(t *testing.T) {
	t.Parallel()
	b := setup(t, 50)
	b.clock.Advance(time.Hour)
	r := b.do(t, "POST", "/__sandbox/mass-update", map[string]any{"object": "Opportunity", "count": 12000, "fields": map[string]any{"NextStep": "Imported"}})
	var res salesforce.MassUpdateResult
	r.decode(t, &res)
	if r.status != 200 || res.Updated != 50 || res.Created != 11950 || res.SystemModstamp != "2026-11-23T13:00:00.000+0000" {
		t.Fatalf("mass update: got %d %s, want 50 updated and 11950 created", r.status, r.body)
	}
	if n := len(b.sb.IDs("Opportunity")); n != 12000 {
		t.Fatalf("got %d live opportunities, want 12000", n)
	}
	soql := "SELECT Id, Name, StageName, CloseDate, OwnerId, IsClosed, Probability, NextStep, CreatedDate FROM Opportunity WHERE SystemModstamp = 2026-11-23T13:00:00Z ORDER BY SystemModstamp, Id"
	got, pages := b.queryAllPages(t, "query", soql)
	if len(got) != 12000 || pages != 6 {
		t.Fatalf("got %d records in %d pages, want 12000 in 6", len(got), pages)
	}
	ids := map[string]bool{}
	imported := 0
	for _, rec := range got {
		ids[rec["Id"].(string)] = true
		if rec["NextStep"] != "Imported" || rec["OwnerId"] == nil || rec["StageName"] == nil || rec["CloseDate"] == nil {
			t.Fatalf("record not changed or incomplete: %v", rec)
		}
		if rec["CreatedDate"] == res.SystemModstamp {
			imported++
			if rec["StageName"] != "Prospecting" || rec["Probability"] != 10.0 || rec["IsClosed"] != false {
				t.Fatalf("imported record: got %v, want a Prospecting deal with derived fields", rec)
			}
		}
	}
	if len(ids) != 12000 || imported != 11950 {
		t.Fatalf("got %d distinct ids, %d imported, want 12000 and 11950", len(ids), imported)
	}
	// A count the sandbox cannot import into is refused with a message, never cut short.
	r = b.do(t, "POST", "/__sandbox/mass-update", map[string]any{"object": "User", "count": 5000})
	var e map[string]string
	r.decode(t, &e)
	if r.status != 400 || !strings.Contains(e["error"], "only") || !strings.Contains(e["error"], "User") {
		t.Fatalf("users: got %d %s, want 400 saying how many are live", r.status, r.body)
	}
	// Imported values are validated like any write.
	r = b.do(t, "POST", "/__sandbox/mass-update", map[string]any{"object": "Contact", "count": 20000, "fields": map[string]any{"MAP_Status__c": "x"}})
	if r.status != 400 {
		t.Fatalf("invalid field: got %d %s", r.status, r.body)
	}
}

// TestSlowFaultOverHTTP injects a slow burst through the control API with delayMs.
func TestSlowFaultOverHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	if r := b.do(t, "POST", "/__sandbox/faults", map[string]any{"kind": "slow", "count": 2, "delayMs": 150, "endpoint": "limits"}); r.status != 200 {
		t.Fatalf("slow fault: %d %s", r.status, r.body)
	}
	// Another endpoint is not slowed.
	start := time.Now()
	if r := b.do(t, "GET", api+"/sobjects", nil); r.status != 200 {
		t.Fatalf("sobjects: %d", r.status)
	}
	if el := time.Since(start); el >= 150*time.Millisecond {
		t.Fatalf("a request to another endpoint took %v", el)
	}
	for i := range 2 {
		start := time.Now()
		r := b.do(t, "GET", api+"/limits", nil)
		if el := time.Since(start); r.status != 200 || el < 150*time.Millisecond {
			t.Fatalf("slow request %d: got %d after %v, want 200 after at least 150ms", i, r.status, el)
		}
	}
	start = time.Now()
	b.do(t, "GET", api+"/limits", nil)
	if el := time.Since(start); el >= 150*time.Millisecond {
		t.Fatalf("the burst of two slowed a third request: %v", el)
	}
}

// TestFaultResponsesCarryLimitInfo: injected 5xx, 403 and 429 carry Sforce-Limit-Info as every
// real API response does, and are not counted against the allocation.
func TestFaultResponsesCarryLimitInfo(t *testing.T) {
	t.Parallel()
	b := setup(t, 1, func(o *salesforce.Options) { o.DailyLimit = 50 })
	b.do(t, "GET", api+"/limits", nil) // usage 1
	for _, f := range []map[string]any{{"kind": "server_error", "status": 503}, {"kind": "limit"}, {"kind": "limit", "status": 429}, {"kind": "server_error"}} {
		if r := b.do(t, "POST", "/__sandbox/faults", f); r.status != 200 {
			t.Fatalf("fault %v: %d", f, r.status)
		}
		r := b.do(t, "GET", api+"/limits", nil)
		if r.status < 400 || r.header.Get("Sforce-Limit-Info") != "api-usage=1/50" {
			t.Errorf("fault %v: got %d with Sforce-Limit-Info %q, want an error with api-usage=1/50", f, r.status, r.header.Get("Sforce-Limit-Info"))
		}
	}
	if r := b.do(t, "GET", api+"/limits", nil); r.status != 200 || r.header.Get("Sforce-Limit-Info") != "api-usage=2/50" {
		t.Fatalf("after the faults: got %d %q", r.status, r.header.Get("Sforce-Limit-Info"))
	}
}

// TestFailWriteNeedsALiveRecord: fail_write for an id the sandbox does not have (or has deleted)
// is a 404 naming it, since the fault could never fire; for a live record it is queued.
func TestFailWriteNeedsALiveRecord(t *testing.T) {
	t.Parallel()
	b := setup(t, 3)
	ids := b.sb.IDs("Opportunity")
	if err := b.sb.DeleteRecord("Opportunity", ids[1]); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id     string
		status int
	}{
		{ids[0], 200},
		{ids[1], 404},               // in the recycle bin
		{"006000000000000AAA", 404}, // well formed, never existed
		{"not-an-id", 400},
	} {
		r := b.do(t, "POST", "/__sandbox/faults", map[string]any{"kind": "fail_write", "id": tc.id})
		if r.status != tc.status || (tc.status == 404 && !strings.Contains(string(r.body), tc.id)) {
			t.Errorf("fail_write %s: got %d %s, want %d", tc.id, r.status, r.body, tc.status)
		}
	}
}
