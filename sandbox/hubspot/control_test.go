package hubspot

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestRateLimits(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{BurstLimit: 3, DailyLimit: 5})
	for i := range 3 {
		r := b.do(t, "GET", "/crm/v3/objects/deals?limit=1", nil)
		wantStatus(t, r, 200)
		h := r.header
		if h.Get("X-HubSpot-RateLimit-Max") != "3" || h.Get("X-HubSpot-RateLimit-Remaining") != strconv.Itoa(2-i) ||
			h.Get("X-HubSpot-RateLimit-Interval-Milliseconds") != "10000" || h.Get("X-HubSpot-RateLimit-Daily") != "5" ||
			h.Get("X-HubSpot-RateLimit-Daily-Remaining") != strconv.Itoa(4-i) {
			t.Errorf("call %d: got headers %v", i, h)
		}
	}
	r := b.do(t, "GET", "/crm/v3/objects/deals?limit=1", nil)
	wantStatus(t, r, 429)
	m := r.json(t)
	if m["errorType"] != "RATE_LIMIT" || m["policyName"] != "TEN_SECONDLY_ROLLING" || m["message"] != "You have reached your ten_secondly_rolling limit." {
		t.Errorf("got %s", r.body)
	}
	b.clock.Advance(5 * time.Second)
	wantStatus(t, b.do(t, "GET", "/crm/v3/owners", nil), 429)
	b.clock.Advance(5 * time.Second) // the first calls leave the rolling window
	wantStatus(t, b.do(t, "GET", "/crm/v3/owners", nil), 200)
	wantStatus(t, b.do(t, "GET", "/crm/v3/owners", nil), 200)
	b.clock.Advance(10 * time.Second)
	r = b.do(t, "GET", "/crm/v3/owners", nil)
	wantStatus(t, r, 429)
	if got := r.json(t)["policyName"]; got != "DAILY" {
		t.Errorf("got policy %v, want DAILY", got)
	}
	b.clock.Advance(24 * time.Hour)
	wantStatus(t, b.do(t, "GET", "/crm/v3/owners", nil), 200)
}

