package hubspot

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

const maxBatchInputs = 100

// writeBatch writes a batch response: 200 when every input succeeded, else 207 Multi-Status
// with numErrors and errors (a success with partial results).
func writeBatch[T any](w http.ResponseWriter, results []T, errs []apiError, started, completed time.Time) {
	if results == nil {
		results = []T{}
	}
	out := struct {
		Status      string     `json:"status"`
		Results     []T        `json:"results"`
		NumErrors   int        `json:"numErrors,omitempty"`
		Errors      []apiError `json:"errors,omitempty"`
		StartedAt   string     `json:"startedAt"`
		CompletedAt string     `json:"completedAt"`
	}{"COMPLETE", results, len(errs), errs, started.Format(isoMillis), completed.Format(isoMillis)}
	code := http.StatusOK
	if len(errs) > 0 {
		code = http.StatusMultiStatus
	}
	writeJSON(w, code, out)
}

// batchIDs reads {"inputs":[{"id":...}]} ids, checking the batch size.
type batchInput struct {
	ID         json.Number    `json:"id"`
	Properties map[string]any `json:"properties"`
}

func checkBatchSize(w http.ResponseWriter, n int) bool {
	if n > maxBatchInputs {
		writeError(w, http.StatusBadRequest, catValidation, fmt.Sprintf("Batch input limit of %d exceeded: got %d inputs", maxBatchInputs, n))
		return false
	}
	return true
}

func notFoundError(ot *objectType, verb string, ids []string) apiError {
	return apiError{Status: "error", Category: catNotFound,
		Message: fmt.Sprintf("Could not %s some %s objects, they may be deleted or not exist. Check that ids are valid.", verb, ot.upper),
		Context: map[string][]string{"ids": ids}}
}

// rawRecord lets pre-rendered records sit inside an encoding/json response.
type rawRecord = json.RawMessage

// handleBatchRead serves POST /crm/v3/objects/{objectType}/batch/read.
func (s *Sandbox) handleBatchRead(w http.ResponseWriter, r *http.Request) {
	ot := s.objectTypeOf(w, r, "objectType")
	if ot == nil {
		return
	}
	var in struct {
		Properties []string     `json:"properties"`
		IDProperty string       `json:"idProperty"`
		Inputs     []batchInput `json:"inputs"`
	}
	if !decodeBody(w, r, &in) || !checkBatchSize(w, len(in.Inputs)) {
		return
	}
	archived := r.URL.Query().Get("archived") == "true"
	sel := ot.selectProperties(in.Properties)
	started := s.now()
	var results []rawRecord
	var missing []string
	s.mu.RLock()
	for _, input := range in.Inputs {
		rec := ot.find(in.IDProperty, input.ID.String(), started)
		if rec == nil || rec.archived != archived {
			missing = append(missing, input.ID.String())
			continue
		}
		results = append(results, ot.appendRecord(nil, rec, sel, nil))
	}
	s.mu.RUnlock()
	var errs []apiError
	if len(missing) > 0 {
		errs = append(errs, notFoundError(ot, "get", missing))
	}
	writeBatch(w, results, errs, started, s.now())
}

