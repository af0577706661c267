package salesforce

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mapsync/mapsync/sandbox/wire"
)

// The control API (/__sandbox/..., JSON) and its Go twins: request counters, latency, faults,
// changes made "as a person would" in the CRM, and the two traps of incremental sync (one stamp
// shared by a mass update, and commit lag). None of it is part of the Salesforce API.

// FaultKind names an injectable fault.
type FaultKind string

// Fault kinds.
const (
	// FaultServerError answers Status (500 UNKNOWN_EXCEPTION by default, or 503
	// SERVER_UNAVAILABLE).
	FaultServerError FaultKind = "server_error"
	// FaultLimit answers REQUEST_LIMIT_EXCEEDED with Status 403 (default) or 429.
	FaultLimit FaultKind = "limit"
	// FaultSlow delays the response by Delay, then serves it normally.
	FaultSlow FaultKind = "slow"
	// FaultTruncated serves the real response with only the first half of its body.
	FaultTruncated FaultKind = FaultKind(wire.BadBodyTruncated)
	// FaultNotJSON answers 200 with an HTML page instead of serving the request.
	FaultNotJSON FaultKind = FaultKind(wire.BadBodyNotJSON)
	// FaultWrongShape answers 200 with a JSON object that is no reply of the endpoint instead of
	// serving the request.
	FaultWrongShape FaultKind = FaultKind(wire.BadBodyWrongShape)
)

// Fault is a burst of failing or slow responses.
type Fault struct {
	// Kind is what happens.
	Kind FaultKind `json:"kind"`
	// Count is how many requests it hits; 0 means 1.
	Count int `json:"count"`
	// Status overrides the HTTP status (see the kinds).
	Status int `json:"status,omitempty"`
	// Delay is the extra latency of FaultSlow; 0 means 2s.
	Delay time.Duration `json:"-"`
	// Endpoint limits the fault to one endpoint name as the counters show it (e.g. "query",
	// "composite.update", "oauth.token"); empty means every /services/data request.
	Endpoint string `json:"endpoint,omitempty"`
}

// RequestCount is the number of requests an endpoint answered with a status.
type RequestCount struct {
	Endpoint string `json:"endpoint"`
	Method   string `json:"method"`
	Status   int    `json:"status"`
	Count    int64  `json:"count"`
}

type counterKey struct {
	endpoint, method string
	status           int
}

type controlState struct {
	mu         sync.Mutex
	counts     map[counterKey]int64
	latency    time.Duration
	faults     []*Fault
	writeFails map[string]saveError
	rules      []ValidationRule
	nPending   atomic.Int32
}

func (c *controlState) count(endpoint, method string, status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[counterKey]int64{}
	}
	c.counts[counterKey{endpoint, method, status}]++
}

// take returns the latency to add and the fault to serve for one request.
func (c *controlState) take(endpoint string, api bool) (time.Duration, *Fault) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delay := c.latency
	for i, f := range c.faults {
		if f.Endpoint != "" && f.Endpoint != endpoint || f.Endpoint == "" && !api {
			continue
		}
		f.Count--
		if f.Count <= 0 {
			c.faults = slices.Delete(c.faults, i, i+1)
		}
		if f.Kind == FaultSlow {
			return delay + f.Delay, nil
		}
		return delay, f
	}
	return delay, nil
}

func (c *controlState) takeWriteFailure(id string) *saveError {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.writeFails[id]
	if !ok {
		return nil
	}
	delete(c.writeFails, id)
	return &e
}

// Counters returns every (endpoint, method, status) count since the start or the last reset,
// sorted by endpoint, method and status. Control requests are not counted.
func (s *Sandbox) Counters() []RequestCount {
	s.ctl.mu.Lock()
	defer s.ctl.mu.Unlock()
	out := make([]RequestCount, 0, len(s.ctl.counts))
	for k, n := range s.ctl.counts {
		out = append(out, RequestCount{k.endpoint, k.method, k.status, n})
	}
	slices.SortFunc(out, func(a, b RequestCount) int {
		if c := strings.Compare(a.Endpoint, b.Endpoint); c != 0 {
			return c
		}
		if c := strings.Compare(a.Method, b.Method); c != 0 {
			return c
		}
		return a.Status - b.Status
	})
	return out
}

