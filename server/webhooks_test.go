package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/internal/metrictest"
	hssandbox "github.com/mapsync/mapsync/sandbox/hubspot"
	sfsandbox "github.com/mapsync/mapsync/sandbox/salesforce"
	"github.com/mapsync/mapsync/server"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

var whKey = []byte("0123456789abcdef0123456789abcdef")

// hookBundle is a server with the webhook receivers on a real store, for connections "hs"
// (HubSpot, the sandbox's client secret), "sf" (Salesforce, of the org given) and both with whKey.
type hookBundle struct {
	store *store.Store
	srv   *httptest.Server
	reg   *prometheus.Registry
	hs    int64
	sf    int64
}

const sfOrg = "00D000000004005AAA"

func setupHooks(t *testing.T, s *store.Store, org string) *hookBundle {
	t.Helper()
	return setupHooksWith(t, s, org, nil)
}

// setupHooksWith is setupHooks with the receivers' options changed by edit (before NewWebhooks).
func setupHooksWith(t *testing.T, s *store.Store, org string, edit func(*server.WebhookOptions)) *hookBundle {
	t.Helper()
	ctx := t.Context()
	hs, err := s.EnsureConnection(ctx, "hs", "hubspot")
	if err != nil {
		t.Fatal(err)
	}
	sf, err := s.EnsureConnection(ctx, "sf", "salesforce")
	if err != nil {
		t.Fatal(err)
	}
	b := &hookBundle{store: s, reg: prometheus.NewRegistry(), hs: hs.ID, sf: sf.ID}
	opts := server.WebhookOptions{
		Store: s, Registerer: b.reg, Logger: zerolog.Nop(),
		Connections: []server.WebhookConnection{
			{Name: "hs", ID: hs.ID, Kind: "hubspot", ClientSecret: hssandbox.ClientSecret, Keys: [][]byte{whKey}},
			{Name: "sf", ID: sf.ID, Kind: "salesforce", OrganizationID: org, Keys: [][]byte{whKey}},
		},
	}
	if edit != nil {
		edit(&opts)
	}
	hooks, err := server.NewWebhooks(opts)
	if err != nil {
		t.Fatal(err)
	}
	h, err := server.New(server.Options{Store: s, Logger: zerolog.Nop(), Webhooks: hooks})
	if err != nil {
		t.Fatal(err)
	}
	b.srv = httptest.NewServer(h)
	t.Cleanup(b.srv.Close)
	return b
}

func (b *hookBundle) post(t *testing.T, path string, body []byte, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	var e server.ErrorBody
	if json.Unmarshal(out, &e) == nil && e.Error.Code != "" {
		return resp.StatusCode, e.Error.Code + ": " + e.Error.Message // unescaped, to compare with text
	}
	return resp.StatusCode, string(out)
}

