package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/inbox"
)

// Standard Webhooks headers.
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// VerifyStandardWebhook checks a request signed per the Standard Webhooks spec: webhook-signature
// is a space-separated list of "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>", and one of them
// made with one of keys (several during a rotation) must match, compared in constant time; the
// timestamp (Unix seconds) must be within tolerance of now. Other versions (v1a) are skipped.
func VerifyStandardWebhook(keys [][]byte, id, timestamp, signatures string, body []byte, now time.Time, tolerance time.Duration) error {
	switch {
	case id == "":
		return badSignature("missing %s header", HeaderWebhookID)
	case timestamp == "":
		return badSignature("missing %s header", HeaderWebhookTimestamp)
	case signatures == "":
		return badSignature("missing %s header", HeaderWebhookSignature)
	case len(id) > 256:
		return badSignature("%s is over 256 characters", HeaderWebhookID)
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return badSignature("%s is not Unix seconds", HeaderWebhookTimestamp)
	}
	if age := now.Sub(time.Unix(sec, 0)); age > tolerance || age < -tolerance {
		return badSignature("%s is %s from now: more than %s (a replayed or delayed request)", HeaderWebhookTimestamp, age.Round(time.Second), tolerance)
	}
	var sigs [][]byte
	for _, s := range strings.Fields(signatures) {
		version, value, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		if b, err := base64.StdEncoding.DecodeString(value); err == nil {
			sigs = append(sigs, b)
		}
	}
	if len(sigs) == 0 {
		return badSignature(`%s has no "v1,<base64>" signature`, HeaderWebhookSignature)
	}
	for _, k := range keys {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(id + "." + timestamp + "."))
		m.Write(body)
		want := m.Sum(nil)
		for _, s := range sigs {
			if hmac.Equal(want, s) {
				return nil
			}
		}
	}
	return badSignature("%s does not match any of the connection's webhooks.secrets", HeaderWebhookSignature)
}

// SignStandardWebhook returns the webhook-signature value for body signed with key ("v1,<base64>").
func SignStandardWebhook(key []byte, id, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + timestamp + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// generic receives POST /webhooks/generic/{connection}: {"object":"deal","id":"..."} from a Flow
// HTTP callout, Zapier and the like, signed per Standard Webhooks; webhook-id dedupes.
func (h *Webhooks) generic(w http.ResponseWriter, r *http.Request) {
	const source = store.WebhookGeneric
	c, body, ok := h.receive(w, r, source, "generic", func(c *WebhookConnection) bool { return len(c.Keys) > 0 }, "secrets")
	if !ok {
		return
	}
	id := r.Header.Get(HeaderWebhookID)
	if err := VerifyStandardWebhook(c.Keys, id, r.Header.Get(HeaderWebhookTimestamp), r.Header.Get(HeaderWebhookSignature), body, h.opts.Now(), c.Tolerance); err != nil {
		h.fail(w, r, source, err)
		return
	}
	e, err := inbox.ParseGenericEvent(body)
	if err != nil {
		h.fail(w, r, source, malformed("%v", err))
		return
	}
	stored, err := h.save(r.Context(), source, []store.NewWebhookEvent{{ConnectionID: c.ID, Source: source, Key: id,
		Type: e.Object, Object: e.Object, CRMID: e.ID, Payload: string(body)}})
	if err != nil {
		h.fail(w, r, source, err)
		return
	}
	h.accepted(source)
	writeJSON(w, http.StatusOK, map[string]int{"received": 1, "stored": stored, "duplicates": 1 - stored})
}
