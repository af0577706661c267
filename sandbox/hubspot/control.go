package hubspot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mapsync/mapsync/sandbox/wire"
)

// Errors returned by the control methods.
var (
	// ErrNotFound means no record has the given id.
	ErrNotFound = errors.New("record not found")
	// ErrUnknownObjectType means the object type is neither deals nor contacts.
	ErrUnknownObjectType = errors.New("unknown object type")
	// ErrInvalidProperties means a property value failed validation.
	ErrInvalidProperties = errors.New("invalid property values")
)

// faultState holds the injected faults; each counted fault applies to that many API requests.
type faultState struct {
	mu          sync.Mutex
	latency     time.Duration
	errorsLeft  int
	errorStatus int
	limitedLeft int
	slowLeft    int
	slowDelay   time.Duration
	failWrites  map[string]string // "deals/123" -> ""
	badLeft     int               // API requests still to answer with badBody
	badBody     wire.BadBody
	badPath     string // only requests whose path contains it; "" for all
}

// applyFaults delays and fails the request as the injected faults say; false means it answered.
func (s *Sandbox) applyFaults(w http.ResponseWriter, r *http.Request, kind routeKind) bool {
	f := s.faults
	f.mu.Lock()
	delay := f.latency
	if f.slowLeft > 0 {
		f.slowLeft--
		delay += f.slowDelay
	}
	fail, status := false, 0
	if f.errorsLeft > 0 {
		f.errorsLeft--
		fail, status = true, f.errorStatus
	}
	limited := false
	if !fail && kind != kindOAuth && f.limitedLeft > 0 {
		f.limitedLeft--
		limited = true
	}
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-r.Context().Done():
			return false
		case <-s.hooks.ctx.Done():
		case <-time.After(delay):
		}
	}
	if (fail || limited) && kind == kindAPI {
		tok, _ := bearerToken(r)
		s.limits.faultHeaders(w.Header(), s.now(), tok != PrivateAppToken, limited)
	}
	switch {
	case fail:
		writeError(w, status, catInternalError, "internal error (injected by the sandbox)")
		return false
	case limited && kind == kindSearch:
		writeJSON(w, http.StatusTooManyRequests, apiError{Status: "error", Message: msgSearchSecondly,
			CorrelationID: newCorrelationID(), Category: catRateLimits})
		return false
	case limited:
		writeRateLimited(w, policyTenSecondly)
		return false
	}
	return true
}

