package salesforce

import (
	"fmt"
	"net/http"
	"strings"
)

// sObject Collections: /composite/sobjects. Writes answer 200 with one result per record in input
// order whenever the request is well formed; allOrNone rolls every record back when one fails.

const maxCollection = 200

type saveResult struct {
	ID      *string     `json:"id"`
	Success bool        `json:"success"`
	Errors  []saveError `json:"errors"`
}

type collectionBody struct {
	AllOrNone bool             `json:"allOrNone"`
	Records   []map[string]any `json:"records"`
}

func (s *Sandbox) readCollection(w http.ResponseWriter, r *http.Request) (*collectionBody, bool) {
	var body collectionBody
	if err := decodeBody(r, &body); err != nil {
		writeErrors(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "The request body is not a valid collection: "+err.Error())
		return nil, false
	}
	if len(body.Records) > maxCollection {
		writeErrors(w, http.StatusBadRequest, "EXCEEDED_ID_LIMIT", fmt.Sprintf("record limit reached. cannot submit more than %d records into this call", maxCollection))
		return nil, false
	}
	return &body, true
}

// recordType reads attributes.type.
func recordType(rec map[string]any) string {
	if a, ok := rec["attributes"].(map[string]any); ok {
		if t, ok := a["type"].(string); ok {
			return t
		}
	}
	return ""
}

// recordID reads the record id from "id", "Id", attributes.id or the last segment of
// attributes.url.
func recordID(rec map[string]any) string {
	for _, k := range []string{"id", "Id"} {
		if v, ok := rec[k].(string); ok && v != "" {
			return v
		}
	}
	if a, ok := rec["attributes"].(map[string]any); ok {
		if v, ok := a["id"].(string); ok && v != "" {
			return v
		}
		if u, ok := a["url"].(string); ok && u != "" {
			return u[strings.LastIndexByte(u, '/')+1:]
		}
	}
	return ""
}

// pendingWrite is a validated record of a collection, applied once the whole request is known
// to go through.
type pendingWrite struct {
	obj  *object
	rec  *record // updates and deletes
	vals map[int]value
	errs []saveError
	id   string
}

