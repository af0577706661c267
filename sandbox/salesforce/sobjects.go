package salesforce

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// saveError is one error of a write, in collection form (statusCode); single-record endpoints
// render it as errorCode.
type saveError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

func newSaveError(code, msg string, fields ...string) saveError {
	if fields == nil {
		fields = []string{}
	}
	return saveError{StatusCode: code, Message: msg, Fields: fields}
}

func writeSaveErrors(w http.ResponseWriter, status int, errs []saveError) {
	out := make([]apiError, len(errs))
	for i, e := range errs {
		out[i] = apiError{Message: e.Message, ErrorCode: e.StatusCode, Fields: e.Fields}
		if out[i].Fields == nil {
			out[i].Fields = []string{}
		}
	}
	writeJSON(w, status, out)
}

// decodeBody reads a JSON object or value with numbers kept exact.
func decodeBody(r *http.Request, v any) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		//lint:ignore ST1005 the text is Salesforce's own JSON_PARSER_ERROR message, sent to clients as is
		return fmt.Errorf("Unexpected character in JSON body: %v", err)
	}
	return nil
}

// coerce validates body against o's schema and returns the typed values by field position. It
// does not check references (see checkRefs) or required fields on create (see checkRequired).
// Keys "attributes", "id" and (on update) "Id" are skipped.
func (s *Sandbox) coerce(o *object, body map[string]any, create bool) (map[int]value, []saveError) {
	vals := map[int]value{}
	var errs []saveError
	var readOnly []string
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		raw := body[k]
		if k == "attributes" || k == "id" || (!create && k == "Id") {
			continue
		}
		f := o.field(k)
		if f == nil {
			errs = append(errs, newSaveError("INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type %s", k, o.name), k))
			continue
		}
		if create && !f.createable() || !create && !f.updateable() {
			readOnly = append(readOnly, f.Name)
			continue
		}
		v, err := coerceValue(f, raw)
		if err != nil {
			errs = append(errs, *err)
			continue
		}
		if v == nil && f.Required && f.Type != "boolean" {
			errs = append(errs, newSaveError("REQUIRED_FIELD_MISSING", fmt.Sprintf("Required fields are missing: [%s]", f.Name), f.Name))
			continue
		}
		if v == nil && f.Type == "boolean" {
			v = false
		}
		vals[f.idx] = val(v)
	}
	if len(readOnly) > 0 {
		errs = append(errs, newSaveError("INVALID_FIELD_FOR_INSERT_UPDATE",
			fmt.Sprintf("Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", strings.Join(readOnly, ", ")),
			readOnly...))
	}
	return vals, errs
}