// Requests returns how many requests reached endpoint (any method and status); an empty
// endpoint counts every request.
func (s *Sandbox) Requests(endpoint string) int64 {
	var n int64
	for _, c := range s.Counters() {
		if endpoint == "" || c.Endpoint == endpoint {
			n += c.Count
		}
	}
	return n
}

// ResetCounters zeroes the request counters.
func (s *Sandbox) ResetCounters() {
	s.ctl.mu.Lock()
	defer s.ctl.mu.Unlock()
	clear(s.ctl.counts)
}

// SetLatency adds d to every response (API and OAuth); 0 removes it.
func (s *Sandbox) SetLatency(d time.Duration) {
	s.ctl.mu.Lock()
	defer s.ctl.mu.Unlock()
	s.ctl.latency = d
}

// InjectFault queues a burst of faults; bursts are served in the order they were queued.
func (s *Sandbox) InjectFault(f Fault) error {
	switch f.Kind {
	case FaultServerError:
		if f.Status == 0 {
			f.Status = http.StatusInternalServerError
		}
		if f.Status < 500 || f.Status > 599 {
			return fmt.Errorf("server_error status %d is not a 5xx", f.Status)
		}
	case FaultLimit:
		if f.Status == 0 {
			f.Status = http.StatusForbidden
		}
		if f.Status != http.StatusForbidden && f.Status != http.StatusTooManyRequests {
			return fmt.Errorf("limit status %d: want 403 or 429", f.Status)
		}
	case FaultSlow:
		if f.Delay <= 0 {
			f.Delay = 2 * time.Second
		}
	case FaultTruncated, FaultNotJSON, FaultWrongShape:
	default:
		return fmt.Errorf("unknown fault kind %q", f.Kind)
	}
	if f.Count <= 0 {
		f.Count = 1
	}
	s.ctl.mu.Lock()
	defer s.ctl.mu.Unlock()
	s.ctl.faults = append(s.ctl.faults, &f)
	return nil
}

// ClearFaults drops every queued fault and pending write failure.
func (s *Sandbox) ClearFaults() {
	s.ctl.mu.Lock()
	defer s.ctl.mu.Unlock()
	s.ctl.faults = nil
	clear(s.ctl.writeFails)
}

// FailNextWrite makes the next write (update or delete, single or collection) of record id fail
// with statusCode and message; empty ones mean UNABLE_TO_LOCK_ROW, the transient lock error. An id
// that names no live record is ErrNotFound: the fault could never fire.
func (s *Sandbox) FailNextWrite(id, statusCode, message string) error {
	id18, ok := normalizeID(id)
	if !ok {
		return fmt.Errorf("malformed id %q", id)
	}
	if statusCode == "" {
		statusCode = "UNABLE_TO_LOCK_ROW"
		message = "unable to obtain exclusive access to this record or 1 records: " + id18
	}
	if message == "" {
		message = statusCode
	}
	s.mu.RLock()
	known := false
	for _, o := range s.objects {
		if r := o.byID[id18]; r != nil && !r.deleted {
			known = true
			break
		}
	}
	s.mu.RUnlock()
	if !known {
		return fmt.Errorf("%w: no live record %q to fail the next write of", ErrNotFound, id)
	}
	s.ctl.mu.Lock()
	defer s.ctl.mu.Unlock()
	if s.ctl.writeFails == nil {
		s.ctl.writeFails = map[string]saveError{}
	}
	s.ctl.writeFails[id18] = newSaveError(statusCode, message)
	return nil
}

// ErrInvalid reports a control change the CRM would refuse; the message lists the save errors.
var ErrInvalid = errors.New("invalid change")

// ErrNotFound reports a control request about a record the sandbox does not have.
var ErrNotFound = errors.New("not found")

