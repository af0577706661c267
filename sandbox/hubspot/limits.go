package hubspot

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Rate-limit policies and messages HubSpot sends with a 429.
const (
	policyTenSecondly = "TEN_SECONDLY_ROLLING"
	policyDaily       = "DAILY"
	msgTenSecondly    = "You have reached your ten_secondly_rolling limit."
	msgDaily          = "You have reached your daily limit."
	msgSearchSecondly = "You have reached your secondly limit."
	burstWindow       = 10 * time.Second
	searchWindow      = time.Second
)

// Default limits, used when the Options leave them 0.
const (
	// DefaultBurstLimit is the non-search API calls per rolling 10 s of a Professional
	// private app.
	DefaultBurstLimit = 190
	// DefaultDailyLimit is the API calls per day of a Professional account.
	DefaultDailyLimit = 625_000
	// DefaultSearchPerSecond is the search requests allowed per second.
	DefaultSearchPerSecond = 5
)

// window is a rolling-window counter: the times of the admitted requests still inside the
// window, in a ring whose capacity is the limit.
type window struct {
	limit int
	span  time.Duration
	ring  []time.Time
	head  int
	n     int
}

func newWindow(limit int, span time.Duration) *window {
	if limit <= 0 {
		return nil
	}
	return &window{limit: limit, span: span, ring: make([]time.Time, limit)}
}

func (w *window) expire(now time.Time) {
	for w.n > 0 && !w.ring[w.head].After(now.Add(-w.span)) {
		w.head = (w.head + 1) % w.limit
		w.n--
	}
}

// admit records a request at now unless the window is full.
func (w *window) admit(now time.Time) bool {
	w.expire(now)
	if w.n >= w.limit {
		return false
	}
	w.ring[(w.head+w.n)%w.limit] = now
	w.n++
	return true
}

func (w *window) remaining(now time.Time) int {
	w.expire(now)
	return w.limit - w.n
}

// limiter enforces the burst (rolling 10 s), daily and search (per second) limits.
type limiter struct {
	mu       sync.Mutex
	burst    *window // nil when disabled
	search   *window
	daily    int // <= 0: no daily limit
	dayUsed  int
	dayStart time.Time
}

func newLimiter(opts Options) *limiter {
	l := &limiter{}
	l.configure(opts.BurstLimit, opts.DailyLimit, opts.SearchPerSecond)
	return l
}

// configure sets the limits with Options' meaning (0: the default, negative: none) and starts
// fresh rolling windows; the caller holds l.mu or owns l.
func (l *limiter) configure(burst, daily, search int) {
	if burst == 0 {
		burst = DefaultBurstLimit
	}
	if daily == 0 {
		daily = DefaultDailyLimit
	}
	if search == 0 {
		search = DefaultSearchPerSecond
	}
	l.burst, l.search, l.daily = newWindow(burst, burstWindow), newWindow(search, searchWindow), daily
}

// Limits describes the simulated rate limits; a negative limit means none.
type Limits struct {
	// BurstLimit is the non-search API calls per rolling 10 s; BurstRemaining what is left now.
	BurstLimit     int `json:"burstLimit"`
	BurstRemaining int `json:"burstRemaining"`
	// DailyLimit is the API calls per UTC day; DailyUsed those counted today.
	DailyLimit int `json:"dailyLimit"`
	DailyUsed  int `json:"dailyUsed"`
	// SearchPerSecond is the search requests allowed per second.
	SearchPerSecond int `json:"searchPerSecond"`
}

// SetLimits changes the rate limits as Options.BurstLimit, DailyLimit and SearchPerSecond would
// (0: the default, negative: none). The rolling windows start empty; today's daily count is kept.
func (s *Sandbox) SetLimits(burst, daily, searchPerSecond int) {
	l := s.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	l.configure(burst, daily, searchPerSecond)
}

// SetDailyUsage sets the API calls already counted today (e.g. to run into the DAILY 429 fast).
func (s *Sandbox) SetDailyUsage(used int) {
	l := s.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rollDay(s.now())
	l.dayUsed = max(0, used)
}

