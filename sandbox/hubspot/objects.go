package hubspot

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// visible reports whether rec can be read at now (the late-visibility trap hides it).
func visible(rec *record, now time.Time) bool {
	return !rec.held && (rec.visibleAt.IsZero() || !now.Before(rec.visibleAt))
}

// lookup returns the visible record id of ot; the caller holds s.mu.
func (ot *objectType) lookup(id string, now time.Time) *record {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil
	}
	rec := ot.byID[n]
	if rec == nil || !visible(rec, now) {
		return nil
	}
	return rec
}

// searchIndex returns the position of the first record with id >= id.
func (ot *objectType) searchIndex(id int64) int {
	return sort.Search(len(ot.records), func(i int) bool { return ot.records[i].id >= id })
}

// listLimit reads limit (default def, at most maxLimit), writing a 400 when invalid.
func listLimit(w http.ResponseWriter, raw string, def, maxLimit int) (int, bool) {
	if raw == "" {
		return def, true
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > maxLimit {
		writeError(w, http.StatusBadRequest, catValidation, fmt.Sprintf("limit must be between 1 and %d, got %s", maxLimit, raw))
		return 0, false
	}
	return n, true
}

// handleList serves GET /crm/v3/objects/{objectType}: a page of records in id order.
func (s *Sandbox) handleList(w http.ResponseWriter, r *http.Request) {
	ot := s.objectTypeOf(w, r, "objectType")
	if ot == nil {
		return
	}
	q := r.URL.Query()
	limit, ok := listLimit(w, q.Get("limit"), 10, 100)
	if !ok {
		return
	}
	var after int64
	if a := q.Get("after"); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, catValidation, "Invalid after: "+a)
			return
		}
		after = n
	}
	archived := q.Get("archived") == "true"
	sel := ot.selectProperties(q["properties"])
	assocTypes := s.assocTargets(ot, q["associations"])
	now := s.now()

	bp := getBuf()
	defer putBuf(bp)
	b := append((*bp)[:0], `{"results":[`...)
	s.mu.RLock()
	i := ot.searchIndex(after)
	n := 0
	next := ""
	for ; i < len(ot.records); i++ {
		rec := ot.records[i]
		if rec.archived != archived || !visible(rec, now) {
			continue
		}
		if n == limit {
			next = rec.idStr
			break
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = ot.appendRecord(b, rec, sel, s.v3Associations(ot, rec, assocTypes))
		n++
	}
	s.mu.RUnlock()
	b = append(b, ']')
	if next != "" {
		b = appendPaging(b, next, nextLink(r.URL, next))
	}
	b = append(b, '}')
	*bp = b
	writeRaw(w, http.StatusOK, b)
}

// handleGet serves GET /crm/v3/objects/{objectType}/{objectId}.
func (s *Sandbox) handleGet(w http.ResponseWriter, r *http.Request) {
	ot := s.objectTypeOf(w, r, "objectType")
	if ot == nil {
		return
	}
	q := r.URL.Query()
	id := r.PathValue("objectId")
	sel := ot.selectProperties(q["properties"])
	assocTypes := s.assocTargets(ot, q["associations"])
	archived := q.Get("archived") == "true"
	now := s.now()
	s.mu.RLock()
	rec := ot.find(q.Get("idProperty"), id, now)
	var b []byte
	if rec != nil && rec.archived == archived {
		b = ot.appendRecord(nil, rec, sel, s.v3Associations(ot, rec, assocTypes))
	}
	s.mu.RUnlock()
	if b == nil {
		writeNotFound(w, id)
		return
	}
	writeRaw(w, http.StatusOK, b)
}

// find looks a record up by id or by the value of idProperty; the caller holds s.mu.
func (ot *objectType) find(idProperty, id string, now time.Time) *record {
	if idProperty == "" || idProperty == "hs_object_id" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return nil
		}
		if rec := ot.byID[n]; rec != nil && visible(rec, now) {
			return rec
		}
		return nil
	}
	pi, ok := ot.propIdx[idProperty]
	if !ok {
		return nil
	}
	for _, rec := range ot.records {
		if !rec.archived && visible(rec, now) && strings.EqualFold(rec.get(pi), id) {
			return rec
		}
	}
	return nil
}

func writeNotFound(w http.ResponseWriter, id string) {
	writeJSON(w, http.StatusNotFound, apiError{Status: "error", Message: "Object not found.  objectId are usually numeric.",
		CorrelationID: newCorrelationID(), Category: catNotFound, Context: map[string][]string{"id": {id}}})
}