func saveErr(errs []saveError) error {
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = e.StatusCode + ": " + e.Message
	}
	return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(parts, "; "))
}

func (s *Sandbox) objectByName(name string) (*object, error) {
	o := s.objects[strings.ToLower(name)]
	if o == nil {
		return nil, fmt.Errorf("%w: unknown object %q", ErrInvalid, name)
	}
	return o, nil
}

// ownerOf returns who changes r "as a person": its owner, or the first user.
func (s *Sandbox) ownerOf(o *object, r *record) string {
	if f := o.field("OwnerId"); f != nil && r != nil {
		if v := r.vals[f.idx]; v.k == kText {
			return v.s
		}
	}
	return s.objects["user"].recs[0].id
}

// CreateRecord creates a record as a person in the CRM would (validated like an API write,
// firing outbound messages) and returns its id. fields use wire values (dates as strings).
func (s *Sandbox) CreateRecord(object string, fields map[string]any) (string, error) {
	o, err := s.objectByName(object)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	vals, errs := s.prepareCreate(o, toJSONish(fields))
	if len(errs) > 0 {
		return "", saveErr(errs)
	}
	by := s.ownerOf(o, nil)
	if f := o.field("OwnerId"); f != nil && !vals[f.idx].null() {
		by = vals[f.idx].s
	}
	return s.createRecord(o, vals, by, s.now().UnixMilli()).id, nil
}

// UpdateRecord changes a record as a person in the CRM would: validated, stamped, firing
// outbound messages. It does not consume FailNextWrite failures (those are for API writes).
func (s *Sandbox) UpdateRecord(object, id string, fields map[string]any) error {
	o, err := s.objectByName(object)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, lerr := s.lookup(o, id)
	if lerr != nil {
		return saveErr([]saveError{*lerr})
	}
	vals, errs := s.coerce(o, toJSONish(fields), false)
	if len(errs) == 0 {
		errs = s.checkRefs(o, vals)
	}
	if len(errs) > 0 {
		return saveErr(errs)
	}
	s.applyUpdate(o, r, vals, s.ownerOf(o, r), stampFor(r, s.now().UnixMilli()))
	return nil
}

// DeleteRecord moves a record to the recycle bin as a person would.
func (s *Sandbox) DeleteRecord(object, id string) error {
	o, err := s.objectByName(object)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, lerr := s.lookup(o, id)
	if lerr != nil {
		return saveErr([]saveError{*lerr})
	}
	s.deleteRecord(o, r, s.ownerOf(o, r), s.now().UnixMilli())
	return nil
}

// Record returns every field of a record (deleted ones included) in wire form: dates and
// datetimes as strings, numbers as float64.
func (s *Sandbox) Record(object, id string) (map[string]any, error) {
	o, err := s.objectByName(object)
	if err != nil {
		return nil, err
	}
	id18, _ := normalizeID(id)
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := o.byID[id18]
	if r == nil {
		return nil, fmt.Errorf("%w: no %s %q", ErrInvalid, o.name, id)
	}
	out := make(map[string]any, len(o.fields))
	for _, f := range o.fields {
		out[f.Name] = jsonValue(f, r.vals[f.idx])
	}
	return out, nil
}

// IDs returns the ids of the live (not deleted) records of object, oldest first.
func (s *Sandbox) IDs(object string) []string {
	o, err := s.objectByName(object)
	if err != nil {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(o.recs))
	for _, r := range o.recs {
		if !r.deleted {
			out = append(out, r.id)
		}
	}
	return out
}

// MassUpdateResult reports a mass update.
type MassUpdateResult struct {
	// Updated counts the live records changed; Created the records imported to reach the count.
	Updated        int    `json:"updated"`
	Created        int    `json:"created"`
	SystemModstamp string `json:"systemModstamp"`
}