// Limits returns the current limits and usage.
func (s *Sandbox) Limits() Limits {
	l := s.limits
	now := s.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rollDay(now)
	out := Limits{BurstLimit: -1, BurstRemaining: -1, DailyLimit: -1, DailyUsed: l.dayUsed, SearchPerSecond: -1}
	if l.burst != nil {
		out.BurstLimit, out.BurstRemaining = l.burst.limit, l.burst.remaining(now)
	}
	if l.daily > 0 {
		out.DailyLimit = l.daily
	}
	if l.search != nil {
		out.SearchPerSecond = l.search.limit
	}
	return out
}

// admit decides whether a request may run. For non-search API calls it sets the rate-limit
// headers (daily ones only for private-app tokens, as HubSpot leaves them out for OAuth apps).
// It writes the 429 itself and returns false when a limit is reached.
func (l *limiter) admit(w http.ResponseWriter, now time.Time, search, oauth bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rollDay(now)
	if search {
		if l.search != nil && !l.search.admit(now) {
			writeJSON(w, http.StatusTooManyRequests, apiError{Status: "error", Message: msgSearchSecondly,
				CorrelationID: newCorrelationID(), Category: catRateLimits})
			return false
		}
		if l.daily > 0 && l.dayUsed >= l.daily {
			writeRateLimited(w, policyDaily)
			return false
		}
		l.dayUsed++
		return true
	}
	dailyExceeded := l.daily > 0 && l.dayUsed >= l.daily
	burstOK := true
	if !dailyExceeded && l.burst != nil {
		burstOK = l.burst.admit(now)
	}
	if !dailyExceeded && burstOK {
		l.dayUsed++
	}
	l.setHeaders(w.Header(), now, oauth, false)
	switch {
	case dailyExceeded:
		writeRateLimited(w, policyDaily)
		return false
	case !burstOK:
		writeRateLimited(w, policyTenSecondly)
		return false
	}
	return true
}

// setHeaders sets the X-HubSpot-RateLimit-* headers of a non-search response (the daily ones
// only for private-app tokens); burstSpent reports no burst capacity left whatever the window
// says (an injected ten-secondly 429). The caller holds l.mu.
func (l *limiter) setHeaders(h http.Header, now time.Time, oauth, burstSpent bool) {
	if l.burst != nil {
		remaining := l.burst.remaining(now)
		if burstSpent {
			remaining = 0
		}
		h.Set("X-HubSpot-RateLimit-Max", strconv.Itoa(l.burst.limit))
		h.Set("X-HubSpot-RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", strconv.Itoa(int(burstWindow/time.Millisecond)))
	}
	if l.daily > 0 && !oauth {
		h.Set("X-HubSpot-RateLimit-Daily", strconv.Itoa(l.daily))
		h.Set("X-HubSpot-RateLimit-Daily-Remaining", strconv.Itoa(max(0, l.daily-l.dayUsed)))
	}
}

// faultHeaders sets the rate-limit headers on the answer of an injected fault, without counting
// the request: HubSpot sends them on every non-search response, errors included.
func (l *limiter) faultHeaders(h http.Header, now time.Time, oauth, burstSpent bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rollDay(now)
	l.setHeaders(h, now, oauth, burstSpent)
}

// rollDay starts a new daily count when now is on another UTC day; the caller holds l.mu.
func (l *limiter) rollDay(now time.Time) {
	if day := now.UTC().Truncate(24 * time.Hour); !day.Equal(l.dayStart) {
		l.dayStart, l.dayUsed = day, 0
	}
}

// writeRateLimited writes HubSpot's 429 body for policy.
func writeRateLimited(w http.ResponseWriter, policy string) {
	msg := msgTenSecondly
	if policy == policyDaily {
		msg = msgDaily
	}
	id := newCorrelationID()
	writeJSON(w, http.StatusTooManyRequests, apiError{Status: "error", Message: msg, ErrorType: "RATE_LIMIT",
		CorrelationID: id, PolicyName: policy, RequestID: id})
}

// usage reports the calls counted today and the daily limit.
func (l *limiter) usage() (used, daily int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dayUsed, l.daily
}
