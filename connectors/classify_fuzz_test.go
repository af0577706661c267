package connectors

import (
	"net/http"
	"testing"
	"time"
)

var fuzzNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// FuzzParseRetryAfter: any Retry-After value reads as a delay that is never negative, or as
// absent; delay-seconds read exactly.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "5", " 12 ", "-1", "1.5", "9223372036854775807", "99999999999999999999",
		"Sun, 01 Nov 2026 12:00:30 GMT", "Sun, 01 Nov 2026 11:00:00 GMT", "Sunday, 01-Nov-26 12:00:30 GMT", "Mon Jan  2 15:04:05 2006", "soon"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := ParseRetryAfter(v, fuzzNow)
		if d < 0 || (!ok && d != 0) {
			t.Fatalf("ParseRetryAfter(%q) = %s, %v", v, d, ok)
		}
	})
}

// FuzzClassifyResponse: any error reply (status, Retry-After, HubSpot interval header, body) of
// either CRM classifies without a panic into an *Error of a known kind, with a bounded message
// and a wait that is never negative.
func FuzzClassifyResponse(f *testing.F) {
	seeds := []struct {
		status         int
		retryAfter, ms string
		body           string
	}{
		{429, "3", "", `{"status":"error","message":"You have reached your ten_secondly_rolling limit.","category":"RATE_LIMITS","policyName":"TEN_SECONDLY_ROLLING"}`},
		{429, "", "10000", `{"policyName":"DAILY","message":"daily"}`},
		{429, "", "-5", `{"message":"You have reached your secondly limit."}`},
		{403, "", "", `[{"errorCode":"REQUEST_LIMIT_EXCEEDED","message":"TotalRequests Limit exceeded."}]`},
		{400, "", "", `{"error":"invalid_grant","error_description":"expired access/refresh token"}`},
		{401, "", "", `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`},
		{503, "Sun, 01 Nov 2026 12:01:00 GMT", "", `<html>down</html>`},
		{500, "", "", ``}, {0, "", "", `[`}, {999, "x", "y", `[{}]`}, {404, "", "", `{"message":null}`},
	}
	for _, s := range seeds {
		f.Add(s.status, s.retryAfter, s.ms, []byte(s.body))
	}
	kinds := map[Kind]bool{KindAuth: true, KindRateLimited: true, KindTransient: true, KindPermanent: true}
	f.Fuzz(func(t *testing.T, status int, retryAfter, ms string, body []byte) {
		h := http.Header{}
		h.Set("Retry-After", retryAfter)
		h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", ms)
		for _, crm := range []CRM{CRMSalesforce, CRMHubSpot} {
			e := ClassifyResponse(crm, status, h, body, fuzzNow)
			if e == nil || !kinds[e.Kind] || e.Status != status {
				t.Fatalf("%s %d: got %+v", crm, status, e)
			}
			if e.RetryAfter < 0 || len(e.Message) > maxMessage+len("…") {
				t.Fatalf("%s %d: wait %s, message of %d bytes", crm, status, e.RetryAfter, len(e.Message))
			}
			if e.Error() == "" {
				t.Fatalf("%s %d: empty error text", crm, status)
			}
		}
	})
}

// FuzzParseUsage: any limit headers read as usage that is never negative where it counts calls
// left, or as nothing.
func FuzzParseUsage(f *testing.F) {
	f.Add("api-usage=10/15000", "100", "99", "10000", "250000", "249000")
	f.Add("api-usage=15001/15000; per-app-api-usage=1/10(appName=x)", "0", "-1", "x", "", "")
	f.Add("api-usage=/", "9223372036854775807", "9223372036854775807", "1", "9223372036854775807", "-9223372036854775808")
	f.Fuzz(func(t *testing.T, sforce, max, rem, ms, daily, dailyRem string) {
		h := http.Header{}
		h.Set("Sforce-Limit-Info", sforce)
		h.Set("X-HubSpot-RateLimit-Max", max)
		h.Set("X-HubSpot-RateLimit-Remaining", rem)
		h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", ms)
		h.Set("X-HubSpot-RateLimit-Daily", daily)
		h.Set("X-HubSpot-RateLimit-Daily-Remaining", dailyRem)
		for _, crm := range []CRM{CRMSalesforce, CRMHubSpot} {
			u := ParseUsage(crm, h)
			if u.DailyMax < 0 || u.WindowMax < 0 || u.WindowRemaining < 0 || u.Window < 0 {
				t.Fatalf("%s: %+v", crm, u)
			}
			if (u.Window == 0) != (u.WindowMax == 0) {
				t.Fatalf("%s: a window without its size or the reverse: %+v", crm, u)
			}
		}
	})
}