// writeValidation writes HubSpot's 400 VALIDATION_ERROR for invalid property values.
func writeValidation(w http.ResponseWriter, errs []propertyError) {
	list, _ := json.Marshal(errs)
	writeJSON(w, http.StatusBadRequest, apiError{Status: "error", Message: "Property values were not valid: " + string(list),
		CorrelationID: newCorrelationID(), Category: catValidation})
}

// objectInput is the body of create and update.
type objectInput struct {
	ID           string            `json:"id,omitempty"`
	Properties   map[string]any    `json:"properties"`
	Associations []associationSpec `json:"associations,omitempty"`
}

type associationSpec struct {
	To struct {
		ID json.Number `json:"id"`
	} `json:"to"`
	Types []struct {
		Category string `json:"associationCategory"`
		TypeID   int    `json:"associationTypeId"`
	} `json:"types"`
}

// change is one validated property write.
type change struct {
	idx   int
	value string
}

// validate checks props against ot's definitions; values may be strings, numbers or booleans.
func (ot *objectType) validate(props map[string]any) ([]change, []propertyError) {
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []change
	var errs []propertyError
	for _, name := range names {
		raw := ""
		switch v := props[name].(type) {
		case nil:
		case string:
			raw = v
		case json.Number:
			raw = v.String()
		case float64:
			raw = strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			raw = strconv.FormatBool(v)
		default:
			b, _ := json.Marshal(v)
			raw = string(b)
		}
		i, val, perr := ot.normalize(name, raw)
		if perr != nil {
			errs = append(errs, *perr)
			continue
		}
		out = append(out, change{idx: i, value: val})
	}
	return out, errs
}

// checkStage reports a deal write that would leave dealstage on a stage of another pipeline
// than the deal's: HubSpot stages belong to one pipeline, and it refuses such a write with 400
// VALIDATION_ERROR (the message text is the sandbox's). rec is the deal before the write, nil
// for a create (whose pipeline defaults to "default"); the caller holds s.mu when rec is set.
// Writes that touch neither dealstage nor pipeline, and a cleared stage, pass.
func (s *Sandbox) checkStage(ot *objectType, rec *record, changes []change) *propertyError {
	if ot.name != "deals" {
		return nil
	}
	si, pi := ot.propIdx["dealstage"], ot.propIdx["pipeline"]
	stage, pipeline := "", ""
	if rec != nil {
		stage, pipeline = rec.get(si), rec.get(pi)
	}
	touched := false
	for _, c := range changes {
		switch c.idx {
		case si:
			stage, touched = c.value, true
		case pi:
			pipeline, touched = c.value, true
		}
	}
	if pipeline == "" {
		pipeline = "default"
	}
	if !touched || stage == "" {
		return nil
	}
	if st, ok := s.stages[stage]; ok && st.pipeline == pipeline {
		return nil
	}
	var valid []Option
	for _, p := range s.pipelines {
		if p.id == pipeline {
			for _, st := range p.stages {
				valid = append(valid, Option{Value: st.id})
			}
		}
	}
	return &propertyError{Message: fmt.Sprintf("%s is not a valid dealstage for pipeline %s; the stages of pipeline %s are %s",
		stage, pipeline, pipeline, optionList(valid)), Error: "INVALID_OPTION", Name: "dealstage"}
}

// decodeBody decodes a JSON body, writing a 400 on failure.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<20))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, catValidation, "Invalid input JSON: "+err.Error())
		return false
	}
	return true
}

// applyChanges writes changes to rec at now, bumps its stamp and returns the webhook events;
// the caller holds s.mu for writing.
func (s *Sandbox) applyChanges(ot *objectType, rec *record, changes []change, now time.Time, source string) []Event {
	var events []Event
	for _, c := range changes {
		if rec.vals[c.idx] == c.value {
			continue
		}
		rec.vals[c.idx] = c.value
		v := c.value
		events = append(events, s.hooks.newEvent(ot.singular+".propertyChange", rec.id, now, source,
			func(e *Event) { e.PropertyName, e.PropertyValue = ot.props[c.idx].Name, &v }))
	}
	if ot.name == "deals" {
		s.deriveDeal(rec)
	}
	ot.touch(rec, now)
	return events
}

// createRecord inserts a new record of ot; the caller holds s.mu for writing.
func (s *Sandbox) createRecord(ot *objectType, changes []change, now time.Time, source string) (*record, []Event) {
	vals := ot.newVals()
	for _, c := range changes {
		vals[c.idx] = c.value
	}
	if ot.name == "deals" {
		if pi := ot.propIdx["pipeline"]; vals[pi] == "" {
			vals[pi] = "default"
		}
	}
	created := now
	if t, err := time.Parse(isoMillis, vals[ot.iCreate]); err == nil {
		created = t // createdate may be written, e.g. by an import
	}
	rec := ot.insert(vals, created, now)
	if ot.name == "deals" {
		s.deriveDeal(rec)
	}
	return rec, s.creationEvents(ot, rec, now, source)
}

