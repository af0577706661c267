package hubspot

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Rate-limit policies and messages HubSpot sends with a 429.
const (
	policyTenSecondly  = "TEN_SECONDLY_ROLLING"
	policyDaily        = "DAILY"
	msgTenSecondly     = "You have reached your ten_secondly_rolling limit."
	msgDaily           = "You have reached your daily limit."
	msgSearchSecondly  = "You have reached your secondly limit."
	burstWindow        = 10 * time.Second
	searchWindow       = time.Second
	defaultBurstLimit  = 190
	defaultDailyLimit  = 625_000
	defaultSearchLimit = 5
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
	burst := opts.BurstLimit
	if burst == 0 {
		burst = defaultBurstLimit
	}
	daily := opts.DailyLimit
	if daily == 0 {
		daily = defaultDailyLimit
	}
	search := opts.SearchPerSecond
	if search == 0 {
		search = defaultSearchLimit
	}
	return &limiter{burst: newWindow(burst, burstWindow), search: newWindow(search, searchWindow), daily: daily}
}

// admit decides whether a request may run. For non-search API calls it sets the rate-limit
// headers (daily ones only for private-app tokens, as HubSpot leaves them out for OAuth apps).
// It writes the 429 itself and returns false when a limit is reached.
func (l *limiter) admit(w http.ResponseWriter, now time.Time, search, oauth bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if day := now.UTC().Truncate(24 * time.Hour); !day.Equal(l.dayStart) {
		l.dayStart, l.dayUsed = day, 0
	}
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
	h := w.Header()
	dailyExceeded := l.daily > 0 && l.dayUsed >= l.daily
	burstOK := true
	if !dailyExceeded && l.burst != nil {
		burstOK = l.burst.admit(now)
	}
	if !dailyExceeded && burstOK {
		l.dayUsed++
	}
	if l.burst != nil {
		h.Set("X-HubSpot-RateLimit-Max", strconv.Itoa(l.burst.limit))
		h.Set("X-HubSpot-RateLimit-Remaining", strconv.Itoa(l.burst.remaining(now)))
		h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", strconv.Itoa(int(burstWindow/time.Millisecond)))
	}
	if l.daily > 0 && !oauth {
		h.Set("X-HubSpot-RateLimit-Daily", strconv.Itoa(l.daily))
		h.Set("X-HubSpot-RateLimit-Daily-Remaining", strconv.Itoa(max(0, l.daily-l.dayUsed)))
	}
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