func TestFaultsAndCounters(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 3})
	id := b.sb.IDs("deals")[0]
	b.do(t, "POST", "/__sandbox/faults", map[string]any{"kind": "server_errors", "count": 2, "status": 503})
	for range 2 {
		r := b.do(t, "GET", "/crm/v3/objects/deals/"+id, nil)
		wantStatus(t, r, 503)
	}
	wantStatus(t, b.do(t, "GET", "/crm/v3/objects/deals/"+id, nil), 200)

	b.do(t, "POST", "/__sandbox/faults", map[string]any{"kind": "rate_limits", "count": 1})
	r := b.do(t, "GET", "/crm/v3/objects/deals/"+id, nil)
	wantStatus(t, r, 429)
	if got := r.json(t)["policyName"]; got != "TEN_SECONDLY_ROLLING" {
		t.Errorf("got %v", got)
	}

	b.do(t, "POST", "/__sandbox/faults", map[string]any{"kind": "slow", "count": 1, "delay": "150ms"})
	start := time.Now()
	wantStatus(t, b.do(t, "GET", "/crm/v3/objects/deals/"+id, nil), 200)
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Errorf("slow request took %v, want at least 150ms", took)
	}

	b.do(t, "POST", "/__sandbox/faults", map[string]any{"kind": "fail_write", "objectType": "deals", "id": id})
	body := map[string]any{"inputs": []any{map[string]any{"id": id, "properties": map[string]any{"dealname": "x"}}}}
	r = b.do(t, "POST", "/crm/v3/objects/deals/batch/update", body)
	wantStatus(t, r, 207)
	if dig(r.json(t), "errors", 0, "context", "ids", 0) != id {
		t.Errorf("got %s, want a per-input error for %s", r.body, id)
	}
	wantStatus(t, b.do(t, "POST", "/crm/v3/objects/deals/batch/update", body), 200)

	r = b.do(t, "GET", "/__sandbox/counters", nil)
	var got struct {
		Total  int     `json:"total"`
		Counts []Count `json:"counts"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[Count]bool{
		{Endpoint: "GET /crm/v3/objects/deals/{objectId}", Status: 503, N: 2}:    true,
		{Endpoint: "GET /crm/v3/objects/deals/{objectId}", Status: 429, N: 1}:    true,
		{Endpoint: "GET /crm/v3/objects/deals/{objectId}", Status: 200, N: 2}:    true,
		{Endpoint: "POST /crm/v3/objects/deals/batch/update", Status: 207, N: 1}: true,
		{Endpoint: "POST /crm/v3/objects/deals/batch/update", Status: 200, N: 1}: true,
	}
	for _, c := range got.Counts {
		delete(want, c)
	}
	if len(want) > 0 || got.Total != 7 {
		t.Errorf("got counters %+v (total %d), missing %v", got.Counts, got.Total, want)
	}
}

// receiver is a webhook endpoint that checks signatures and records batches.
type receiver struct {
	t       *testing.T
	mu      sync.Mutex
	batches [][]Event
	failN   int // answer 500 to this many requests first
	srv     *httptest.Server
}

func newReceiver(t *testing.T, failN int) *receiver {
	rc := &receiver{t: t, failN: failN}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts := r.Header.Get("X-HubSpot-Request-Timestamp")
		want := SignatureV3(ClientSecret, "POST", rc.srv.URL+r.URL.RequestURI(), body, ts)
		if !hmac.Equal([]byte(r.Header.Get("X-HubSpot-Signature-v3")), []byte(want)) {
			t.Errorf("bad v3 signature")
		}
		if r.Header.Get("X-HubSpot-Signature") != SignatureV1(ClientSecret, body) || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("bad v1 signature or content type")
		}
		if ms, _ := strconv.ParseInt(ts, 10, 64); time.Since(time.UnixMilli(ms)) > 5*time.Minute {
			t.Errorf("stale timestamp %s", ts)
		}
		var events []Event
		if err := json.Unmarshal(body, &events); err != nil {
			t.Errorf("body is not an event array: %v", err)
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if rc.failN > 0 {
			rc.failN--
			w.WriteHeader(500)
			return
		}
		rc.batches = append(rc.batches, events)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) events() []Event {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []Event
	for _, b := range rc.batches {
		out = append(out, b...)
	}
	return out
}

func waitEvents(t *testing.T, b *testBundle, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if st, err := b.sb.WaitWebhooks(ctx, func(st WebhookStats) bool { return st.DeliveredEvents >= n }); err != nil {
		t.Fatalf("got %+v: %v", st, err)
	}
}

func TestWebhooks(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 3, CustomProperties: DefaultCustomProperties()})
	rc := newReceiver(t, 2)
	r := b.do(t, "PUT", "/__sandbox/webhooks", map[string]any{"targetUrl": rc.srv.URL + "/hooks/hubspot",
		"retryBase": "5ms", "concurrency": 1, "subscriptions": []any{
			map[string]any{"subscriptionType": "deal.creation"},
			map[string]any{"subscriptionType": "deal.propertyChange", "propertyName": "dealstage"},
			map[string]any{"subscriptionType": "deal.deletion"},
			map[string]any{"subscriptionType": "contact.propertyChange"},
		}})
	wantStatus(t, r, 200)
	r = b.do(t, "POST", "/__sandbox/deals", map[string]any{"properties": map[string]string{"dealname": "Hooked", "dealstage": "appointmentscheduled"}})
	wantStatus(t, r, 201)
	id := r.json(t)["id"].(string)
	waitEvents(t, b, 1)
	wantStatus(t, b.do(t, "PATCH", "/__sandbox/deals/"+id, map[string]any{"properties": map[string]string{"dealstage": "qualifiedtobuy", "amount": "5"}}), 200)
	wantStatus(t, b.do(t, "PATCH", "/crm/v3/objects/deals/"+id, map[string]any{"properties": map[string]string{"dealstage": "closedwon"}}), 200)
	wantStatus(t, b.do(t, "DELETE", "/crm/v3/objects/deals/"+id, nil), 204)
	waitEvents(t, b, 4)
	ev := rc.events()
	if len(ev) != 4 {
		t.Fatalf("got %d events %+v, want 4", len(ev), ev)
	}
	if ev[0].SubscriptionType != "deal.creation" || ev[0].ChangeFlag != "CREATED" || ev[0].AttemptNumber != 2 ||
		strconv.FormatInt(ev[0].ObjectID, 10) != id || ev[0].PortalID != PortalID || ev[0].ChangeSource != "CRM_UI" {
		t.Errorf("got first event %+v, want creation delivered on attempt 2", ev[0])
	}
	if ev[1].SubscriptionType != "deal.propertyChange" || ev[1].PropertyName != "dealstage" || *ev[1].PropertyValue != "qualifiedtobuy" {
		t.Errorf("got %+v", ev[1])
	}
	if ev[2].ChangeSource != "INTEGRATION" || *ev[2].PropertyValue != "closedwon" || ev[3].SubscriptionType != "deal.deletion" || ev[3].ChangeFlag != "DELETED" {
		t.Errorf("got %+v %+v", ev[2], ev[3])
	}
	if st := b.sb.WebhookStats(); st.Failures != 2 {
		t.Errorf("got %+v, want 2 failures", st)
	}
}

func TestWebhookBatchesDuplicatesAndOrder(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 250, CustomProperties: DefaultCustomProperties()})
	rc := newReceiver(t, 0)
	b.sb.ConfigureWebhooks(WebhookConfig{TargetURL: rc.srv.URL + "/h", Duplicates: true, OutOfOrder: true,
		Subscriptions: []Subscription{{Type: "deal.propertyChange", PropertyName: "map_status"}}})
	if _, err := b.sb.SameStamp("deals", 250, map[string]string{"map_status": "on_track"}); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, b, 500)
	seen := map[int64]int{}
	ordered := true
	var last int64
	rc.mu.Lock()
	for _, batch := range rc.batches {
		if len(batch) > 100 {
			t.Errorf("got a batch of %d events, want at most 100", len(batch))
		}
		for _, e := range batch {
			seen[e.EventID]++
			ordered = ordered && e.EventID > last
			last = e.EventID
		}
	}
	rc.mu.Unlock()
	if len(seen) != 250 || ordered {
		t.Errorf("got %d distinct events, ordered=%v; want 250 out of order", len(seen), ordered)
	}
	for id, n := range seen {
		if n != 2 {
			t.Errorf("event %d delivered %d times, want 2", id, n)
		}
	}
}

func TestTraps(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 20, SearchPerSecond: -1})
	t.Run("same stamp", func(t *testing.T) {
		r := b.do(t, "POST", "/__sandbox/traps/same-stamp", map[string]any{"objectType": "deals", "count": 12})
		wantStatus(t, r, 200)
		m := r.json(t)
		stamp := m["stamp"].(string)
		res := search(t, b, map[string]any{"filterGroups": []any{map[string]any{"filters": []any{filter("hs_lastmodifieddate", "EQ", stamp)}}}})
		if got := res.json(t)["total"]; got != float64(12) {
			t.Errorf("got %v deals at %s, want 12", got, stamp)
		}
	})
	t.Run("late record", func(t *testing.T) {
		b.clock.Advance(time.Minute)
		cursor := b.clock.Now()
		r := b.do(t, "POST", "/__sandbox/traps/late-record", map[string]any{"objectType": "deals", "lag": "30s",
			"properties": map[string]string{"dealname": "Committed late", "dealstage": "appointmentscheduled"}})
		wantStatus(t, r, 201)
		id := r.json(t)["id"].(string)
		wantStatus(t, b.do(t, "GET", "/crm/v3/objects/deals/"+id, nil), 404)
		wantStatus(t, b.do(t, "POST", "/__sandbox/traps/late-record/deals/"+id+"/release", nil), 204)
		r = b.do(t, "GET", "/crm/v3/objects/deals/"+id, nil)
		wantStatus(t, r, 200)
		stamp, _ := time.Parse(time.RFC3339, dig(r.json(t), "properties", "hs_lastmodifieddate").(string))
		if !stamp.Before(cursor) {
			t.Errorf("got stamp %v, want before the reader's cursor %v", stamp, cursor)
		}
		id2, _, err := b.sb.LateRecord("deals", "", nil, 10*time.Second, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, b.do(t, "GET", "/crm/v3/objects/deals/"+id2, nil), 404)
		b.clock.Advance(5 * time.Second)
		wantStatus(t, b.do(t, "GET", "/crm/v3/objects/deals/"+id2, nil), 200)
	})
}

func TestWebhookTimeoutRetried(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 2})
	var mu sync.Mutex
	var attempts []int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var events []Event
		_ = json.NewDecoder(r.Body).Decode(&events)
		mu.Lock()
		first := len(attempts) == 0
		attempts = append(attempts, events[0].AttemptNumber)
		mu.Unlock()
		if first {
			<-r.Context().Done() // never answer: the sandbox's timeout must end the request
			return
		}
	}))
	t.Cleanup(srv.Close)
	b.sb.ConfigureWebhooks(WebhookConfig{TargetURL: srv.URL, Timeout: Duration(50 * time.Millisecond), RetryBase: Duration(time.Millisecond),
		Subscriptions: []Subscription{{Type: "contact.creation"}}})
	if _, err := b.sb.CreateObject("contacts", map[string]string{"email": "new@example.com"}); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, b, 1)
	mu.Lock()
	defer mu.Unlock()
	if len(attempts) != 2 || attempts[0] != 0 || attempts[1] != 1 {
		t.Errorf("got attempts %v, want [0 1]", attempts)
	}
}

func TestControlAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 2})
	var _ http.Handler = b.sb

	r := b.do(t, "GET", "/__sandbox/", nil, "-")
	wantStatus(t, r, 200)
	if m := r.json(t); m["privateAppToken"] != PrivateAppToken || m["deals"] != float64(2) {
		t.Errorf("got info %s", r.body)
	}
	r = b.do(t, "POST", "/__sandbox/objects/contacts", map[string]any{"properties": map[string]string{"email": "a@b.example", "firstname": "Ann"}}, "-")
	wantStatus(t, r, 201)
	id := r.json(t)["id"].(string)
	b.clock.Advance(time.Minute)
	r = b.do(t, "PATCH", "/__sandbox/objects/contacts/"+id, map[string]any{"properties": map[string]string{"lastname": "Lee"}}, "-")
	wantStatus(t, r, 200)
	if dig(r.json(t), "properties", "lastmodifieddate") != "2026-11-02T09:01:00.000Z" {
		t.Errorf("got %s, want the stamp bumped", r.body)
	}
	wantStatus(t, b.do(t, "PATCH", "/__sandbox/objects/contacts/"+id, map[string]any{"properties": map[string]string{"nope": "x"}}, "-"), 400)
	wantStatus(t, b.do(t, "PATCH", "/__sandbox/objects/contacts/1", map[string]any{"properties": map[string]string{}}, "-"), 404)
	wantStatus(t, b.do(t, "DELETE", "/__sandbox/objects/contacts/"+id, nil, "-"), 204)
	wantStatus(t, b.do(t, "GET", "/crm/v3/objects/contacts/"+id, nil), 404)

	wantStatus(t, b.do(t, "PUT", "/__sandbox/latency", map[string]any{"latency": "120ms"}, "-"), 204)
	start := time.Now()
	wantStatus(t, b.do(t, "GET", "/crm/v3/owners/", nil), 200)
	if took := time.Since(start); took < 120*time.Millisecond {
		t.Errorf("request took %v with 120ms latency", took)
	}
	wantStatus(t, b.do(t, "PUT", "/__sandbox/latency", map[string]any{"latency": 0}, "-"), 204)
	if got := b.sb.Requests("GET /crm/v3/owners/"); got != 1 {
		t.Errorf("got %d owner requests, want 1 (control calls are not counted)", got)
	}
	wantStatus(t, b.do(t, "DELETE", "/__sandbox/counters", nil, "-"), 204)
	if got := b.sb.Requests(""); got != 0 {
		t.Errorf("got %d requests after reset, want 0", got)
	}
	wantStatus(t, b.do(t, "POST", "/__sandbox/faults", map[string]any{"kind": "nope"}, "-"), 400)
}
