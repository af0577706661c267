package connectors

import (
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		"absent":         {in: "", want: 0, wantOK: false},
		"integer value":  {in: "7", want: 7 * time.Second, wantOK: true},
		"zero":           {in: "0", want: 0, wantOK: true},
		"negative":       {in: "-3", want: 0, wantOK: false},
		"HTTP-date":      {in: "Mon, 23 Nov 2026 12:00:30 GMT", want: 30 * time.Second, wantOK: true},
		"HTTP-date past": {in: "Mon, 23 Nov 2026 11:00:00 GMT", want: 0, wantOK: true},
		"garbage":        {in: "soon", want: 0, wantOK: false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, ok := ParseRetryAfter(tt.in, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("ParseRetryAfter(%q) = %s, %v; want %s, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestClassifyResponse(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		crm        CRM
		status     int
		header     map[string]string
		body       string
		wantKind   Kind
		wantCode   string
		wantRetry  time.Duration
		wantRetryS bool
	}{
		{name: "salesforce 503 burst", crm: CRMSalesforce, status: 503, body: `[{"message":"down","errorCode":"SERVER_UNAVAILABLE"}]`, wantKind: KindTransient, wantCode: "SERVER_UNAVAILABLE"},
		{name: "5xx with retry-after", crm: CRMSalesforce, status: 503, header: map[string]string{"Retry-After": "3"}, wantKind: KindTransient, wantRetry: 3 * time.Second},
		{name: "salesforce daily quota", crm: CRMSalesforce, status: 403, body: `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`, wantKind: KindRateLimited, wantCode: "REQUEST_LIMIT_EXCEEDED", wantRetry: 0},
		{name: "salesforce other 403", crm: CRMSalesforce, status: 403, body: `[{"message":"no","errorCode":"INSUFFICIENT_ACCESS"}]`, wantKind: KindPermanent, wantCode: "INSUFFICIENT_ACCESS"},
		{name: "salesforce expired session", crm: CRMSalesforce, status: 401, body: `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`, wantKind: KindAuth, wantCode: "INVALID_SESSION_ID"},
		{name: "salesforce malformed query", crm: CRMSalesforce, status: 400, body: `[{"message":"unexpected token: FRM","errorCode":"MALFORMED_QUERY"}]`, wantKind: KindPermanent, wantCode: "MALFORMED_QUERY"},
		{name: "429 retry-after seconds", crm: CRMSalesforce, status: 429, header: map[string]string{"Retry-After": "2"}, wantKind: KindRateLimited, wantRetry: 2 * time.Second},
		{name: "429 retry-after date", crm: CRMSalesforce, status: 429, header: map[string]string{"Retry-After": "Mon, 23 Nov 2026 12:00:05 GMT"}, wantKind: KindRateLimited, wantRetry: 5 * time.Second},
		{name: "hubspot ten secondly", crm: CRMHubSpot, status: 429, header: map[string]string{"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}, body: `{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","policyName":"TEN_SECONDLY_ROLLING"}`, wantKind: KindRateLimited, wantCode: "TEN_SECONDLY_ROLLING", wantRetry: 10 * time.Second},
		{name: "hubspot daily", crm: CRMHubSpot, status: 429, header: map[string]string{"Retry-After": "5"}, body: `{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","policyName":"DAILY"}`, wantKind: KindRateLimited, wantCode: "DAILY", wantRetry: 0},
		{name: "hubspot search secondly", crm: CRMHubSpot, status: 429, body: `{"status":"error","message":"You have reached your secondly limit.","category":"RATE_LIMITS"}`, wantKind: KindRateLimited, wantCode: "RATE_LIMITS", wantRetry: time.Second},
		{name: "oauth invalid grant", crm: CRMSalesforce, status: 400, body: `{"error":"invalid_grant","error_description":"expired access/refresh token"}`, wantKind: KindPermanent, wantCode: "invalid_grant"},
		{name: "not json", crm: CRMSalesforce, status: 502, body: `<html>bad gateway</html>`, wantKind: KindTransient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			e := ClassifyResponse(tt.crm, tt.status, h, []byte(tt.body), now)
			if e.Kind != tt.wantKind {
				t.Errorf("kind: got %s, want %s", e.Kind, tt.wantKind)
			}
			if tt.wantCode != "" && e.Code != tt.wantCode {
				t.Errorf("code: got %q, want %q", e.Code, tt.wantCode)
			}
			if e.RetryAfter != tt.wantRetry {
				t.Errorf("retry after: got %s, want %s", e.RetryAfter, tt.wantRetry)
			}
			if e.Status != tt.status {
				t.Errorf("status: got %d, want %d", e.Status, tt.status)
			}
		})
	}
}

func TestParseUsage(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		crm    CRM
		header map[string]string
		want   Usage
	}{
		"salesforce":        {crm: CRMSalesforce, header: map[string]string{"Sforce-Limit-Info": "api-usage=18/5000"}, want: Usage{DailyUsed: 18, DailyMax: 5000}},
		"salesforce bursts": {crm: CRMSalesforce, header: map[string]string{"Sforce-Limit-Info": "api-usage=18/5000; api-bursts=1/750"}, want: Usage{DailyUsed: 18, DailyMax: 5000}},
		"salesforce absent": {crm: CRMSalesforce, want: Usage{}},
		"hubspot": {crm: CRMHubSpot, header: map[string]string{
			"X-HubSpot-RateLimit-Max": "190", "X-HubSpot-RateLimit-Remaining": "12", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
			"X-HubSpot-RateLimit-Daily": "625000", "X-HubSpot-RateLimit-Daily-Remaining": "600000",
		}, want: Usage{DailyUsed: 25000, DailyMax: 625000, WindowMax: 190, WindowRemaining: 12, Window: 10 * time.Second}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			if got := ParseUsage(tt.crm, h); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