func (s *Sandbox) creationEvents(ot *objectType, rec *record, now time.Time, source string) []Event {
	return []Event{s.hooks.newEvent(ot.singular+".creation", rec.id, now, source, func(e *Event) { e.ChangeFlag = "CREATED" })}
}

// handleCreate serves POST /crm/v3/objects/{objectType} (201).
func (s *Sandbox) handleCreate(w http.ResponseWriter, r *http.Request) {
	ot := s.objectTypeOf(w, r, "objectType")
	if ot == nil {
		return
	}
	var in objectInput
	if !decodeBody(w, r, &in) {
		return
	}
	changes, errs := ot.validate(in.Properties)
	if pe := s.checkStage(ot, nil, changes); pe != nil && len(errs) == 0 {
		errs = append(errs, *pe)
	}
	if len(errs) > 0 {
		writeValidation(w, errs)
		return
	}
	now := s.now()
	s.mu.Lock()
	rec, events := s.createRecord(ot, changes, now, "INTEGRATION")
	s.associateInputs(ot, rec, in.Associations)
	b := ot.appendRecord(nil, rec, ot.writeSelection(changes), nil)
	s.mu.Unlock()
	s.hooks.emit(events)
	writeRaw(w, http.StatusCreated, b)
}

// writeSelection is what a write returns: the defaults plus every written property.
func (ot *objectType) writeSelection(changes []change) selection {
	idx := append([]int(nil), ot.defaults...)
	for _, c := range changes {
		found := false
		for _, i := range idx {
			found = found || i == c.idx
		}
		if !found {
			idx = append(idx, c.idx)
		}
	}
	return selection{idx: idx}
}

// handleUpdate serves PATCH /crm/v3/objects/{objectType}/{objectId} (200).
func (s *Sandbox) handleUpdate(w http.ResponseWriter, r *http.Request) {
	ot := s.objectTypeOf(w, r, "objectType")
	if ot == nil {
		return
	}
	var in objectInput
	if !decodeBody(w, r, &in) {
		return
	}
	changes, errs := ot.validate(in.Properties)
	if len(errs) > 0 {
		writeValidation(w, errs)
		return
	}
	id := r.PathValue("objectId")
	now := s.now()
	s.mu.Lock()
	rec := ot.find(r.URL.Query().Get("idProperty"), id, now)
	if rec == nil || rec.archived {
		s.mu.Unlock()
		writeNotFound(w, id)
		return
	}
	if pe := s.checkStage(ot, rec, changes); pe != nil {
		s.mu.Unlock()
		writeValidation(w, []propertyError{*pe})
		return
	}
	if s.faults.takeFailWrite(ot.name, rec.idStr) {
		s.mu.Unlock()
		writeError(w, http.StatusInternalServerError, catInternalError, "injected fault: write of "+ot.singular+" "+rec.idStr+" failed")
		return
	}
	events := s.applyChanges(ot, rec, changes, now, "INTEGRATION")
	b := ot.appendRecord(nil, rec, ot.writeSelection(changes), nil)
	s.mu.Unlock()
	s.hooks.emit(events)
	writeRaw(w, http.StatusOK, b)
}

// archiveRecord archives rec at now; the caller holds s.mu for writing.
func (s *Sandbox) archiveRecord(ot *objectType, rec *record, now time.Time, source string) []Event {
	if rec.archived {
		return nil
	}
	rec.archived, rec.archAt = true, now
	ot.touch(rec, now)
	return []Event{s.hooks.newEvent(ot.singular+".deletion", rec.id, now, source, func(e *Event) { e.ChangeFlag = "DELETED" })}
}

// handleArchive serves DELETE /crm/v3/objects/{objectType}/{objectId} (204, also for unknown ids).
func (s *Sandbox) handleArchive(w http.ResponseWriter, r *http.Request) {
	ot := s.objectTypeOf(w, r, "objectType")
	if ot == nil {
		return
	}
	id := r.PathValue("objectId")
	now := s.now()
	s.mu.Lock()
	rec := ot.lookup(id, now)
	if rec != nil && s.faults.takeFailWrite(ot.name, rec.idStr) {
		s.mu.Unlock()
		writeError(w, http.StatusInternalServerError, catInternalError, "injected fault: write of "+ot.singular+" "+rec.idStr+" failed")
		return
	}
	var events []Event
	if rec != nil {
		events = s.archiveRecord(ot, rec, now, "INTEGRATION")
	}
	s.mu.Unlock()
	s.hooks.emit(events)
	writeNoContent(w)
}
