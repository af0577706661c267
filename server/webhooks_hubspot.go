package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/inbox"
)

// HubSpot's webhook request headers.
const (
	HeaderHubSpotSignatureV3 = "X-HubSpot-Signature-v3"
	HeaderHubSpotTimestamp   = "X-HubSpot-Request-Timestamp"
)

// hubspot receives POST /webhooks/hubspot/{connection}: a JSON array of up to 100 events, signed
// v3. Every event is stored (new ones; redeliveries are recognised) before the 200.
func (h *Webhooks) hubspot(w http.ResponseWriter, r *http.Request) {
	const source = store.WebhookHubSpot
	c, body, ok := h.receive(w, r, source, "hubspot", func(c *WebhookConnection) bool { return c.ClientSecret != "" }, "client_secret (the HubSpot app's client secret)")
	if !ok {
		return
	}
	if err := VerifyHubSpotV3(c.ClientSecret, r.Method, h.calledURLs(r), body,
		r.Header.Get(HeaderHubSpotTimestamp), r.Header.Get(HeaderHubSpotSignatureV3), h.opts.Now(), c.Tolerance); err != nil {
		h.fail(w, r, source, err)
		return
	}
	events, raws, err := inbox.ParseHubSpotEvents(body)
	if err != nil {
		h.fail(w, r, source, malformed("%v", err))
		return
	}
	batch := make([]store.NewWebhookEvent, len(events))
	for i, e := range events {
		var at *time.Time
		if e.OccurredAt > 0 {
			t := time.UnixMilli(e.OccurredAt).UTC()
			at = &t
		}
		batch[i] = store.NewWebhookEvent{ConnectionID: c.ID, Source: source, Key: e.Key(), Type: e.SubscriptionType,
			Object: e.Object(), CRMID: e.Subject(), OccurredAt: at, Payload: string(raws[i])}
	}
	stored, err := h.save(r.Context(), source, batch)
	if err != nil {
		h.fail(w, r, source, err)
		return
	}
	h.accepted(source)
	writeJSON(w, http.StatusOK, map[string]int{"received": len(batch), "stored": stored, "duplicates": len(batch) - stored})
}

// calledURLs are the URLs HubSpot may have signed for r: the configured public URL with the
// request's path and query, and the request's own scheme and Host with them; each as received
// and percent-decoded (HubSpot's docs decode escapes in the URI; its SDKs hash it as given).
func (h *Webhooks) calledURLs(r *http.Request) []string {
	uri := r.URL.RequestURI()
	var bases []string
	if h.opts.PublicURL != "" {
		bases = append(bases, strings.TrimRight(h.opts.PublicURL, "/"))
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	bases = append(bases, scheme+"://"+r.Host)
	var out []string
	for _, b := range bases {
		u := b + uri
		out = append(out, u)
		if d, err := url.PathUnescape(u); err == nil && d != u {
			out = append(out, d)
		}
	}
	return out
}

// VerifyHubSpotV3 checks a HubSpot v3 signature: base64(HMAC-SHA256(clientSecret, method + uri +
// body + timestamp)) for one of the candidate URIs, compared in constant time, with a timestamp
// (epoch milliseconds) no further than tolerance from now. Its errors are 401 refusals that say
// what is wrong, never the expected signature.
func VerifyHubSpotV3(clientSecret, method string, uris []string, body []byte, timestamp, signature string, now time.Time, tolerance time.Duration) error {
	if signature == "" {
		return badSignature("missing %s header", HeaderHubSpotSignatureV3)
	}
	if timestamp == "" {
		return badSignature("missing %s header", HeaderHubSpotTimestamp)
	}
	ms, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return badSignature("%s is not epoch milliseconds", HeaderHubSpotTimestamp)
	}
	if age := now.Sub(time.UnixMilli(ms)); age > tolerance || age < -tolerance {
		return badSignature("%s is %s from now: more than %s (a replayed or delayed request)", HeaderHubSpotTimestamp, age.Round(time.Second), tolerance)
	}
	got, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return badSignature("%s is not base64", HeaderHubSpotSignatureV3)
	}
	for _, uri := range uris {
		m := hmac.New(sha256.New, []byte(clientSecret))
		m.Write([]byte(method + uri))
		m.Write(body)
		m.Write([]byte(timestamp))
		if hmac.Equal(m.Sum(nil), got) {
			return nil
		}
	}
	return badSignature("%s does not match (check the connection's webhooks.client_secret and server.public_url: HubSpot signs the URL it called)", HeaderHubSpotSignatureV3)
}