func (s *Sandbox) handleCollectionUpdate(w http.ResponseWriter, r *http.Request, _ *reqCtx) {
	body, ok := s.readCollection(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	writes := make([]pendingWrite, len(body.Records))
	for i, rec := range body.Records {
		pw := &writes[i]
		pw.id = recordID(rec)
		o := s.objects[strings.ToLower(recordType(rec))]
		switch {
		case o == nil:
			pw.errs = []saveError{newSaveError("INVALID_TYPE", "Must send a concrete entity type in attributes.type.")}
		case pw.id == "":
			pw.errs = []saveError{newSaveError("MISSING_ARGUMENT", "Id not specified in an update call", "Id")}
		default:
			pw.obj = o
			pw.rec, pw.vals, pw.errs = s.prepareUpdate(o, pw.id, rec)
			if pw.rec != nil {
				pw.id = pw.rec.id
			}
		}
	}
	now := s.now().UnixMilli()
	s.finishCollection(w, body.AllOrNone, writes, func(pw *pendingWrite) {
		s.applyUpdate(pw.obj, pw.rec, pw.vals, s.userID, stampFor(pw.rec, now))
	})
}

func (s *Sandbox) handleCollectionCreate(w http.ResponseWriter, r *http.Request, _ *reqCtx) {
	body, ok := s.readCollection(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	writes := make([]pendingWrite, len(body.Records))
	for i, rec := range body.Records {
		pw := &writes[i]
		o := s.objects[strings.ToLower(recordType(rec))]
		if o == nil {
			pw.errs = []saveError{newSaveError("INVALID_TYPE", "Must send a concrete entity type in attributes.type.")}
			continue
		}
		pw.obj = o
		pw.vals, pw.errs = s.prepareCreate(o, rec)
	}
	now := s.now().UnixMilli()
	s.finishCollection(w, body.AllOrNone, writes, func(pw *pendingWrite) {
		pw.id = s.createRecord(pw.obj, pw.vals, s.userID, now).id
	})
}

func (s *Sandbox) handleCollectionDelete(w http.ResponseWriter, r *http.Request, _ *reqCtx) {
	q := r.URL.Query()
	ids := strings.Split(q.Get("ids"), ",")
	if q.Get("ids") == "" {
		writeErrors(w, http.StatusBadRequest, "MISSING_ARGUMENT", "ids parameter is required")
		return
	}
	if len(ids) > maxCollection {
		writeErrors(w, http.StatusBadRequest, "EXCEEDED_ID_LIMIT", fmt.Sprintf("record limit reached. cannot submit more than %d records into this call", maxCollection))
		return
	}
	allOrNone := strings.EqualFold(q.Get("allOrNone"), "true")
	s.mu.Lock()
	defer s.mu.Unlock()
	writes := make([]pendingWrite, len(ids))
	for i, raw := range ids {
		pw := &writes[i]
		pw.id = raw
		var o *object
		for _, cand := range s.objects {
			if len(raw) >= 3 && raw[:3] == cand.keyPrefix {
				o = cand
			}
		}
		if o == nil || o.name == "User" {
			pw.errs = []saveError{newSaveError("MALFORMED_ID", "malformed id "+raw)}
			continue
		}
		rec, lerr := s.lookup(o, raw)
		if lerr != nil {
			pw.errs = []saveError{*lerr}
			continue
		}
		pw.obj, pw.rec, pw.id = o, rec, rec.id
		if fe := s.ctl.takeWriteFailure(rec.id); fe != nil {
			pw.errs = []saveError{*fe}
		}
	}
	now := s.now().UnixMilli()
	s.finishCollection(w, allOrNone, writes, func(pw *pendingWrite) {
		if !pw.rec.deleted { // the same id twice, or a role deleted with its opportunity
			s.deleteRecord(pw.obj, pw.rec, s.userID, now)
		}
	})
}

// finishCollection applies the valid writes (all or none) and answers the per-record results.
func (s *Sandbox) finishCollection(w http.ResponseWriter, allOrNone bool, writes []pendingWrite, apply func(*pendingWrite)) {
	failed := false
	for _, pw := range writes {
		if len(pw.errs) > 0 {
			failed = true
		}
	}
	results := make([]saveResult, len(writes))
	for i := range writes {
		pw := &writes[i]
		switch {
		case len(pw.errs) > 0:
			results[i] = saveResult{Errors: pw.errs}
			if pw.rec != nil {
				results[i].ID = &pw.rec.id
			}
		case allOrNone && failed:
			results[i] = saveResult{Errors: []saveError{newSaveError("ALL_OR_NONE_OPERATION_ROLLED_BACK",
				"Record rolled back because not all records were valid and the request was using AllOrNone header")}}
			if pw.rec != nil {
				results[i].ID = &pw.rec.id
			}
		default:
			apply(pw)
			id := pw.id
			results[i] = saveResult{ID: &id, Success: true, Errors: []saveError{}}
		}
	}
	writeJSON(w, http.StatusOK, results)
}

func (s *Sandbox) handleCollectionRetrieve(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var body struct {
		IDs    []string `json:"ids"`
		Fields []string `json:"fields"`
	}
	if err := decodeBody(r, &body); err != nil {
		writeErrors(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "The request body must be {\"ids\":[...],\"fields\":[...]}")
		return
	}
	s.retrieve(w, r, rc, body.IDs, body.Fields, 2000)
}

func (s *Sandbox) handleCollectionRetrieveGet(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	q := r.URL.Query()
	var ids, fields []string
	if v := q.Get("ids"); v != "" {
		ids = strings.Split(v, ",")
	}
	if v := q.Get("fields"); v != "" {
		fields = strings.Split(v, ",")
	}
	s.retrieve(w, r, rc, ids, fields, 800)
}

func (s *Sandbox) retrieve(w http.ResponseWriter, r *http.Request, rc *reqCtx, ids, names []string, maxIDs int) {
	o := s.object(w, r)
	if o == nil {
		return
	}
	if len(ids) == 0 || len(names) == 0 {
		writeErrors(w, http.StatusBadRequest, "MISSING_ARGUMENT", "ids and fields are required")
		return
	}
	if len(ids) > maxIDs {
		writeErrors(w, http.StatusBadRequest, "EXCEEDED_ID_LIMIT", fmt.Sprintf("cannot retrieve more than %d records in one call", maxIDs))
		return
	}
	fields := make([]*fieldDef, 0, len(names))
	for _, n := range names {
		f := o.field(strings.TrimSpace(n))
		if f == nil {
			writeErrors(w, http.StatusBadRequest, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on entity '%s'.", strings.TrimSpace(n), o.name))
			return
		}
		fields = append(fields, f)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	b := make([]byte, 0, 512*len(ids))
	b = append(b, '[')
	for i, raw := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		id, ok := normalizeID(strings.TrimSpace(raw))
		rec := o.byID[id]
		if !ok || rec == nil || rec.deleted {
			b = append(b, "null"...)
			continue
		}
		b = appendRecord(b, o, rec, fields, rc.version)
	}
	b = append(b, ']')
	writeRaw(w, http.StatusOK, b)
}