func (b *hookBundle) events(t *testing.T) []store.WebhookEvent {
	t.Helper()
	evs, err := b.store.WebhookEvents(t.Context(), store.WebhookEventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func hubspotHeaders(url string, body []byte, at time.Time) map[string]string {
	ts := strconv.FormatInt(at.UnixMilli(), 10)
	return map[string]string{
		"Content-Type":                  "application/json",
		server.HeaderHubSpotTimestamp:   ts,
		server.HeaderHubSpotSignatureV3: hssandbox.SignatureV3(hssandbox.ClientSecret, http.MethodPost, url, body, ts),
	}
}

func TestHubSpotWebhook(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := setupHooks(t, s, sfOrg)
		path := "/webhooks/hubspot/hs"
		url := b.srv.URL + path
		body := []byte(`[{"eventId":101,"subscriptionId":7,"portalId":1,"occurredAt":1782371972438,"subscriptionType":"deal.creation","objectId":5001,"changeFlag":"CREATED"},
			{"eventId":102,"subscriptionId":8,"portalId":1,"occurredAt":1782371972439,"subscriptionType":"deal.propertyChange","objectId":5002,"propertyName":"amount","propertyValue":"2000"}]`)

		code, out := b.post(t, path, body, hubspotHeaders(url, body, time.Now()))
		if code != 200 || !strings.Contains(out, `"stored":2`) {
			t.Fatalf("signed batch: got %d %s, want 200 with 2 stored", code, out)
		}
		evs := b.events(t)
		if len(evs) != 2 || evs[0].Type != "deal.creation" || evs[0].Object != "deal" || evs[0].CRMID != "5001" || evs[0].ConnectionID != b.hs ||
			evs[0].OccurredAt == nil || evs[0].OccurredAt.UnixMilli() != 1782371972438 || !strings.Contains(evs[0].Payload, `"eventId":101`) {
			t.Fatalf("stored events: %+v", evs)
		}

		// A replay (HubSpot redelivers with a fresh timestamp) changes nothing.
		code, out = b.post(t, path, body, hubspotHeaders(url, body, time.Now()))
		if code != 200 || !strings.Contains(out, `"duplicates":2`) || len(b.events(t)) != 2 {
			t.Fatalf("replay: got %d %s and %d events, want 200, 2 duplicates, still 2 events", code, out, len(b.events(t)))
		}

		other := []byte(`[{"eventId":103,"subscriptionId":7,"occurredAt":1,"subscriptionType":"deal.deletion","objectId":5003}]`)
		for name, tc := range map[string]struct {
			path   string
			body   []byte
			hdr    map[string]string
			status int
			want   string
		}{
			"wrong secret": {path, other, func() map[string]string {
				h := hubspotHeaders(url, other, time.Now())
				ts := h[server.HeaderHubSpotTimestamp]
				h[server.HeaderHubSpotSignatureV3] = hssandbox.SignatureV3("not-the-secret", "POST", url, other, ts)
				return h
			}(), 401, "does not match"},
			"body changed after signing": {path, other, func() map[string]string {
				return hubspotHeaders(url, []byte(`[]`), time.Now())
			}(), 401, "does not match"},
			"signed for another URL": {path, other, hubspotHeaders(b.srv.URL+"/webhooks/hubspot/other", other, time.Now()), 401, "does not match"},
			"stale timestamp":        {path, other, hubspotHeaders(url, other, time.Now().Add(-6*time.Minute)), 401, "more than 5m0s"},
			"no signature":           {path, other, map[string]string{}, 401, "missing X-HubSpot-Signature-v3"},
			"not json":               {path, []byte(`{"eventId":`), hubspotHeaders(url, []byte(`{"eventId":`), time.Now()), 400, "not a JSON array"},
			"empty array":            {path, []byte(`[]`), hubspotHeaders(url, []byte(`[]`), time.Now()), 400, "empty array"},
			"event without id": {path, []byte(`[{"subscriptionType":"deal.creation","objectId":1}]`),
				hubspotHeaders(url, []byte(`[{"subscriptionType":"deal.creation","objectId":1}]`), time.Now()), 400, "event [0]: eventId is missing"},
			"unknown connection": {"/webhooks/hubspot/nope", other, hubspotHeaders(b.srv.URL+"/webhooks/hubspot/nope", other, time.Now()), 404, `no connection named "nope"`},
			"not configured":     {"/webhooks/hubspot/sf", other, hubspotHeaders(b.srv.URL+"/webhooks/hubspot/sf", other, time.Now()), 404, "webhooks.client_secret"},
			"too large":          {path, append(append([]byte(`[`), bytes.Repeat([]byte(" "), server.MaxBodyBytes)...), ']'), map[string]string{}, 413, "too_large"},
		} {
			t.Run(name, func(t *testing.T) {
				badSig := map[string]string{"source": "hubspot", "outcome": "bad_signature"}
				before := metrictest.Sum(t, b.reg, "mapsync_webhook_requests_total", badSig)
				code, out := b.post(t, tc.path, tc.body, tc.hdr)
				if code != tc.status || !strings.Contains(out, tc.want) {
					t.Fatalf("got %d %s, want %d containing %q", code, out, tc.status, tc.want)
				}
				if n := len(b.events(t)); n != 2 {
					t.Fatalf("refused request stored something: %d events, want 2", n)
				}
				// Each refused signature is counted once, and only those.
				want := before
				if tc.status == http.StatusUnauthorized {
					want++
				}
				if got := metrictest.Sum(t, b.reg, "mapsync_webhook_requests_total", badSig); got != want {
					t.Errorf("bad_signature requests metric: got %v, want %v", got, want)
				}
				if got := metrictest.Sum(t, b.reg, "mapsync_webhook_events_total", map[string]string{"source": "hubspot", "outcome": "stored"}); got != 2 {
					t.Errorf("stored events metric: got %v, want 2", got)
				}
			})
		}
	})
}