// takeBadBody returns the corrupt reply to serve for an API request, or "".
func (f *faultState) takeBadBody(kind routeKind, path string) wire.BadBody {
	if kind != kindAPI && kind != kindSearch {
		return ""
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.badLeft <= 0 || !strings.Contains(path, f.badPath) {
		return ""
	}
	f.badLeft--
	return f.badBody
}

func (f *faultState) takeFailWrite(objectType, id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := objectType + "/" + id
	if _, ok := f.failWrites[k]; ok {
		delete(f.failWrites, k)
		return true
	}
	return false
}

// SetLatency adds d to every API request (not to the control API).
func (s *Sandbox) SetLatency(d time.Duration) {
	s.faults.mu.Lock()
	s.faults.latency = d
	s.faults.mu.Unlock()
}

// InjectServerErrors makes the next n requests fail with status (0 means 502) and a JSON body.
func (s *Sandbox) InjectServerErrors(n, status int) {
	if status == 0 {
		status = http.StatusBadGateway
	}
	s.faults.mu.Lock()
	s.faults.errorsLeft, s.faults.errorStatus = n, status
	s.faults.mu.Unlock()
}

// InjectRateLimits makes the next n API requests answer 429 (TEN_SECONDLY_ROLLING, or the
// secondly message on search).
func (s *Sandbox) InjectRateLimits(n int) {
	s.faults.mu.Lock()
	s.faults.limitedLeft = n
	s.faults.mu.Unlock()
}

// InjectSlow delays the next n requests by d each (on top of SetLatency).
func (s *Sandbox) InjectSlow(n int, d time.Duration) {
	s.faults.mu.Lock()
	s.faults.slowLeft, s.faults.slowDelay = n, d
	s.faults.mu.Unlock()
}

// InjectBadBodies makes the next n API requests whose path contains path ("" for any)
// answer, after authentication and limits, a 200 the client cannot use: the real reply cut in
// half, an HTML page, or JSON of the wrong shape (see wire.BadBody).
func (s *Sandbox) InjectBadBodies(n int, kind wire.BadBody, path string) {
	s.faults.mu.Lock()
	s.faults.badLeft, s.faults.badBody, s.faults.badPath = n, kind, path
	s.faults.mu.Unlock()
}

// FailNextWrite makes the next write of record id (PATCH, DELETE or its batch/update input)
// fail: 500 for single writes, a per-input error in a 207 for batches. An id that names no live
// record is ErrNotFound (the control API answers 404).
func (s *Sandbox) FailNextWrite(objectType, id string) error {
	ot, ok := s.typeByAlias[strings.ToLower(objectType)]
	if !ok {
		return fmt.Errorf("fail next write of %s: %w", objectType, ErrUnknownObjectType)
	}
	s.mu.RLock()
	rec := ot.lookup(id, s.now())
	live := rec != nil && !rec.archived
	s.mu.RUnlock()
	if !live {
		return fmt.Errorf("fail next write of %s %s: no such live %s: %w", ot.singular, id, ot.singular, ErrNotFound)
	}
	s.faults.mu.Lock()
	s.faults.failWrites[ot.name+"/"+id] = ""
	s.faults.mu.Unlock()
	return nil
}

// ClearFaults removes every injected fault and latency and restores the refresh token.
func (s *Sandbox) ClearFaults() {
	s.faults.mu.Lock()
	s.faults.latency, s.faults.errorsLeft, s.faults.limitedLeft, s.faults.slowLeft = 0, 0, 0, 0
	s.faults.badLeft = 0
	s.faults.failWrites = map[string]string{}
	s.faults.mu.Unlock()
	s.auth.mu.Lock()
	s.auth.refreshRevoked = false
	s.auth.mu.Unlock()
}

// Counters.

type counterKey struct {
	endpoint string
	status   int
}

type counterState struct {
	mu     sync.Mutex
	counts map[counterKey]int
}

func (c *counterState) add(endpoint string, status int) {
	c.mu.Lock()
	c.counts[counterKey{endpoint, status}]++
	c.mu.Unlock()
}

// Count is the number of requests an endpoint answered with one status.
type Count struct {
	// Endpoint is the method and route, with object types named, e.g.
	// "GET /crm/v3/objects/deals" or "POST /crm/v3/objects/deals/search".
	Endpoint string `json:"endpoint"`
	// Status is the HTTP status answered.
	Status int `json:"status"`
	// N is the number of requests.
	N int `json:"count"`
}

// Counts returns the request counters (control API excluded), sorted by endpoint and status.
func (s *Sandbox) Counts() []Count {
	s.counters.mu.Lock()
	out := make([]Count, 0, len(s.counters.counts))
	for k, n := range s.counters.counts {
		out = append(out, Count{Endpoint: k.endpoint, Status: k.status, N: n})
	}
	s.counters.mu.Unlock()
	slices.SortFunc(out, func(a, b Count) int {
		if c := strings.Compare(a.Endpoint, b.Endpoint); c != 0 {
			return c
		}
		return a.Status - b.Status
	})
	return out
}

// Requests returns how many requests endpoint received (every status); "" counts all of them.
func (s *Sandbox) Requests(endpoint string) int {
	n := 0
	for _, c := range s.Counts() {
		if endpoint == "" || c.Endpoint == endpoint {
			n += c.N
		}
	}
	return n
}

// ResetCounters zeroes the request counters.
func (s *Sandbox) ResetCounters() {
	s.counters.mu.Lock()
	s.counters.counts = map[counterKey]int{}
	s.counters.mu.Unlock()
}

// Records changed as a person would (through the CRM UI), firing webhooks.

func (s *Sandbox) resolve(objectType string) (*objectType, error) {
	ot, ok := s.typeByAlias[strings.ToLower(objectType)]
	if !ok {
		return nil, fmt.Errorf("object type %q: %w", objectType, ErrUnknownObjectType)
	}
	return ot, nil
}

func validateStrings(ot *objectType, props map[string]string) ([]change, error) {
	in := make(map[string]any, len(props))
	for k, v := range props {
		in[k] = v
	}
	changes, errs := ot.validate(in)
	if len(errs) > 0 {
		msgs := make([]string, 0, len(errs))
		for _, e := range errs {
			msgs = append(msgs, e.Name+": "+e.Message)
		}
		return nil, fmt.Errorf("%w: %s", ErrInvalidProperties, strings.Join(msgs, "; "))
	}
	return changes, nil
}

// stageError turns a checkStage failure into a control error.
func stageError(pe *propertyError) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidProperties, pe.Name, pe.Message)
}

