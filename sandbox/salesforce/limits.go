package salesforce

import (
	"net/http"
	"sync"
	"time"
)

// limitState counts API requests against the daily allocation. The count resets when the clock
// passes midnight UTC.
type limitState struct {
	mu   sync.Mutex
	used int64
	max  int64
	day  int64 // days since the epoch of the last counted request
}

// spend counts one request; ok is false when the allocation is already spent (the request is not
// counted then).
func (l *limitState) spend(now time.Time) (used, max int64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d := now.UTC().Unix() / 86400; d != l.day {
		l.day, l.used = d, 0
	}
	if l.used >= l.max {
		return l.used, l.max, false
	}
	l.used++
	return l.used, l.max, true
}

func (l *limitState) get() (used, max int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.used, l.max
}

// SetAPIUsage sets the requests already spent today and, when max > 0, the daily allocation, so
// that a test can run into REQUEST_LIMIT_EXCEEDED quickly.
func (s *Sandbox) SetAPIUsage(used, max int64) {
	s.limits.mu.Lock()
	defer s.limits.mu.Unlock()
	s.limits.day = s.now().UTC().Unix() / 86400
	s.limits.used = used
	if max > 0 {
		s.limits.max = max
	}
}

// APIUsage returns the requests spent today and the daily allocation.
func (s *Sandbox) APIUsage() (used, max int64) { return s.limits.get() }

func (s *Sandbox) handleLimits(w http.ResponseWriter, r *http.Request, _ *reqCtx) {
	used, max := s.limits.get()
	lim := func(m, rem int64) map[string]int64 { return map[string]int64{"Max": m, "Remaining": rem} }
	writeJSON(w, http.StatusOK, map[string]any{
		"DailyApiRequests":         lim(max, max-used),
		"DailyBulkApiBatches":      lim(15000, 15000),
		"DailyAsyncApexExecutions": lim(250000, 250000),
		"DataStorageMB":            lim(1024, 1000),
		"DailyWorkflowEmails":      lim(2000, 2000),
	})
}