// TestHubSpotSandboxWebhooksAccepted: the HubSpot sandbox's own webhooks (signed as HubSpot signs
// them, with duplicates) are accepted as they are, each event stored once.
func TestHubSpotSandboxWebhooksAccepted(t *testing.T) {
	t.Parallel()
	b := setupHooks(t, storetest.Open(t, store.SQLite), sfOrg)
	sb := hssandbox.New(hssandbox.Options{Deals: 3, Seed: 1, Logger: zerolog.Nop()})
	t.Cleanup(sb.Close)
	sb.ConfigureWebhooks(hssandbox.WebhookConfig{TargetURL: b.srv.URL + "/webhooks/hubspot/hs", Duplicates: true, MaxRetries: -1,
		Subscriptions: []hssandbox.Subscription{{Type: "deal.creation"}, {Type: "deal.deletion"}}})
	id, err := sb.CreateDeal(map[string]string{"dealname": "Webhook deal", "amount": "1000"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.ArchiveObject("deals", id); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	st, err := sb.WaitWebhooks(ctx, func(s hssandbox.WebhookStats) bool { return s.DeliveredEvents >= 4 || s.Failures > 0 })
	if err != nil || st.Failures != 0 {
		t.Fatalf("sandbox deliveries: %+v, %v; want 4 delivered events (2 and their duplicates), no failure", st, err)
	}
	// HubSpot does not promise delivery order (nor does its sandbox, which sends concurrently).
	evs := b.events(t)
	types := map[string]int{}
	for _, e := range evs {
		if e.CRMID == id {
			types[e.Type]++
		}
	}
	if len(evs) != 2 || types["deal.creation"] != 1 || types["deal.deletion"] != 1 {
		t.Fatalf("stored: %+v; want the creation and deletion of %s once each", evs, id)
	}
}

// TestSalesforceOutboundMessages: the Salesforce sandbox's outbound messages are stored and
// acknowledged (so Salesforce stops resending); another org's are refused.
func TestSalesforceOutboundMessages(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		sb := sfsandbox.New(sfsandbox.Options{Deals: 3, Seed: 4, Logger: zerolog.Nop()})
		t.Cleanup(sb.Close)
		b := setupHooks(t, s, sb.OrgID())
		if _, err := sb.ConfigureOutbound(sfsandbox.OutboundConfig{ListenerURL: b.srv.URL + "/webhooks/salesforce/sf", Rule: sfsandbox.RuleAnyChange, RetryInitial: time.Hour}); err != nil {
			t.Fatal(err)
		}
		opp := sb.IDs("Opportunity")[0]
		if err := sb.UpdateRecord("Opportunity", opp, map[string]any{"StageName": "Closed Won"}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		var st sfsandbox.OutboundStat
		for ctx.Err() == nil {
			st = sb.OutboundStats()[0]
			if st.Delivered > 0 || st.Failures > 0 {
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
		if st.Delivered != 1 || st.Failures != 0 {
			t.Fatalf("outbound stats: %+v; want 1 delivered (acknowledged), no failure", st)
		}
		evs := b.events(t)
		if len(evs) != 1 || evs[0].Object != "deal" || evs[0].CRMID != opp || evs[0].Source != "salesforce" || evs[0].ConnectionID != b.sf {
			t.Fatalf("stored: %+v", evs)
		}

		msg := func(org, id string) []byte {
			return []byte(fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">
  <OrganizationId>%s</OrganizationId><ActionId>04k000000000001</ActionId>
  <Notification><Id>%s</Id><sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>006000000000009AAA</sf:Id></sObject></Notification>
 </notifications></soapenv:Body></soapenv:Envelope>`, org, id))
		}
		code, out := b.post(t, "/webhooks/salesforce/sf", msg(sb.OrgID()[:15], evs[0].Key), nil)
		if code != 200 || !strings.Contains(out, "<Ack>true</Ack>") || len(b.events(t)) != 1 {
			t.Fatalf("replayed notification: got %d %s, %d events; want the Ack and nothing new", code, out, len(b.events(t)))
		}
		code, out = b.post(t, "/webhooks/salesforce/sf", msg("00D999999999999", "04l000000000777"), nil)
		if code != 401 || !strings.Contains(out, "not the connection's organization") || len(b.events(t)) != 1 {
			t.Fatalf("another org: got %d %s; want 401 and nothing stored", code, out)
		}
		code, out = b.post(t, "/webhooks/salesforce/sf", []byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body/></soapenv:Envelope>`), nil)
		if code != 400 || !strings.Contains(out, "no notifications") {
			t.Fatalf("empty envelope: got %d %s; want 400 naming what is missing", code, out)
		}
	})
}

func TestGenericWebhook(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := setupHooks(t, s, sfOrg)
		oldKey := []byte("an-old-key-rotated-out-0123456789")
		sign := func(id string, at time.Time, body []byte, keys ...[]byte) map[string]string {
			ts := strconv.FormatInt(at.Unix(), 10)
			var sigs []string
			for _, k := range keys {
				sigs = append(sigs, server.SignStandardWebhook(k, id, ts, body))
			}
			return map[string]string{server.HeaderWebhookID: id, server.HeaderWebhookTimestamp: ts, server.HeaderWebhookSignature: strings.Join(sigs, " ")}
		}
		body := []byte(`{"object":"deal","id":"006000000000001AAA","source":"flow"}`)
		// Two signatures during a rotation: the old key's (unknown now) and the current one.
		code, out := b.post(t, "/webhooks/generic/sf", body, sign("msg_1", time.Now(), body, oldKey, whKey))
		if code != 200 || !strings.Contains(out, `"stored":1`) {
			t.Fatalf("signed event: got %d %s", code, out)
		}
		code, out = b.post(t, "/webhooks/generic/sf", body, sign("msg_1", time.Now(), body, whKey))
		if code != 200 || !strings.Contains(out, `"duplicates":1`) {
			t.Fatalf("replay: got %d %s", code, out)
		}
		for name, tc := range map[string]struct {
			body   []byte
			hdr    map[string]string
			status int
			want   string
		}{
			"old key only":    {body, sign("msg_2", time.Now(), body, oldKey), 401, "does not match"},
			"stale":           {body, sign("msg_2", time.Now().Add(-10*time.Minute), body, whKey), 401, "more than 5m0s"},
			"from the future": {body, sign("msg_2", time.Now().Add(10*time.Minute), body, whKey), 401, "more than 5m0s"},
			"no id":           {body, map[string]string{server.HeaderWebhookTimestamp: "1", server.HeaderWebhookSignature: "v1,AAAA"}, 401, "missing webhook-id"},
			"only v1a":        {body, map[string]string{server.HeaderWebhookID: "m", server.HeaderWebhookTimestamp: strconv.FormatInt(time.Now().Unix(), 10), server.HeaderWebhookSignature: "v1a," + base64.StdEncoding.EncodeToString([]byte("x"))}, 401, `no "v1,<base64>" signature`},
			"unknown object":  {[]byte(`{"object":"invoice","id":"1"}`), sign("msg_3", time.Now(), []byte(`{"object":"invoice","id":"1"}`), whKey), 400, `"object" must be deal or contact`},
			"no id in body":   {[]byte(`{"object":"deal"}`), sign("msg_4", time.Now(), []byte(`{"object":"deal"}`), whKey), 400, `"id" is required`},
			"not json":        {[]byte(`deal 1`), sign("msg_5", time.Now(), []byte(`deal 1`), whKey), 400, "not a JSON object"},
		} {
			t.Run(name, func(t *testing.T) {
				code, out := b.post(t, "/webhooks/generic/sf", tc.body, tc.hdr)
				if code != tc.status || !strings.Contains(out, tc.want) {
					t.Fatalf("got %d %s, want %d containing %q", code, out, tc.status, tc.want)
				}
				if n := len(b.events(t)); n != 1 {
					t.Fatalf("refused request stored something: %d events", n)
				}
			})
		}
		if _, out := b.post(t, "/webhooks/generic/sf", []byte(`{}`), sign("msg_9", time.Now(), []byte(`{}`), oldKey)); !strings.HasPrefix(out, "unauthorized: ") {
			t.Fatalf("error shape: got %s, want the API's error body with code unauthorized", out)
		}
	})
}
