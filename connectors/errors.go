package connectors

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind says what a caller should do about an *Error.
type Kind int

// The kinds of connector errors.
const (
	// KindTransient is a failure that may go away: 5xx, timeout, connection reset, row lock. Retry later.
	KindTransient Kind = iota + 1
	// KindPermanent will fail the same way again: bad request, validation, unknown field. Do not retry
	// as is.
	KindPermanent
	// KindRateLimited means the CRM (or our own governor) refused for rate or quota reasons. Retry
	// after RetryAfter when it is set, otherwise after a long pause (daily quotas).
	KindRateLimited
	// KindAuth means the CRM rejected the credentials even after one refresh, or refused to talk to
	// the configured host. An operator should look.
	KindAuth
	// KindNeedsReauth means the refresh token is revoked or expired (invalid_grant): nothing works
	// until an admin connects again. The connection has been reported through ReauthReporter.
	KindNeedsReauth
)

// String returns the kind's lowercase name.
func (k Kind) String() string {
	switch k {
	case KindTransient:
		return "transient"
	case KindPermanent:
		return "permanent"
	case KindRateLimited:
		return "rate_limited"
	case KindAuth:
		return "auth"
	case KindNeedsReauth:
		return "needs_reauth"
	}
	return "unknown"
}

// Error is a failure talking to a CRM, or a failed record of a batch write. It never holds tokens,
// headers or request bodies.
type Error struct {
	// Kind classifies the error.
	Kind Kind
	// Status is the HTTP status, 0 when no response arrived.
	Status int
	// Code is the CRM's error code (Salesforce errorCode/statusCode, HubSpot category or policy).
	Code string
	// Message is the CRM's message, or ours.
	Message string
	// Fields names the record fields the error is about, when the CRM says.
	Fields []string
	// RetryAfter is how long to wait before retrying, when known (Retry-After, rate limit windows).
	RetryAfter time.Duration
	// Err is the underlying cause (network error, decode error), if any.
	Err error
}

// Error formats the error as "<kind> <status> <code>: <message>: <cause>", leaving out empty parts.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.String())
	if e.Status != 0 {
		fmt.Fprintf(&b, " %d", e.Status)
	}
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Fields) > 0 {
		fmt.Fprintf(&b, " (fields %s)", strings.Join(e.Fields, ", "))
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of the first *Error in err's chain, or 0 when there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// IsRetryable reports whether retrying later may succeed: transient and rate-limited errors.
func IsRetryable(err error) bool {
	switch KindOf(err) {
	case KindTransient, KindRateLimited:
		return true
	}
	return false
}

// RetryAfter returns the delay the CRM asked for, or 0 when it gave none.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