// MassUpdate changes n live records of object (0 means all, oldest first) in one transaction, as
// a data-loader import or mass update does: every one of them gets the same SystemModstamp and
// LastModifiedDate. fields may be empty (a touch). When n is larger than the number of live
// records, the missing ones are imported (created) with that stamp too, as a bulk import would,
// so that more than 10,000 records with one stamp can be had on a small sandbox: Opportunity,
// Contact and Account records can be imported; other objects answer ErrInvalid.
func (s *Sandbox) MassUpdate(object string, n int, fields map[string]any) (MassUpdateResult, error) {
	o, err := s.objectByName(object)
	if err != nil {
		return MassUpdateResult{}, err
	}
	if n < 0 {
		return MassUpdateResult{}, fmt.Errorf("%w: mass update count %d is negative", ErrInvalid, n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	body := toJSONish(fields)
	vals, errs := s.coerce(o, body, false)
	if len(errs) == 0 {
		errs = s.checkRefs(o, vals)
	}
	if len(errs) > 0 {
		return MassUpdateResult{}, saveErr(errs)
	}
	stamp := s.now().UnixMilli()
	var hit []*record
	for _, r := range o.recs {
		if n > 0 && len(hit) >= n {
			break
		}
		if !r.deleted {
			hit = append(hit, r)
			stamp = max(stamp, r.stamp+1)
		}
	}
	missing := max(0, n-len(hit))
	filler := importFiller(o.name)
	if missing > 0 && filler == nil {
		return MassUpdateResult{}, fmt.Errorf("%w: mass update of %d %s records: only %d are live, and the sandbox imports only Opportunity, Contact and Account records",
			ErrInvalid, n, o.name, len(hit))
	}
	// Validate the imported records' values once before changing anything.
	var imports []map[int]value
	for k := range missing {
		ib := filler(k+1, stamp)
		maps.Copy(ib, body)
		iv, errs := s.prepareCreate(o, ib)
		if len(errs) > 0 {
			return MassUpdateResult{}, fmt.Errorf("import %s: %w", o.name, saveErr(errs))
		}
		imports = append(imports, iv)
	}
	for _, r := range hit {
		old := slices.Clone(r.vals)
		for idx, v := range vals {
			r.vals[idx] = v
		}
		s.derive(o, r, vals)
		r.vals[o.iModified], r.vals[o.iModifiedBy], r.vals[o.iStamp] = val(stamp), val(s.userID), val(stamp)
		r.stamp = stamp
		o.encode(r)
		s.out.notify(o, r, old, false)
	}
	for _, iv := range imports {
		r := s.newRecord(o, iv, s.userID, stamp)
		o.encode(r)
		o.load(r) // appended in id order; the stamp index is sorted once below
		s.out.notify(o, r, nil, true)
	}
	slices.SortFunc(o.byStamp, stampLess)
	return MassUpdateResult{Updated: len(hit), Created: len(imports), SystemModstamp: fmtDateTime(stamp)}, nil
}

// importFiller returns the required values of the k-th record a mass update imports into object
// (wire form), or nil when the sandbox does not import that object.
func importFiller(object string) func(k int, stamp int64) map[string]any {
	switch object {
	case "Opportunity":
		return func(k int, stamp int64) map[string]any {
			return map[string]any{"Name": fmt.Sprintf("Imported opportunity %d", k), "StageName": "Prospecting",
				"CloseDate": time.UnixMilli(stamp).UTC().AddDate(0, 3, 0).Format(layoutDate), "Type": "New Business"}
		}
	case "Contact":
		return func(k int, _ int64) map[string]any {
			return map[string]any{"FirstName": "Imported", "LastName": fmt.Sprintf("Contact %d", k),
				"Email": fmt.Sprintf("imported-%d@import.example.com", k)}
		}
	case "Account":
		return func(k int, _ int64) map[string]any {
			return map[string]any{"Name": fmt.Sprintf("Imported account %d", k)}
		}
	}
	return nil
}

// LagChange describes a write whose commit lags behind its stamp (Salesforce's commit lag): the
// record gets a SystemModstamp of now-StampBehind, but readers see the change only once it is
// released, by which time a reader's cursor may already be past the stamp.
type LagChange struct {
	// Object is the sObject, e.g. "Opportunity".
	Object string `json:"object"`
	// ID is the record to change; empty creates a new record (its id is assigned on release).
	ID string `json:"id,omitempty"`
	// Fields are the values to write (wire form).
	Fields map[string]any `json:"fields"`
	// StampBehind puts the stamp this far before now.
	StampBehind time.Duration `json:"-"`
	// Hold keeps the change invisible until ReleaseLagged (or VisibleAfter passes on the clock).
	// Without Hold and VisibleAfter the change is visible at once, only with the old stamp.
	Hold bool `json:"hold,omitempty"`
	// VisibleAfter releases a held change once the clock has moved this far past now (checked on
	// each API request).
	VisibleAfter time.Duration `json:"-"`
}

type pendingChange struct {
	obj       *object
	rec       *record // nil for a create
	vals      map[int]value
	stamp     int64
	visibleAt int64 // 0: only on ReleaseLagged
}

// CommitLag applies or holds a lagging change (see LagChange) and returns the id of the record
// it touches (empty for a held create).
func (s *Sandbox) CommitLag(c LagChange) (string, error) {
	o, err := s.objectByName(c.Object)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UnixMilli()
	p := &pendingChange{obj: o, stamp: now - c.StampBehind.Milliseconds()}
	var errs []saveError
	if c.ID == "" {
		p.vals, errs = s.prepareCreate(o, toJSONish(c.Fields))
	} else {
		var lerr *saveError
		if p.rec, lerr = s.lookup(o, c.ID); lerr != nil {
			return "", saveErr([]saveError{*lerr})
		}
		if p.vals, errs = s.coerce(o, toJSONish(c.Fields), false); len(errs) == 0 {
			errs = s.checkRefs(o, p.vals)
		}
	}
	if len(errs) > 0 {
		return "", saveErr(errs)
	}
	if !c.Hold && c.VisibleAfter <= 0 {
		return s.applyPending(p), nil
	}
	if c.VisibleAfter > 0 {
		p.visibleAt = now + c.VisibleAfter.Milliseconds()
	}
	s.pending = append(s.pending, p)
	s.ctl.nPending.Add(1)
	if p.rec != nil {
		return p.rec.id, nil
	}
	return "", nil
}

// applyPending writes a lagging change with its old stamp. Callers hold s.mu for writing.
func (s *Sandbox) applyPending(p *pendingChange) string {
	if p.rec == nil {
		return s.createRecord(p.obj, p.vals, s.userID, p.stamp).id
	}
	s.applyUpdate(p.obj, p.rec, p.vals, s.ownerOf(p.obj, p.rec), p.stamp)
	return p.rec.id
}

// ReleaseLagged makes every held change visible and returns the ids of the records it touched.
func (s *Sandbox) ReleaseLagged() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := []string{}
	for _, p := range s.pending {
		ids = append(ids, s.applyPending(p))
	}
	s.ctl.nPending.Add(-int32(len(s.pending)))
	s.pending = nil
	return ids
}

// releaseDue applies held changes whose VisibleAfter has passed.
func (s *Sandbox) releaseDue() {
	if s.ctl.nPending.Load() == 0 {
		return
	}
	now := s.now().UnixMilli()
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.pending[:0]
	for _, p := range s.pending {
		if p.visibleAt > 0 && now >= p.visibleAt {
			s.applyPending(p)
			s.ctl.nPending.Add(-1)
			continue
		}
		kept = append(kept, p)
	}
	s.pending = kept
}

// toJSONish turns Go values into what the JSON decoder would have produced (json.Number for
// numbers), so control writes are validated exactly like API writes.
func toJSONish(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case int:
			v = json.Number(fmt.Sprint(x))
		case int64:
			v = json.Number(fmt.Sprint(x))
		case float64:
			v = json.Number(fmt.Sprint(x))
		case time.Time:
			v = x.UTC().Format(time.RFC3339Nano)
		}
		out[k] = v
	}
	return out
}