// CreateObject creates a record as a person would in the CRM (webhooks fire with changeSource
// CRM_UI) and returns its id.
func (s *Sandbox) CreateObject(objectType string, props map[string]string) (string, error) {
	ot, err := s.resolve(objectType)
	if err != nil {
		return "", err
	}
	changes, err := validateStrings(ot, props)
	if err != nil {
		return "", fmt.Errorf("create %s: %w", ot.singular, err)
	}
	if pe := s.checkStage(ot, nil, changes); pe != nil {
		return "", fmt.Errorf("create %s: %w", ot.singular, stageError(pe))
	}
	s.mu.Lock()
	rec, events := s.createRecord(ot, changes, s.now(), "CRM_UI")
	s.mu.Unlock()
	s.hooks.emit(events)
	return rec.idStr, nil
}

// UpdateObject changes a record as a person would, bumping its stamp and firing webhooks.
func (s *Sandbox) UpdateObject(objectType, id string, props map[string]string) error {
	ot, err := s.resolve(objectType)
	if err != nil {
		return err
	}
	changes, err := validateStrings(ot, props)
	if err != nil {
		return fmt.Errorf("update %s %s: %w", ot.singular, id, err)
	}
	now := s.now()
	s.mu.Lock()
	rec := ot.lookup(id, now)
	if rec == nil || rec.archived {
		s.mu.Unlock()
		return fmt.Errorf("update %s %s: %w", ot.singular, id, ErrNotFound)
	}
	if pe := s.checkStage(ot, rec, changes); pe != nil {
		s.mu.Unlock()
		return fmt.Errorf("update %s %s: %w", ot.singular, id, stageError(pe))
	}
	events := s.applyChanges(ot, rec, changes, now, "CRM_UI")
	s.mu.Unlock()
	s.hooks.emit(events)
	return nil
}

// ArchiveObject deletes (archives) a record as a person would, firing the deletion webhook.
func (s *Sandbox) ArchiveObject(objectType, id string) error {
	ot, err := s.resolve(objectType)
	if err != nil {
		return err
	}
	now := s.now()
	s.mu.Lock()
	rec := ot.lookup(id, now)
	if rec == nil {
		s.mu.Unlock()
		return fmt.Errorf("archive %s %s: %w", ot.singular, id, ErrNotFound)
	}
	events := s.archiveRecord(ot, rec, now, "CRM_UI")
	s.mu.Unlock()
	s.hooks.emit(events)
	return nil
}

// CreateDeal is CreateObject("deals", props).
func (s *Sandbox) CreateDeal(props map[string]string) (string, error) {
	return s.CreateObject("deals", props)
}

// UpdateDeal is UpdateObject("deals", id, props).
func (s *Sandbox) UpdateDeal(id string, props map[string]string) error {
	return s.UpdateObject("deals", id, props)
}

// Object returns a record's property values (hidden and archived records included; a change
// LateRecord still holds back is not), for tests.
func (s *Sandbox) Object(objectType, id string) (map[string]string, bool) {
	ot, err := s.resolve(objectType)
	if err != nil {
		return nil, false
	}
	s.releaseDue()
	n, _ := strconv.ParseInt(id, 10, 64)
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec := ot.byID[n]
	if rec == nil {
		return nil, false
	}
	out := make(map[string]string, len(rec.vals))
	for i, v := range rec.vals {
		if v != "" {
			out[ot.props[i].Name] = v
		}
	}
	return out, true
}

// IDs returns the ids of the live (visible, unarchived) records of objectType in id order.
func (s *Sandbox) IDs(objectType string) []string {
	ot, err := s.resolve(objectType)
	if err != nil {
		return nil
	}
	s.releaseDue()
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(ot.records))
	for _, rec := range ot.records {
		if !rec.archived && visible(rec, now) {
			out = append(out, rec.idStr)
		}
	}
	return out
}

// Traps.

