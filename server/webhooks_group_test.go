package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mapsync/mapsync/internal/metrictest"
	"github.com/mapsync/mapsync/server"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// gatedStore is the real store whose next StoreWebhookEventIDs call, once hold is set, waits
// (before storing anything) until release is closed; entered is closed when it starts waiting.
type gatedStore struct {
	*store.Store
	entered, release chan struct{}

	mu    sync.Mutex
	hold  bool
	calls int
}

func newGatedStore(s *store.Store) *gatedStore {
	return &gatedStore{Store: s, entered: make(chan struct{}), release: make(chan struct{}), hold: true}
}

func (g *gatedStore) StoreWebhookEventIDs(ctx context.Context, events []store.NewWebhookEvent, onStored store.OnWebhookEventsStored) ([]int64, error) {
	g.mu.Lock()
	g.calls++
	hold := g.hold
	g.hold = false
	g.mu.Unlock()
	if hold {
		close(g.entered)
		<-g.release
	}
	return g.Store.StoreWebhookEventIDs(ctx, events, onStored)
}

func (g *gatedStore) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(30 * time.Second): // a guard against a hang, not a timing assertion
		t.Fatal("no store call in 30s")
	}
}

func (g *gatedStore) callCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls
}

type hookAnswer struct {
	code int
	body string
	err  error
}

