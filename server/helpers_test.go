package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// templateDoc is the template the test plans are made from.
const templateDoc = `key: api-test
name: API test plan
conversation:
  name: "{{deal.name}} plan"
selection:
  rule: '!deal.is_closed'
roles:
  - {key: owner, label: Seller - Opp Owner, side: seller, fill: {from: deal_owner}}
  - {key: se, label: Sales Engineer, side: seller}
  - {key: champion, label: Champion, side: buyer, fill: {from: contact_roles, roles: [Champion]}}
  - {key: legal, label: Buyer Legal, side: buyer}
phases:
  - key: pre
    name: Pre-sales
    actions:
      - {key: kickoff, title: Kickoff, type: meeting, owner: owner, due: {from: plan_start, days: 1}, sub_tasks: [Agenda, Recap]}
      - {key: review, title: Review, type: approval, owner: champion, due: {after: kickoff, business_days: 3}, milestone: Aligned}
      - {key: forecast, title: Forecast call, type: task, owner: owner, internal: true, due: {after: review, days: 2}}
  - key: buy
    name: Buying
    actions:
      - key: questionnaire
        title: Questionnaire
        type: form
        owner: champion
        due: {from: plan_start, business_days: 5}
        questions:
          - {key: users, text: Users, kind: number, required: true}
          - {key: crm, text: CRM, kind: single_choice, options: [Salesforce, HubSpot]}
      - {key: sign, title: Sign, type: e_sign, owner: legal, due: {from: close_date}, milestone: Signed}
`

// testNow is the server's clock in tests.
var testNow = time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)

func testDeal(id string) plans.Deal {
	return plans.Deal{
		ConnectionName: "sf", CRM: "salesforce", ID: id, Name: "Acme " + id, Account: "Acme",
		Stage: "Discovery", Pipeline: "default", Amount: 50000, CloseDate: plans.Date{Year: 2026, Month: time.April, Day: 30},
		OwnerID: "005O", Owner: &plans.Person{ID: "005O", Name: "Sam Seller", Email: "sam@vendor.test"},
		Contacts: []plans.DealContact{{ContactID: "003A", Name: "Alice Ames", Email: "alice@acme.test", Role: "Champion", Primary: true}},
	}
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testBundle struct {
	t      *testing.T
	srv    *Server
	url    string
	client *http.Client
	store  *faultStore
	token  string // the API token requests send; its name is "ci"
	reg    *prometheus.Registry
	logs   *syncBuffer
	tpl    *plans.Template
	plan   *plans.Plan // as created
}

// eachStore runs fn on every backend (SQLite, and PostgreSQL when reachable) with a fresh
// bundle.
func eachStore(t *testing.T, fn func(t *testing.T, b *testBundle)) {
	t.Helper()
	storetest.Each(t, func(t *testing.T, s *store.Store) { fn(t, setup(t, s)) })
}

// setup serves a Server over httptest on s holding the test template (version 1), one plan made
// from it for deal 006A, and an API token called ci.
func setup(t *testing.T, s *store.Store) *testBundle {
	t.Helper()
	st := &faultStore{Store: s}
	token, err := s.CreateAPIToken(t.Context(), "ci")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	logs := &syncBuffer{}
	srv, err := New(Options{
		Store: st, Logger: zerolog.New(logs), Registerer: reg, Gatherer: reg,
		Now: func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	b := &testBundle{t: t, srv: srv, url: ts.URL, client: ts.Client(), store: st, token: token, reg: reg, logs: logs}
	tpl, err := plans.Parse([]byte(templateDoc))
	if err != nil {
		t.Fatalf("parse template: %v", err)
	}
	if _, _, err := st.ImportTemplate(t.Context(), tpl); err != nil {
		t.Fatal(err)
	}
	b.tpl, b.plan = tpl, b.createPlan("006A")
	return b
}

func (b *testBundle) createPlan(deal string) *plans.Plan {
	b.t.Helper()
	svc, err := plans.NewService(b.store, plans.ServiceOptions{Now: func() time.Time { return testNow }})
	if err != nil {
		b.t.Fatal(err)
	}
	p, created, err := svc.CreatePlan(b.t.Context(), "api-test", 0, testDeal(deal), time.UTC)
	if err != nil || !created {
		b.t.Fatalf("create plan for %s: created %v, %v", deal, created, err)
	}
	return p
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with the test token. body is sent as is when a string, else as JSON; hdr
// holds extra header pairs ("X-Mapsync-Side", "buyer"); an "Authorization" pair replaces the
// token ("Authorization", "" sends none).
func (b *testBundle) do(method, path string, body any, hdr ...string) response {
	b.t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	default:
		data, err := json.Marshal(v)
		if err != nil {
			b.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(b.t.Context(), method, b.url+path, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: data}
}

// ok checks the status and decodes the JSON body into v (when not nil).
func (r response) ok(t *testing.T, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status: got %d, want %d; body %s", r.status, status, r.body)
	}
	if v == nil {
		return
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type: got %q, want application/json", ct)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// wantError checks an error response: status, the one JSON shape, code and field.
func (r response) wantError(t *testing.T, status int, code, field string) APIError {
	t.Helper()
	var body map[string]json.RawMessage
	r.ok(t, status, &body)
	if len(body) != 1 || body["error"] == nil {
		t.Fatalf("error body: got %s, want {\"error\": {...}} only", r.body)
	}
	var e APIError
	dec := json.NewDecoder(bytes.NewReader(body["error"]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body %s: %v", r.body, err)
	}
	if e.Code != code || e.Field != field || e.Message == "" {
		t.Fatalf("error: got code %q field %q message %q, want code %q field %q and a message", e.Code, e.Field, e.Message, code, field)
	}
	return e
}

// get returns the plan as the API shows it (seller view unless hdr says otherwise).
func (b *testBundle) get(hdr ...string) PlanView {
	b.t.Helper()
	var v PlanView
	b.do("GET", "/api/v1/plans/"+b.plan.ID, nil, hdr...).ok(b.t, http.StatusOK, &v)
	return v
}

// PlanView decodes a plan response.
type PlanView struct {
	plans.Plan
	Progress plans.Progress `json:"progress"`
}

func (v PlanView) action(t *testing.T, key string) *plans.Action {
	t.Helper()
	a := v.ActionByKey(key)
	if a == nil {
		t.Fatalf("no action %q in the plan", key)
	}
	return a
}

func (b *testBundle) actionPath(key string) string {
	b.t.Helper()
	a := b.plan.ActionByKey(key)
	if a == nil {
		b.t.Fatalf("no action %q", key)
	}
	return "/api/v1/plans/" + b.plan.ID + "/actions/" + a.ID
}

// eventTypes returns the plan's stored event types, in order.
func (b *testBundle) eventTypes() []plans.EventType {
	b.t.Helper()
	events, err := b.store.Events(b.t.Context(), b.plan.ID, "", 1000)
	if err != nil {
		b.t.Fatal(err)
	}
	var out []plans.EventType
	for _, e := range events {
		out = append(out, e.Type)
	}
	return out
}
