package connectors

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// CRM names a CRM family; it selects the error and limit-header dialect.
type CRM string

// The CRMs mapsync talks to.
const (
	CRMSalesforce CRM = "salesforce"
	CRMHubSpot    CRM = "hubspot"
)

// maxMessage bounds the CRM message copied into an *Error.
const maxMessage = 500

// ClassifyResponse turns a non-2xx CRM response into an *Error:
//   - 401: KindAuth (the client refreshes the token once before giving up).
//   - 429: KindRateLimited. RetryAfter comes from Retry-After (seconds or HTTP-date); for HubSpot,
//     TEN_SECONDLY_ROLLING waits X-HubSpot-RateLimit-Interval-Milliseconds (default 10 s), the search
//     "secondly limit" waits 1 s, and DAILY gets no RetryAfter (not retried quickly).
//   - Salesforce 403 REQUEST_LIMIT_EXCEEDED: KindRateLimited without RetryAfter (daily quota).
//   - 408 and 5xx: KindTransient, with Retry-After when sent.
//   - any other status: KindPermanent.
//
// Code and Message come from the body: Salesforce [{errorCode, message}], OAuth {error,
// error_description}, HubSpot {category or policyName, message}.
func ClassifyResponse(crm CRM, status int, h http.Header, body []byte, now time.Time) *Error {
	code, msg, policy := parseErrorBody(body)
	if msg == "" {
		msg = http.StatusText(status)
	}
	if len(msg) > maxMessage {
		msg = msg[:maxMessage] + "…"
	}
	e := &Error{Status: status, Code: code, Message: msg}
	retryAfter, hasRetryAfter := ParseRetryAfter(h.Get("Retry-After"), now)
	switch {
	case status == http.StatusUnauthorized:
		e.Kind = KindAuth
	case status == http.StatusTooManyRequests:
		e.Kind = KindRateLimited
		switch {
		case crm == CRMHubSpot && policy == "DAILY":
			e.Code = policy
		case hasRetryAfter:
			e.RetryAfter = retryAfter
		case crm == CRMHubSpot && policy == "TEN_SECONDLY_ROLLING":
			e.Code = policy
			e.RetryAfter = 10 * time.Second
			if ms, err := strconv.Atoi(h.Get("X-HubSpot-RateLimit-Interval-Milliseconds")); err == nil && ms > 0 {
				e.RetryAfter = time.Duration(ms) * time.Millisecond
			}
		case crm == CRMHubSpot && strings.Contains(msg, "secondly limit"):
			e.RetryAfter = time.Second
		default:
			e.RetryAfter = time.Second
		}
		if policy != "" && e.Code == "" {
			e.Code = policy
		}
	case status == http.StatusForbidden && code == "REQUEST_LIMIT_EXCEEDED":
		e.Kind = KindRateLimited
	case status == http.StatusRequestTimeout || status >= 500:
		e.Kind = KindTransient
		if hasRetryAfter {
			e.RetryAfter = retryAfter
		}
	default:
		e.Kind = KindPermanent
	}
	return e
}

// parseErrorBody extracts a code, a message and a rate-limit policy name from the error bodies of
// both CRMs and of OAuth token endpoints.
func parseErrorBody(body []byte) (code, msg, policy string) {
	body = []byte(strings.TrimSpace(string(body)))
	if len(body) == 0 {
		return "", "", ""
	}
	switch body[0] {
	case '[':
		var arr []struct {
			ErrorCode  string `json:"errorCode"`
			StatusCode string `json:"statusCode"`
			Message    string `json:"message"`
		}
		if json.Unmarshal(body, &arr) == nil && len(arr) > 0 {
			return firstNonEmpty(arr[0].ErrorCode, arr[0].StatusCode), arr[0].Message, ""
		}
	case '{':
		var obj struct {
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
			Status           string `json:"status"`
			Message          string `json:"message"`
			Category         string `json:"category"`
			PolicyName       string `json:"policyName"`
			ErrorType        string `json:"errorType"`
		}
		if json.Unmarshal(body, &obj) == nil {
			code := firstNonEmpty(obj.Error, obj.PolicyName, obj.Category, obj.ErrorType)
			if obj.Status != "" && obj.Status != "error" {
				code = firstNonEmpty(code, obj.Status)
			}
			return code, firstNonEmpty(obj.ErrorDescription, obj.Message), obj.PolicyName
		}
	}
	s := string(body)
	if len(s) > maxMessage {
		s = s[:maxMessage]
	}
	return "", s, ""
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// ParseRetryAfter reads a Retry-After header in either form: delay-seconds or an HTTP-date
// (relative to now). It reports false when the header is absent or unreadable; a date in the past
// gives 0, and a delay too long for a time.Duration the longest one (never a negative wait).
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(math.MaxInt64/time.Second) { // would overflow into a negative wait
			return time.Duration(math.MaxInt64), true
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// Usage is what a CRM's limit headers said about the connection's budget.
type Usage struct {
	// DailyUsed and DailyMax are the daily (Salesforce: rolling 24 h) calls used and allowed; DailyMax
	// is 0 when the response did not say.
	DailyUsed, DailyMax int64
	// WindowMax and WindowRemaining describe a short rolling window of length Window (HubSpot's
	// 10-second limit); Window is 0 when the response did not say.
	WindowMax, WindowRemaining int
	// Window is the length of the short window.
	Window time.Duration
}

// ParseUsage reads the limit headers of a CRM response: Salesforce "Sforce-Limit-Info:
// api-usage=N/M"; HubSpot X-HubSpot-RateLimit-Max, -Remaining, -Interval-Milliseconds, -Daily and
// -Daily-Remaining.
func ParseUsage(crm CRM, h http.Header) Usage {
	var u Usage
	switch crm {
	case CRMSalesforce:
		info := h.Get("Sforce-Limit-Info")
		for part := range strings.SplitSeq(info, ";") {
			part = strings.TrimSpace(part)
			rest, ok := strings.CutPrefix(part, "api-usage=")
			if !ok {
				continue
			}
			a, b, ok := strings.Cut(rest, "/")
			if !ok {
				continue
			}
			used, err1 := strconv.ParseInt(a, 10, 64)
			max, err2 := strconv.ParseInt(b, 10, 64)
			if err1 == nil && err2 == nil && max > 0 {
				u.DailyUsed, u.DailyMax = used, max
			}
		}
	case CRMHubSpot:
		atoi := func(k string) int {
			n, err := strconv.Atoi(h.Get(k))
			if err != nil {
				return -1
			}
			return n
		}
		if max, rem, ms := atoi("X-HubSpot-RateLimit-Max"), atoi("X-HubSpot-RateLimit-Remaining"), atoi("X-HubSpot-RateLimit-Interval-Milliseconds"); max > 0 && rem >= 0 && ms > 0 {
			u.WindowMax, u.WindowRemaining, u.Window = max, rem, time.Duration(ms)*time.Millisecond
		}
		if max, rem := atoi("X-HubSpot-RateLimit-Daily"), atoi("X-HubSpot-RateLimit-Daily-Remaining"); max > 0 && rem >= 0 {
			u.DailyMax, u.DailyUsed = int64(max), int64(max-rem)
		}
	}
	return u
}