// send posts from its own goroutine; the answer arrives on the channel.
func (b *hookBundle) send(path string, body []byte, hdr map[string]string) <-chan hookAnswer {
	out := make(chan hookAnswer, 1)
	go func() {
		req, err := http.NewRequest(http.MethodPost, b.srv.URL+path, bytes.NewReader(body))
		if err != nil {
			out <- hookAnswer{err: err}
			return
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- hookAnswer{err: err}
			return
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		out <- hookAnswer{code: resp.StatusCode, body: string(data), err: err}
	}()
	return out
}

func answer(t *testing.T, ch <-chan hookAnswer) hookAnswer {
	t.Helper()
	select {
	case a := <-ch:
		if a.err != nil {
			t.Fatal(a.err)
		}
		return a
	case <-time.After(30 * time.Second): // a guard against a hang, not a timing assertion
		t.Fatal("no answer in 30s")
		return hookAnswer{}
	}
}

func genericHeaders(id string, body []byte) map[string]string {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	return map[string]string{server.HeaderWebhookID: id, server.HeaderWebhookTimestamp: ts,
		server.HeaderWebhookSignature: server.SignStandardWebhook(whKey, id, ts, body)}
}

func genericBody(deal string) []byte {
	return []byte(`{"object":"deal","id":"` + deal + `"}`)
}

// waitWaiting waits until n webhook requests wait for a group commit.
func waitWaiting(t *testing.T, reg prometheus.Gatherer, n int) {
	t.Helper()
	deadline := time.After(30 * time.Second) // a guard against a hang, not a timing assertion
	for {
		got := metrictest.Sum(t, reg, "mapsync_webhook_commit_waiting", nil)
		if int(got) == n {
			return
		}
		select {
		case <-deadline:
			t.Fatalf("%v requests waiting for a group commit, want %d", got, n)
		case <-time.After(time.Millisecond):
		}
	}
}

// commitHistogram is mapsync_webhook_commit_requests: how many group commits, how many requests
// in all.
func commitHistogram(t *testing.T, reg prometheus.Gatherer) (count uint64, sum float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "mapsync_webhook_commit_requests" {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	t.Fatal("no mapsync_webhook_commit_requests")
	return 0, 0
}

func outboundMessage(org, id, opp string) []byte {
	return []byte(fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">
  <OrganizationId>%s</OrganizationId><ActionId>04k000000000001</ActionId>
  <Notification><Id>%s</Id><sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>%s</sf:Id></sObject></Notification>
 </notifications></soapenv:Body></soapenv:Envelope>`, org, id, opp))
}

// TestWebhookGroupCommit: requests of the three receivers that arrive while a commit is in
// progress are stored together, in one transaction with one OnStored call, and each is answered
// only after its group's commit, with its own counts: of two requests carrying the same event,
// one stored it and the other has a duplicate.
func TestWebhookGroupCommit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		gs := newGatedStore(s)
		var (
			mu     sync.Mutex
			hooked [][]int64
		)
		b := setupHooksWith(t, s, sfOrg, func(o *server.WebhookOptions) {
			o.Store, o.CommitGroups = gs, 1
			o.OnStored = func(_ context.Context, _ *sql.Tx, ids []int64) error {
				mu.Lock()
				defer mu.Unlock()
				hooked = append(hooked, ids)
				return nil
			}
		})
		first := b.send("/webhooks/generic/sf", genericBody("d0"), genericHeaders("msg_0", genericBody("d0")))
		gs.waitEntered(t) // its commit is held: what arrives now waits

		var generic []<-chan hookAnswer
		for i := 1; i <= 19; i++ {
			body := genericBody(fmt.Sprintf("d%d", i))
			generic = append(generic, b.send("/webhooks/generic/sf", body, genericHeaders(fmt.Sprintf("msg_%d", i), body)))
		}
		again := b.send("/webhooks/generic/sf", genericBody("d5"), genericHeaders("msg_5", genericBody("d5")))
		hsBody := []byte(`[{"eventId":900,"subscriptionId":7,"portalId":1,"occurredAt":1782371972438,"subscriptionType":"deal.creation","objectId":5001}]`)
		hs := b.send("/webhooks/hubspot/hs", hsBody, hubspotHeaders(b.srv.URL+"/webhooks/hubspot/hs", hsBody, time.Now()))
		sf := b.send("/webhooks/salesforce/sf", outboundMessage(sfOrg, "04l000000000001", "006000000000001AAA"), nil)
		waitWaiting(t, b.reg, 22)
		select {
		case a := <-first:
			t.Fatalf("answered %d %s before its commit", a.code, a.body)
		default:
		}

		close(gs.release)
		if a := answer(t, first); a.code != 200 || !strings.Contains(a.body, `"stored":1`) {
			t.Fatalf("first request: %d %s", a.code, a.body)
		}
		storedTo := 0
		for _, ch := range append(generic, again) {
			a := answer(t, ch)
			var counts struct{ Stored, Duplicates int }
			if a.code != 200 || json.Unmarshal([]byte(a.body), &counts) != nil || counts.Stored+counts.Duplicates != 1 {
				t.Fatalf("generic request: %d %s", a.code, a.body)
			}
			storedTo += counts.Stored
		}
		if storedTo != 19 {
			t.Errorf("%d generic requests answered stored, want 19 (msg_5 twice: one stored, one duplicate)", storedTo)
		}
		if a := answer(t, hs); a.code != 200 || !strings.Contains(a.body, `"stored":1`) {
			t.Errorf("HubSpot request: %d %s", a.code, a.body)
		}
		if a := answer(t, sf); a.code != 200 || !strings.Contains(a.body, "<Ack>true</Ack>") {
			t.Errorf("Salesforce request: %d %s", a.code, a.body)
		}

		if n := len(b.events(t)); n != 22 {
			t.Errorf("stored %d events, want 22", n)
		}
		mu.Lock()
		defer mu.Unlock()
		if gs.callCount() != 2 || len(hooked) != 2 || len(hooked[1]) != 21 {
			t.Errorf("%d store calls, OnStored saw %v; want 2 calls, the second with the 21 new events of 22 requests", gs.callCount(), hooked)
		}
		if n, sum := commitHistogram(t, b.reg); n != 2 || sum != 23 {
			t.Errorf("mapsync_webhook_commit_requests: %d commits of %v requests, want 2 of 23", n, sum)
		}
		for outcome, want := range map[string]float64{"stored": 20, "duplicate": 1} {
			if got := metrictest.Sum(t, b.reg, "mapsync_webhook_events_total", map[string]string{"source": "generic", "outcome": outcome}); got != want {
				t.Errorf("generic %s events: %v, want %v", outcome, got, want)
			}
		}
	})
}

// TestWebhookGroupFailureIsolation: a request whose event the database refuses (here: of a
// connection it does not hold, which the foreign key refuses) fails alone; the requests
// committed in the same group are stored and answered 200.
func TestWebhookGroupFailureIsolation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		gs := newGatedStore(s)
		b := setupHooksWith(t, s, sfOrg, func(o *server.WebhookOptions) {
			o.Store, o.CommitGroups = gs, 1
			o.Connections = append(o.Connections, server.WebhookConnection{Name: "ghost", ID: 1 << 40, Kind: "salesforce", Keys: [][]byte{whKey}})
		})
		first := b.send("/webhooks/generic/sf", genericBody("d0"), genericHeaders("msg_0", genericBody("d0")))
		gs.waitEntered(t)
		good1 := b.send("/webhooks/generic/sf", genericBody("d1"), genericHeaders("msg_1", genericBody("d1")))
		ghost := b.send("/webhooks/generic/ghost", genericBody("d2"), genericHeaders("msg_2", genericBody("d2")))
		good2 := b.send("/webhooks/generic/sf", genericBody("d3"), genericHeaders("msg_3", genericBody("d3")))
		waitWaiting(t, b.reg, 3)
		close(gs.release)

		for _, ch := range []<-chan hookAnswer{first, good1, good2} {
			if a := answer(t, ch); a.code != 200 {
				t.Errorf("good request: %d %s, want 200", a.code, a.body)
			}
		}
		if a := answer(t, ghost); a.code != http.StatusInternalServerError {
			t.Errorf("refused request: %d %s, want 500", a.code, a.body)
		}
		keys := map[string]bool{}
		for _, e := range b.events(t) {
			keys[e.Key] = true
		}
		if len(keys) != 3 || !keys["msg_0"] || !keys["msg_1"] || !keys["msg_3"] {
			t.Errorf("stored %v, want msg_0, msg_1 and msg_3", keys)
		}
		if n := gs.callCount(); n != 5 {
			t.Errorf("%d store calls, want 5: the first request, the group of 3, each of them alone", n)
		}
		if got := metrictest.Sum(t, b.reg, "mapsync_webhook_requests_total", map[string]string{"source": "generic", "outcome": "error"}); got != 1 {
			t.Errorf("failed requests metric: %v, want 1", got)
		}
	})
}