// SameStampResult describes a mass update.
type SameStampResult struct {
	// Stamp is the one modification stamp every touched record now has.
	Stamp time.Time `json:"stamp"`
	// Updated and Created count the records changed and imported.
	Updated int `json:"updated"`
	Created int `json:"created"`
	// FirstID and LastID bound the ids touched (in id order).
	FirstID string `json:"firstId"`
	LastID  string `json:"lastId"`
}

// SameStamp reproduces a bulk import or mass update: n records of objectType (the first n live
// ones in id order, plus newly imported ones when there are fewer) get props and one identical
// modification stamp. n may exceed HubSpot's 10,000 search cap.
func (s *Sandbox) SameStamp(objectType string, n int, props map[string]string) (SameStampResult, error) {
	ot, err := s.resolve(objectType)
	if err != nil {
		return SameStampResult{}, err
	}
	changes, err := validateStrings(ot, props)
	if err != nil {
		return SameStampResult{}, fmt.Errorf("mass update %s: %w", ot.name, err)
	}
	now := s.now().Truncate(time.Millisecond)
	res := SameStampResult{Stamp: now}
	var events []Event
	s.mu.Lock()
	var hit []*record
	for i := 0; i < len(ot.records) && len(hit) < n; i++ {
		rec := ot.records[i]
		if rec.archived || !visible(rec, now) {
			continue
		}
		if pe := s.checkStage(ot, rec, changes); pe != nil {
			s.mu.Unlock()
			return SameStampResult{}, fmt.Errorf("mass update %s: %s %s: %w", ot.name, ot.singular, rec.idStr, stageError(pe))
		}
		hit = append(hit, rec)
	}
	// filler gives the k-th imported record its required values; the given properties win.
	filler := func(k int) []change {
		var extra []change
		if ot.name == "deals" {
			extra = append(extra, change{ot.propIdx["dealname"], fmt.Sprintf("Imported deal %d", k)},
				change{ot.propIdx["dealstage"], s.pipelines[0].stages[0].id})
		} else {
			extra = append(extra, change{ot.propIdx["email"], fmt.Sprintf("imported-%d@import.example.com", k)})
		}
		return append(extra, changes...)
	}
	if len(hit) < n {
		if pe := s.checkStage(ot, nil, filler(1)); pe != nil {
			s.mu.Unlock()
			return SameStampResult{}, fmt.Errorf("mass update %s: import: %w", ot.name, stageError(pe))
		}
	}
	for _, rec := range hit {
		events = append(events, s.applyChanges(ot, rec, changes, now, "IMPORT")...)
		if res.FirstID == "" {
			res.FirstID = rec.idStr
		}
		res.LastID = rec.idStr
		res.Updated++
	}
	for res.Updated+res.Created < n {
		rec, ev := s.createRecord(ot, filler(res.Created+1), now, "IMPORT")
		events = append(events, ev...)
		if res.FirstID == "" {
			res.FirstID = rec.idStr
		}
		res.LastID = rec.idStr
		res.Created++
	}
	s.mu.Unlock()
	s.hooks.emit(events)
	return res, nil
}