func coerceValue(f *fieldDef, raw any) (any, *saveError) {
	badType := func() *saveError {
		e := newSaveError("INVALID_TYPE_ON_FIELD_IN_RECORD", fmt.Sprintf("%s: value not of required type: %v", f.Label, raw), f.Name)
		return &e
	}
	if raw == nil {
		return nil, nil
	}
	switch {
	case f.textual():
		var str string
		switch x := raw.(type) {
		case string:
			str = x
		case json.Number:
			str = x.String()
		case bool:
			str = strconv.FormatBool(x)
		default:
			return nil, badType()
		}
		if str == "" {
			return nil, nil // Salesforce stores an empty string as null
		}
		if f.Type == "reference" || f.Type == "id" {
			id, ok := normalizeID(str)
			if !ok {
				e := newSaveError("MALFORMED_ID", fmt.Sprintf("%s: id value of incorrect type: %s", f.Label, str), f.Name)
				return nil, &e
			}
			return id, nil
		}
		if n := utf8.RuneCountInString(str); n > f.Length {
			shown := str
			if len(shown) > 40 {
				shown = shown[:40] + "..."
			}
			e := newSaveError("STRING_TOO_LONG", fmt.Sprintf("%s: data value too large: %s (max length=%d)", f.Label, shown, f.Length), f.Name)
			return nil, &e
		}
		if f.Type == "picklist" && f.Restricted {
			if !slices.Contains(f.Picklist, str) {
				e := newSaveError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", fmt.Sprintf("%s: bad value for restricted picklist field: %s", f.Label, str), f.Name)
				return nil, &e
			}
		}
		if f.Type == "email" && (!strings.Contains(str, "@") || strings.ContainsAny(str, " ,;")) {
			e := newSaveError("INVALID_EMAIL_ADDRESS", fmt.Sprintf("%s: invalid email address: %s", f.Label, str), f.Name)
			return nil, &e
		}
		return str, nil
	case f.numeric():
		var n float64
		switch x := raw.(type) {
		case json.Number:
			v, err := x.Float64()
			if err != nil {
				return nil, badType()
			}
			n = v
		case string:
			v, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return nil, badType()
			}
			n = v
		case float64:
			n = x
		default:
			return nil, badType()
		}
		n = roundTo(n, f.Scale)
		intDigits := len(strconv.FormatInt(int64(abs(n)), 10))
		if int64(abs(n)) == 0 {
			intDigits = 0
		}
		if intDigits > f.Precision-f.Scale {
			e := newSaveError("NUMBER_OUTSIDE_VALID_RANGE", fmt.Sprintf("%s: value outside of valid range on numeric field: %v", f.Label, raw), f.Name)
			return nil, &e
		}
		return n, nil
	case f.Type == "boolean":
		switch x := raw.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return b, nil
			}
		}
		return nil, badType()
	case f.Type == "date":
		str, ok := raw.(string)
		if !ok {
			return nil, badType()
		}
		if len(str) > 10 && str[10] == 'T' {
			str = str[:10]
		}
		ms, ok := parseDate(str)
		if !ok {
			return nil, badType()
		}
		return ms, nil
	case f.Type == "datetime":
		str, ok := raw.(string)
		if !ok {
			return nil, badType()
		}
		ms, ok := parseDateTime(str)
		if !ok {
			return nil, badType()
		}
		return ms, nil
	}
	return nil, badType()
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// checkRefs verifies that reference values point at live records of the target object. Callers
// hold s.mu.
func (s *Sandbox) checkRefs(o *object, vals map[int]value) []saveError {
	var errs []saveError
	for idx, v := range vals {
		f := o.fields[idx]
		if f.Type != "reference" || v.k != kText {
			continue
		}
		id := v.s
		target := s.objects[strings.ToLower(f.ReferenceTo)]
		if !strings.HasPrefix(id, target.keyPrefix) {
			errs = append(errs, newSaveError("FIELD_INTEGRITY_EXCEPTION",
				fmt.Sprintf("%s: id value of incorrect type: %s", f.Label, id), f.Name))
			continue
		}
		if r := target.byID[id]; r == nil || r.deleted {
			errs = append(errs, newSaveError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", f.Name))
		}
	}
	return errs
}

// checkRequired reports required, createable fields a create leaves out (booleans default to
// false, OwnerId to the running user).
func checkRequired(o *object, vals map[int]value) []saveError {
	var missing []string
	for _, f := range o.fields {
		if !f.Required || !f.createable() || f.Type == "boolean" || f.Name == "OwnerId" {
			continue
		}
		if vals[f.idx].null() {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return []saveError{newSaveError("REQUIRED_FIELD_MISSING", fmt.Sprintf("Required fields are missing: [%s]", strings.Join(missing, ", ")), missing...)}
}

// lookup finds a record for a write; the error says why it cannot be written.
func (s *Sandbox) lookup(o *object, rawID string) (*record, *saveError) {
	id, ok := normalizeID(rawID)
	if !ok || !strings.HasPrefix(id, o.keyPrefix) {
		e := newSaveError("MALFORMED_ID", fmt.Sprintf("%s ID: id value of incorrect type: %s", o.label, rawID), "Id")
		return nil, &e
	}
	r := o.byID[id]
	if r == nil {
		e := newSaveError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
		return nil, &e
	}
	if r.deleted {
		e := newSaveError("ENTITY_IS_DELETED", "entity is deleted")
		return nil, &e
	}
	return r, nil
}

// prepareUpdate validates an update of the record rawID; callers hold s.mu.
func (s *Sandbox) prepareUpdate(o *object, rawID string, body map[string]any) (*record, map[int]value, []saveError) {
	r, lerr := s.lookup(o, rawID)
	if lerr != nil {
		return nil, nil, []saveError{*lerr}
	}
	vals, errs := s.coerce(o, body, false)
	if len(errs) == 0 {
		errs = s.checkRefs(o, vals)
	}
	if len(errs) == 0 {
		errs = s.checkRules(o, r, vals)
	}
	if len(errs) == 0 {
		if fe := s.ctl.takeWriteFailure(r.id); fe != nil {
			errs = []saveError{*fe}
		}
	}
	return r, vals, errs
}

// prepareCreate validates a new record's values; callers hold s.mu.
func (s *Sandbox) prepareCreate(o *object, body map[string]any) (map[int]value, []saveError) {
	if o.name == "User" {
		return nil, []saveError{newSaveError("INSUFFICIENT_ACCESS_OR_READONLY", "the sandbox does not create users")}
	}
	for _, k := range []string{"Id", "id"} {
		if _, ok := body[k]; ok {
			return nil, []saveError{newSaveError("INVALID_FIELD", "Id: cannot specify Id in an insert call", "Id")}
		}
	}
	vals, errs := s.coerce(o, body, true)
	if len(errs) == 0 {
		errs = append(checkRequired(o, vals), s.checkRefs(o, vals)...)
	}
	if len(errs) == 0 {
		errs = s.checkRules(o, nil, vals)
	}
	return vals, errs
}

// stampFor returns the stamp a write at now gives r: strictly later than its current one.
func stampFor(r *record, now int64) int64 {
	if r != nil && now <= r.stamp {
		return r.stamp + 1
	}
	return now
}

// applyUpdate writes vals into r with the given stamp and derives dependent fields. Callers hold
// s.mu for writing.
func (s *Sandbox) applyUpdate(o *object, r *record, vals map[int]value, by string, stamp int64) {
	old := slices.Clone(r.vals)
	for idx, v := range vals {
		r.vals[idx] = v
	}
	s.derive(o, r, vals)
	r.vals[o.iModified] = val(stamp)
	r.vals[o.iModifiedBy] = val(by)
	o.setStamp(r, stamp)
	s.out.notify(o, r, old, false)
}

// createRecord inserts a new record. Callers hold s.mu for writing.
func (s *Sandbox) createRecord(o *object, vals map[int]value, by string, stamp int64) *record {
	r := s.newRecord(o, vals, by, stamp)
	if f := o.field("IsPrimary"); f != nil && r.vals[f.idx] == val(true) {
		s.clearPrimary(o, r, by, stamp)
	}
	o.insert(r)
	s.out.notify(o, r, nil, true)
	return r
}

// newRecord builds a new record of o from vals, owned by by when vals set no OwnerId, with its
// derived fields and audit fields at stamp. It is in no index yet.
func (s *Sandbox) newRecord(o *object, vals map[int]value, by string, stamp int64) *record {
	r := o.blank(o.newID())
	for idx, v := range vals {
		r.vals[idx] = v
	}
	if f := o.field("OwnerId"); f != nil && r.vals[f.idx].null() {
		r.vals[f.idx] = val(by)
	}
	s.derive(o, r, vals)
	o.audit(r, stamp, stamp, by)
	return r
}

// clearPrimary unsets IsPrimary on the other contact roles of r's opportunity: one primary per
// opportunity.
func (s *Sandbox) clearPrimary(o *object, r *record, by string, stamp int64) {
	opp := r.vals[o.field("OpportunityId").idx].s
	ip := o.field("IsPrimary").idx
	for _, other := range o.byParent[opp] {
		if other != r && other.vals[ip] == val(true) && !other.deleted {
			other.vals[ip] = val(false)
			other.vals[o.iModified], other.vals[o.iModifiedBy] = val(stamp), val(by)
			o.setStamp(other, stampFor(other, stamp))
		}
	}
}

// derive recomputes fields that follow from others: the stage's probability, closed and won
// flags and forecast category; full names.
func (s *Sandbox) derive(o *object, r *record, changed map[int]value) {
	switch o.name {
	case "Opportunity":
		sf := o.field("StageName")
		if _, ok := changed[sf.idx]; !ok {
			return
		}
		st, ok := stageInfo(r.vals[sf.idx].s)
		if !ok {
			return
		}
		if _, given := changed[o.field("Probability").idx]; !given {
			r.vals[o.field("Probability").idx] = val(st.Probability)
		}
		if _, given := changed[o.field("ForecastCategoryName").idx]; !given {
			r.vals[o.field("ForecastCategoryName").idx] = val(forecastCategory(st))
		}
		r.vals[o.field("IsClosed").idx] = val(st.Closed)
		r.vals[o.field("IsWon").idx] = val(st.Won)
	case "Contact", "User":
		fn, ln := r.vals[o.field("FirstName").idx].s, r.vals[o.field("LastName").idx].s
		r.vals[o.field("Name").idx] = val(strings.TrimSpace(fn + " " + ln))
	case "OpportunityContactRole":
		if v, ok := changed[o.field("IsPrimary").idx]; ok && v == val(true) && o.byID[r.id] != nil {
			s.clearPrimary(o, r, r.vals[o.iModifiedBy].s, r.stamp)
		}
	}
}

// deleteRecord moves r to the recycle bin (IsDeleted, queryAll, deleted/). Deleting an
// opportunity deletes its contact roles too. Callers hold s.mu for writing.
func (s *Sandbox) deleteRecord(o *object, r *record, by string, now int64) {
	stamp := stampFor(r, now)
	old := slices.Clone(r.vals)
	r.deleted, r.deletedAt = true, now
	r.vals[o.iDeleted] = val(true)
	r.vals[o.iModified], r.vals[o.iModifiedBy] = val(stamp), val(by)
	o.setStamp(r, stamp)
	o.deletions = append(o.deletions, r)
	s.out.notify(o, r, old, false)
	if o.name == "Opportunity" {
		ocr := s.objects["opportunitycontactrole"]
		for _, cr := range ocr.byParent[r.id] {
			if !cr.deleted {
				s.deleteRecord(ocr, cr, by, now)
			}
		}
	}
}

func (s *Sandbox) object(w http.ResponseWriter, r *http.Request) *object {
	o := s.objects[strings.ToLower(r.PathValue("object"))]
	if o == nil {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	}
	return o
}

func (s *Sandbox) handleObjectInfo(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	o := s.object(w, r)
	if o == nil {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"objectDescribe": objectSummary(o, rc.version), "recentItems": []any{}})
}

func (s *Sandbox) handleGetRecord(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	o := s.object(w, r)
	if o == nil {
		return
	}
	fields := o.fields
	if fs := r.URL.Query().Get("fields"); fs != "" {
		fields = nil
		for _, name := range strings.Split(fs, ",") {
			f := o.field(strings.TrimSpace(name))
			if f == nil {
				writeErrors(w, http.StatusBadRequest, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on entity '%s'.", strings.TrimSpace(name), o.name))
				return
			}
			fields = append(fields, f)
		}
	}
	id, ok := normalizeID(r.PathValue("id"))
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec := o.byID[id]
	switch {
	case !ok || rec == nil:
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	case rec.deleted:
		writeErrors(w, http.StatusNotFound, "ENTITY_IS_DELETED", "entity is deleted")
	default:
		writeRaw(w, http.StatusOK, appendRecord(nil, o, rec, fields, rc.version))
	}
}

func (s *Sandbox) handleUpdateRecord(w http.ResponseWriter, r *http.Request, _ *reqCtx) {
	o := s.object(w, r)
	if o == nil {
		return
	}
	var body map[string]any
	if err := decodeBody(r, &body); err != nil || body == nil {
		writeErrors(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "The request body must be a JSON object of field values")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, vals, errs := s.prepareUpdate(o, r.PathValue("id"), body)
	if len(errs) > 0 {
		status := http.StatusBadRequest
		if errs[0].StatusCode == "INVALID_CROSS_REFERENCE_KEY" && len(errs[0].Fields) == 0 || errs[0].StatusCode == "ENTITY_IS_DELETED" {
			status = http.StatusNotFound
			if errs[0].StatusCode != "ENTITY_IS_DELETED" {
				errs = []saveError{newSaveError("NOT_FOUND", "The requested resource does not exist")}
			}
		}
		writeSaveErrors(w, status, errs)
		return
	}
	s.applyUpdate(o, rec, vals, s.userID, stampFor(rec, s.now().UnixMilli()))
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sandbox) handleCreate(w http.ResponseWriter, r *http.Request, _ *reqCtx) {
	o := s.object(w, r)
	if o == nil {
		return
	}
	var body map[string]any
	if err := decodeBody(r, &body); err != nil || body == nil {
		writeErrors(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "The request body must be a JSON object of field values")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	vals, errs := s.prepareCreate(o, body)
	if len(errs) > 0 {
		writeSaveErrors(w, http.StatusBadRequest, errs)
		return
	}
	rec := s.createRecord(o, vals, s.userID, s.now().UnixMilli())
	writeJSON(w, http.StatusCreated, map[string]any{"id": rec.id, "success": true, "errors": []any{}})
}

func (s *Sandbox) handleDeleteRecord(w http.ResponseWriter, r *http.Request, _ *reqCtx) {
	o := s.object(w, r)
	if o == nil {
		return
	}
	if o.name == "User" {
		writeErrors(w, http.StatusBadRequest, "INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, lerr := s.lookup(o, r.PathValue("id"))
	if lerr != nil {
		if lerr.StatusCode == "ENTITY_IS_DELETED" {
			writeErrors(w, http.StatusNotFound, "ENTITY_IS_DELETED", "entity is deleted")
		} else {
			writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		}
		return
	}
	if fe := s.ctl.takeWriteFailure(rec.id); fe != nil {
		writeSaveErrors(w, http.StatusBadRequest, []saveError{*fe})
		return
	}
	s.deleteRecord(o, rec, s.userID, s.now().UnixMilli())
	w.WriteHeader(http.StatusNoContent)
}
