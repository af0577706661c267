package salesforce

import (
	"net/http"
	"strconv"
	"time"
)

// Replication endpoints: /sobjects/{Object}/updated and /deleted (A7). The seconds of start and
// end are dropped; updated/ reads SystemModstamp and goes back 30 days, the delete log 15.

const (
	updatedWindow = 30 * 24 * time.Hour
	deletedWindow = 15 * 24 * time.Hour
	maxReplicated = 600000
)

func (s *Sandbox) replicationRange(w http.ResponseWriter, r *http.Request, window time.Duration) (start, end, covered int64, ok bool) {
	q := r.URL.Query()
	st, ok1 := parseDateTime(q.Get("start"))
	en, ok2 := parseDateTime(q.Get("end"))
	if !ok1 || !ok2 {
		writeErrors(w, http.StatusBadRequest, "INVALID_REPLICATION_DATE", "start and end must be dateTime values such as 2024-01-15T10:20:30+00:00")
		return 0, 0, 0, false
	}
	const minute = int64(time.Minute / time.Millisecond)
	st, en = st-st%minute, en-en%minute
	now := s.now().UnixMilli()
	if st > en {
		writeErrors(w, http.StatusBadRequest, "INVALID_REPLICATION_DATE", "startDate must chronologically precede endDate")
		return 0, 0, 0, false
	}
	if st < now-window.Milliseconds() {
		writeErrors(w, http.StatusBadRequest, "INVALID_REPLICATION_DATE",
			"startDate cannot be more than "+strconv.Itoa(int(window/(24*time.Hour)))+" days ago")
		return 0, 0, 0, false
	}
	covered = min(en, now-now%minute)
	return st, en, covered, true
}

func (s *Sandbox) handleUpdated(w http.ResponseWriter, r *http.Request, _ *reqCtx) {
	o := s.object(w, r)
	if o == nil {
		return
	}
	start, end, covered, ok := s.replicationRange(w, r, updatedWindow)
	if !ok {
		return
	}
	s.mu.RLock()
	ids := []string{}
	for i := o.stampSearch(start, ""); i < len(o.byStamp); i++ {
		rec := o.byStamp[i]
		if rec.stamp >= end {
			break
		}
		if !rec.deleted {
			ids = append(ids, rec.id)
		}
	}
	s.mu.RUnlock()
	if len(ids) > maxReplicated {
		writeErrors(w, http.StatusBadRequest, "EXCEEDED_ID_LIMIT", "too many ids in the result; use a shorter window")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ids": ids, "latestDateCovered": fmtDateTime(covered)})
}

func (s *Sandbox) handleDeleted(w http.ResponseWriter, r *http.Request, _ *reqCtx) {
	o := s.object(w, r)
	if o == nil {
		return
	}
	start, end, covered, ok := s.replicationRange(w, r, updatedWindow)
	if !ok {
		return
	}
	type del struct {
		ID          string `json:"id"`
		DeletedDate string `json:"deletedDate"`
	}
	out := []del{}
	s.mu.RLock()
	for _, rec := range o.deletions {
		if rec.deleted && rec.deletedAt >= start && rec.deletedAt < end {
			out = append(out, del{rec.id, fmtDateTime(rec.deletedAt)})
		}
	}
	s.mu.RUnlock()
	if len(out) > maxReplicated {
		writeErrors(w, http.StatusBadRequest, "EXCEEDED_ID_LIMIT", "too many ids in the result; use a shorter window")
		return
	}
	const minute = int64(time.Minute / time.Millisecond)
	earliest := s.now().UnixMilli() - deletedWindow.Milliseconds()
	writeJSON(w, http.StatusOK, map[string]any{
		"deletedRecords": out, "earliestDateAvailable": fmtDateTime(earliest - earliest%minute), "latestDateCovered": fmtDateTime(covered),
	})
}