// LateRecord reproduces commit lag. Without id it creates a record whose modification stamp
// is lag before now, hidden from every read until visibleAfter has passed on the sandbox clock,
// or until Release when visibleAfter is 0. With id it changes an existing record the same way:
// until then every read keeps serving the record's previous version (as a reader of a database
// whose writing transaction has not committed yet does), then the new version appears with the
// back-dated stamp. A reader whose cursor moved past the stamp meanwhile never sees the change
// in an incremental pull. API writes to the record meanwhile apply to the served version; the
// late change lands on top of them when released.
func (s *Sandbox) LateRecord(objectType, id string, props map[string]string, lag, visibleAfter time.Duration) (string, time.Time, error) {
	ot, err := s.resolve(objectType)
	if err != nil {
		return "", time.Time{}, err
	}
	changes, err := validateStrings(ot, props)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("late %s: %w", ot.singular, err)
	}
	now := s.now()
	stamp := now.Add(-lag).Truncate(time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	if id != "" {
		rec := ot.lookup(id, now)
		if rec == nil || rec.archived {
			return "", time.Time{}, fmt.Errorf("late %s %s: %w", ot.singular, id, ErrNotFound)
		}
		pending := changes
		if rec.late != nil {
			pending = append(append([]change(nil), rec.late.changes...), changes...)
		}
		if pe := s.checkStage(ot, rec, pending); pe != nil {
			return "", time.Time{}, fmt.Errorf("late %s %s: %w", ot.singular, id, stageError(pe))
		}
		if rec.late == nil {
			rec.late = &lateChange{ot: ot}
			s.late = append(s.late, rec)
		} else if !rec.late.visibleAt.IsZero() {
			s.lateTimed.Add(-1)
		}
		rec.late.changes, rec.late.stamp, rec.late.visibleAt = pending, stamp, time.Time{}
		if visibleAfter > 0 {
			rec.late.visibleAt = now.Add(visibleAfter)
			s.lateTimed.Add(1)
		}
		return rec.idStr, stamp, nil
	}
	if ot.name == "deals" && props["dealname"] == "" {
		changes = append([]change{{ot.propIdx["dealname"], "Late deal"}}, changes...)
	}
	if pe := s.checkStage(ot, nil, changes); pe != nil {
		return "", time.Time{}, fmt.Errorf("late %s: %w", ot.singular, stageError(pe))
	}
	rec, _ := s.createRecord(ot, changes, stamp, "CRM_UI")
	rec.createdAt = stamp
	rec.vals[ot.iCreate] = stamp.Format(isoMillis)
	ot.encode(rec)
	if visibleAfter > 0 {
		rec.visibleAt = now.Add(visibleAfter)
	} else {
		rec.held = true
	}
	return rec.idStr, stamp, nil
}

// lateChange is a change of an existing record that LateRecord holds back.
type lateChange struct {
	ot        *objectType
	changes   []change
	stamp     time.Time
	visibleAt time.Time // zero: only on Release
}

// commitLate applies rec's held change with its back-dated stamp; the caller holds s.mu for
// writing and removes rec from s.late.
func (s *Sandbox) commitLate(rec *record) {
	l := rec.late
	rec.late = nil
	if !l.visibleAt.IsZero() {
		s.lateTimed.Add(-1)
	}
	if rec.archived {
		return
	}
	s.applyChanges(l.ot, rec, l.changes, l.stamp, "CRM_UI")
}

// releaseDue commits the held changes whose visibleAfter has passed; requests call it first, so
// that a change appears once the sandbox clock reaches it.
func (s *Sandbox) releaseDue() {
	if s.lateTimed.Load() == 0 {
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.late[:0]
	for _, rec := range s.late {
		if l := rec.late; !l.visibleAt.IsZero() && !now.Before(l.visibleAt) {
			s.commitLate(rec)
			continue
		}
		kept = append(kept, rec)
	}
	clear(s.late[len(kept):])
	s.late = kept
}

// Release makes a record or change held back by LateRecord visible.
func (s *Sandbox) Release(objectType, id string) error {
	ot, err := s.resolve(objectType)
	if err != nil {
		return err
	}
	n, _ := strconv.ParseInt(id, 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := ot.byID[n]
	if rec == nil {
		return fmt.Errorf("release %s %s: %w", ot.singular, id, ErrNotFound)
	}
	rec.held, rec.visibleAt = false, time.Time{}
	if rec.late != nil {
		s.commitLate(rec)
		s.late = slices.DeleteFunc(s.late, func(r *record) bool { return r == rec })
	}
	return nil
}

// Webhooks.

// ConfigureWebhooks sets the webhook target, subscriptions and delivery behaviour; an empty
// TargetURL turns delivery off.
func (s *Sandbox) ConfigureWebhooks(cfg WebhookConfig) { s.hooks.configure(cfg) }

// WebhookStats returns the delivery counters.
func (s *Sandbox) WebhookStats() WebhookStats {
	st, _ := s.hooks.statsNow()
	return st
}

// WaitWebhooks blocks until cond holds for the delivery counters or ctx ends.
func (s *Sandbox) WaitWebhooks(ctx context.Context, cond func(WebhookStats) bool) (WebhookStats, error) {
	for {
		st, changed := s.hooks.statsNow()
		if cond(st) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("wait for webhooks: %w", ctx.Err())
		case <-changed:
		}
	}
}

// DailyUsage returns the API calls counted today and the daily limit.
func (s *Sandbox) DailyUsage() (used, limit int) { return s.limits.usage() }