// handleBatchUpdate serves POST /crm/v3/objects/{objectType}/batch/update. Any invalid value
// fails the whole batch with 400; unknown ids and injected write faults give 207.
func (s *Sandbox) handleBatchUpdate(w http.ResponseWriter, r *http.Request) {
	ot := s.objectTypeOf(w, r, "objectType")
	if ot == nil {
		return
	}
	var in struct {
		IDProperty string       `json:"idProperty"`
		Inputs     []batchInput `json:"inputs"`
	}
	if !decodeBody(w, r, &in) || !checkBatchSize(w, len(in.Inputs)) {
		return
	}
	changes := make([][]change, len(in.Inputs))
	var errs []propertyError
	seen := map[string]bool{}
	for i, input := range in.Inputs {
		if seen[input.ID.String()] {
			writeError(w, http.StatusBadRequest, catValidation, "Duplicate IDs found in batch input: ["+input.ID.String()+"]. IDs must be unique")
			return
		}
		seen[input.ID.String()] = true
		c, e := ot.validate(input.Properties)
		changes[i], errs = c, append(errs, e...)
	}
	if len(errs) > 0 {
		writeValidation(w, errs)
		return
	}
	now := s.now()
	var results []rawRecord
	var missing []string
	var apiErrs []apiError
	var events []Event
	s.mu.Lock()
	recs := make([]*record, len(in.Inputs))
	for i, input := range in.Inputs {
		rec := ot.find(in.IDProperty, input.ID.String(), now)
		if rec == nil || rec.archived {
			continue
		}
		recs[i] = rec
		// A stage outside the deal's pipeline (after this input's pipeline change, if any) is an
		// invalid value like any other: the whole batch fails.
		if pe := s.checkStage(ot, rec, changes[i]); pe != nil {
			errs = append(errs, *pe)
		}
	}
	if len(errs) > 0 {
		s.mu.Unlock()
		writeValidation(w, errs)
		return
	}
	for i, input := range in.Inputs {
		rec := recs[i]
		if rec == nil {
			missing = append(missing, input.ID.String())
			continue
		}
		if s.faults.takeFailWrite(ot.name, rec.idStr) {
			apiErrs = append(apiErrs, apiError{Status: "error", Category: catInternalError,
				Message: "injected fault: write of " + ot.singular + " " + rec.idStr + " failed",
				Context: map[string][]string{"ids": {rec.idStr}}})
			continue
		}
		events = append(events, s.applyChanges(ot, rec, changes[i], now, "INTEGRATION")...)
		results = append(results, ot.appendRecord(nil, rec, ot.writeSelection(changes[i]), nil))
	}
	s.mu.Unlock()
	s.hooks.emit(events)
	if len(missing) > 0 {
		apiErrs = append(apiErrs, notFoundError(ot, "update", missing))
	}
	writeBatch(w, results, apiErrs, now, s.now())
}

// handleBatchCreate serves POST /crm/v3/objects/{objectType}/batch/create (201).
func (s *Sandbox) handleBatchCreate(w http.ResponseWriter, r *http.Request) {
	ot := s.objectTypeOf(w, r, "objectType")
	if ot == nil {
		return
	}
	var in struct {
		Inputs []objectInput `json:"inputs"`
	}
	if !decodeBody(w, r, &in) || !checkBatchSize(w, len(in.Inputs)) {
		return
	}
	changes := make([][]change, len(in.Inputs))
	var errs []propertyError
	for i, input := range in.Inputs {
		c, e := ot.validate(input.Properties)
		if pe := s.checkStage(ot, nil, c); pe != nil && len(e) == 0 {
			e = append(e, *pe)
		}
		changes[i], errs = c, append(errs, e...)
	}
	if len(errs) > 0 {
		writeValidation(w, errs)
		return
	}
	now := s.now()
	results := []rawRecord{}
	var events []Event
	s.mu.Lock()
	for i, input := range in.Inputs {
		rec, ev := s.createRecord(ot, changes[i], now, "INTEGRATION")
		s.associateInputs(ot, rec, input.Associations)
		events = append(events, ev...)
		results = append(results, ot.appendRecord(nil, rec, ot.writeSelection(changes[i]), nil))
	}
	s.mu.Unlock()
	s.hooks.emit(events)
	out := map[string]any{"status": "COMPLETE", "results": results, "startedAt": now.Format(isoMillis), "completedAt": s.now().Format(isoMillis)}
	writeJSON(w, http.StatusCreated, out)
}

// handleBatchArchive serves POST /crm/v3/objects/{objectType}/batch/archive (204).
func (s *Sandbox) handleBatchArchive(w http.ResponseWriter, r *http.Request) {
	ot := s.objectTypeOf(w, r, "objectType")
	if ot == nil {
		return
	}
	var in struct {
		Inputs []batchInput `json:"inputs"`
	}
	if !decodeBody(w, r, &in) || !checkBatchSize(w, len(in.Inputs)) {
		return
	}
	now := s.now()
	var events []Event
	s.mu.Lock()
	for _, input := range in.Inputs {
		if rec := ot.lookup(input.ID.String(), now); rec != nil {
			events = append(events, s.archiveRecord(ot, rec, now, "INTEGRATION")...)
		}
	}
	s.mu.Unlock()
	s.hooks.emit(events)
	writeNoContent(w)
}
