package hubspot

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// HubSpot's documented example request (v1 and v2 request-validation pages), reused for v3 with a
// query string in the URI.
const (
	docSecret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
	docBody   = `[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]`
)

// independentV3 computes the v3 signature as HubSpot's docs describe it, without the package's
// code: base64(HMAC-SHA256(key = client secret, message = method + URI + body + timestamp)),
// where the URI is the full URL called, query string included.
func independentV3(secret, method, uri, body, timestamp string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(method + uri + body + timestamp))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// TestSignatureKnownAnswers pins the signature formulas to values computed outside Go:
// v3 with `openssl dgst -sha256 -hmac <secret> -binary | base64` over
// "POST" + "https://www.example.com/webhook_uri?portal=62515&app=54321" + body + "1564113600000",
// and v1 is the hash HubSpot's v1 validation page gives for its example.
func TestSignatureKnownAnswers(t *testing.T) {
	t.Parallel()
	const uri, ts = "https://www.example.com/webhook_uri?portal=62515&app=54321", "1564113600000"
	const wantV3 = "2eEuM6nn4Ryky7shqa3O/8d6R9LDR1obE2LjXxfQl/4="
	if got := independentV3(docSecret, "POST", uri, docBody, ts); got != wantV3 {
		t.Fatalf("the test's own v3 computation gives %s, want %s", got, wantV3)
	}
	if got := SignatureV3(docSecret, "POST", uri, []byte(docBody), ts); got != wantV3 {
		t.Errorf("SignatureV3 = %s, want %s", got, wantV3)
	}
	// Each part matters: another method, no query, another body or timestamp change the value.
	for _, v := range [][4]string{
		{"GET", uri, docBody, ts}, {"POST", "https://www.example.com/webhook_uri", docBody, ts},
		{"POST", uri, docBody + " ", ts}, {"POST", uri, docBody, "1564113600001"},
	} {
		if SignatureV3(docSecret, v[0], v[1], []byte(v[2]), v[3]) == wantV3 {
			t.Errorf("signature of %v equals the known answer", v)
		}
	}
	const wantV1 = "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
	if got := SignatureV1(docSecret, []byte(docBody)); got != wantV1 {
		t.Errorf("SignatureV1 = %s, want HubSpot's documented %s", got, wantV1)
	}
}

// TestDeliveredSignatureV3 checks the header of real deliveries to a target URL with a query
// string against the independent computation.
func TestDeliveredSignatureV3(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 2})
	type delivery struct {
		uri, ts, sig string
		body         []byte
	}
	var mu sync.Mutex
	var got []delivery
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, delivery{uri: srv.URL + r.URL.RequestURI(), ts: r.Header.Get("X-HubSpot-Request-Timestamp"),
			sig: r.Header.Get("X-HubSpot-Signature-v3"), body: body})
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	target := srv.URL + "/hooks/hubspot?portal=24681357&app=3141592"
	b.sb.ConfigureWebhooks(WebhookConfig{TargetURL: target, Subscriptions: []Subscription{{Type: "contact.creation"}}})
	if _, err := b.sb.CreateObject("contacts", map[string]string{"email": "signed@example.com"}); err != nil {
		t.Fatal(err)
	}
	waitEvents(t, b, 1)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("got %d deliveries, want 1", len(got))
	}
	d := got[0]
	if d.uri != target {
		t.Fatalf("delivered to %s, want %s", d.uri, target)
	}
	if want := independentV3(ClientSecret, "POST", target, string(d.body), d.ts); d.sig != want {
		t.Errorf("X-HubSpot-Signature-v3 = %q, want %q (method + full URI with query + body + timestamp)", d.sig, want)
	}
	if ms := parseMillis(t, d.ts); time.Since(ms) > time.Minute || time.Since(ms) < 0 {
		t.Errorf("timestamp %s is not the sending time in epoch ms", d.ts)
	}
}

func parseMillis(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := parseTimeValue(s)
	if err != nil || !isEpochMillis(s) {
		t.Fatalf("timestamp %q is not epoch milliseconds", s)
	}
	return tm
}
