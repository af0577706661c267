package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/mapsync/mapsync/plans"
)

// MaxBodyBytes caps a request body (1 MiB); a larger one gets 413.
const MaxBodyBytes = 1 << 20

// ErrorBody is the one shape of every error the API returns:
//
//	{"error": {"code": "conflict", "message": "...", "field": "version"}}
type ErrorBody struct {
	// Error is the error.
	Error APIError `json:"error"`
}

// APIError is what went wrong, for machines (Code) and people (Message).
type APIError struct {
	// Code is a stable word: bad_request, unauthorized, forbidden, not_found, method_not_allowed, conflict,
	// plan_closed, invalid, invalid_transition, invalid_template, too_large, unavailable, internal.
	Code string `json:"code"`
	// Message says what is wrong, in lowercase.
	Message string `json:"message"`
	// Field names what in the request is at fault, when something is: a body field ("status",
	// "responses.users"), a query parameter ("limit"), a path parameter of a 404 ("plan"), or
	// the path in a template document of its first problem.
	Field string `json:"field,omitempty"`
	// Problems lists every problem of an invalid template, each with its path in the document.
	Problems []plans.Problem `json:"problems,omitempty"`
	// RequestID is the request's id, on 5xx errors, to find the request in the logs.
	RequestID string `json:"request_id,omitempty"`
}

// httpError is an error with its status and API error decided.
type httpError struct {
	status int
	body   APIError
	cause  error
}

// Error is the message, and the cause when there is one (for the log; clients get the body).
func (e *httpError) Error() string {
	if e.cause != nil {
		return e.body.Message + ": " + e.cause.Error()
	}
	return e.body.Message
}
func (e *httpError) Unwrap() error { return e.cause }

func errBadRequest(field, format string, args ...any) error {
	return &httpError{status: http.StatusBadRequest, body: APIError{Code: "bad_request", Message: fmt.Sprintf(format, args...), Field: field}}
}

// inBody turns a not-found error about something a request body names (a phase, a member, a
// role, a question) into an input error on that field: the URL was right, the body was not.
func inBody(err error, kind, field string) error {
	var nf *plans.NotFoundError
	if errors.As(err, &nf) && nf.Kind == kind {
		return &plans.InputError{Field: field, Message: nf.Error()}
	}
	return err
}

// urlParams maps the kinds of plans.NotFoundError to the URL path parameter that names them: a
// 404's field.
var urlParams = map[string]string{
	"plan": "plan", "action": "action", "sub-task": "subtask", "attachment": "attachment",
	"member": "member", "template": "key", "phase": "phase", "milestone": "milestone",
}

// classify decides the status and body of err. Statuses come from errors.Is and errors.As only.
func classify(err error) (int, APIError) {
	var (
		he  *httpError
		ve  *plans.ValidationError
		ie  *plans.InputError
		te  *plans.TransitionError
		ce  *plans.ConflictError
		ee  *plans.ExistsError
		nf  *plans.NotFoundError
		mbe *http.MaxBytesError
		pce *plans.PlanConflictError
		se  *plans.StepError
		fe  *plans.ForbiddenError
	)
	switch {
	case errors.As(err, &he):
		return he.status, he.body
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, APIError{Code: "too_large", Message: fmt.Sprintf("request body is over %d bytes", mbe.Limit)}
	case errors.As(err, &ve):
		body := APIError{Code: "invalid_template", Message: fmt.Sprintf("invalid template: %d problem(s)", len(ve.Problems)), Problems: ve.Problems}
		if len(ve.Problems) > 0 {
			body.Field = ve.Problems[0].Path
			body.Message += "; first: " + ve.Problems[0].String()
		}
		return http.StatusUnprocessableEntity, body
	case errors.As(err, &se):
		return http.StatusUnprocessableEntity, APIError{Code: "invalid_transition", Message: fmt.Sprintf("%s action cannot %s: %s", se.Type, se.Step, se.Reason), Field: "step"}
	case errors.As(err, &pce):
		return http.StatusConflict, APIError{Code: "conflict", Message: fmt.Sprintf("plan changed: version %d is stale, current is %d", pce.Version, pce.Current), Field: "plan_version"}
	case errors.As(err, &fe):
		return http.StatusForbidden, APIError{Code: "forbidden", Message: fe.Message}
	case errors.As(err, &te):
		return http.StatusUnprocessableEntity, APIError{Code: "invalid_transition", Message: fmt.Sprintf("cannot go from %s to %s", te.From, te.To), Field: "status"}
	case errors.As(err, &ie):
		return http.StatusUnprocessableEntity, APIError{Code: "invalid", Message: ie.Message, Field: ie.Field}
	case errors.As(err, &ce):
		return http.StatusConflict, APIError{Code: "conflict", Message: fmt.Sprintf("action %s changed: version %d is stale, current is %d", ce.ActionID, ce.Version, ce.Current), Field: "version"}
	case errors.As(err, &ee):
		return http.StatusConflict, APIError{Code: "conflict", Message: fmt.Sprintf("%s; choose another %s", ee.Error(), fieldOr(ee.Field)), Field: ee.Field}
	case errors.Is(err, plans.ErrClosed):
		return http.StatusConflict, APIError{Code: "plan_closed", Message: "plan is closed or cancelled and can no longer change"}
	case errors.Is(err, plans.ErrConflict):
		return http.StatusConflict, APIError{Code: "conflict", Message: "plan changed concurrently; read it again and retry"}
	case errors.As(err, &nf):
		return http.StatusNotFound, APIError{Code: "not_found", Message: fmt.Sprintf("%s %q not found", nf.Kind, nf.ID), Field: urlParams[nf.Kind]}
	case errors.Is(err, plans.ErrNotFound):
		return http.StatusNotFound, APIError{Code: "not_found", Message: "not found"}
	case errors.Is(err, plans.ErrInvalid):
		return http.StatusUnprocessableEntity, APIError{Code: "invalid", Message: err.Error()}
	}
	return http.StatusInternalServerError, APIError{Code: "internal", Message: "internal error"}
}

// namedNotFound turns a bare not-found error (the store's, which names no kind) into one naming
// what the URL asked for: the plan on routes under /plans/{plan}, the template on
// /templates/{key}. Other errors are returned as they are.
func namedNotFound(r *http.Request, err error) error {
	var nf *plans.NotFoundError
	if !errors.Is(err, plans.ErrNotFound) || errors.As(err, &nf) {
		return err
	}
	if id := r.PathValue("plan"); id != "" {
		return &plans.NotFoundError{Kind: "plan", ID: id}
	}
	if key := r.PathValue("key"); key != "" {
		return &plans.NotFoundError{Kind: "template", ID: key}
	}
	return err
}

// writeError writes err as the API's one error shape. A 5xx says "internal error" with the request
// id; the error itself goes to the request's log line (see logRequests), never to the client.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := classify(err)
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		status, body = 499, APIError{Code: "canceled", Message: "request canceled"}
	}
	if status >= 500 {
		body.RequestID = requestID(r.Context())
		if status == http.StatusInternalServerError {
			body.Message = "internal error (request id " + body.RequestID + ")"
		}
		if info := infoFrom(r.Context()); info != nil {
			info.err = err
		}
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", RetryAfter)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mapsync"`)
	}
	writeJSON(w, status, ErrorBody{Error: body})
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client has gone when this fails; the status is already logged
}

// decode reads the JSON body of r into v: at most MaxBodyBytes (else 413), one object, no unknown
// fields. An empty body is an error unless optional. Errors are 400s naming the field at fault
// in JSON terms ("status must be a string, got a number"), never Go types.
func decode(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return err // a *http.MaxBytesError (413), or the client went away
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if optional {
			return nil
		}
		return errBadRequest("", "malformed JSON: empty body")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); !errors.Is(extra, io.EOF) {
			return errBadRequest("", "malformed JSON: want one object, got more after it")
		}
		if bytes.Contains(data, []byte(`\u0000`)) {
			if field, ok := nulMember(data); ok {
				return errBadRequest(field, "%s: contains a NUL character (\\u0000)", fieldOr(field))
			}
		}
		return nil
	}
	var (
		se  *json.SyntaxError
		ute *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errBadRequest("", "malformed JSON: unexpected end of body")
	case errors.As(err, &se):
		return errBadRequest("", "malformed JSON at byte %d: %s", se.Offset, se.Error())
	case errors.As(err, &ute):
		return errBadRequest(ute.Field, "%s must be %s, got %s", fieldOr(ute.Field), jsonType(ute.Type), gotJSON(ute.Value))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return errBadRequest(name, "unknown field %q", name)
	}
	// A value's own decoder refused it (a date, a time): find which member it was.
	if field, ft, raw, ok := failingMember(data, v); ok {
		if leaf(ft) {
			return errBadRequest(field, "%s must be %s, got %s", field, jsonType(ft), short(raw))
		}
		// Something inside the member: say what the decoder said of it.
		return errBadRequest(field, "%s: %s", field, strings.TrimPrefix(err.Error(), "json: "))
	}
	return errBadRequest("", "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// nulMember returns the path ("questions[0].text") of the first string in the JSON document data,
// key or value, holding a NUL character: no text the API stores may hold one (PostgreSQL's text
// cannot). It runs only when the body has a \u0000 escape.
func nulMember(data []byte) (string, bool) {
	var doc any
	if json.Unmarshal(data, &doc) != nil {
		return "", false
	}
	var walk func(path string, v any) (string, bool)
	walk = func(path string, v any) (string, bool) {
		switch x := v.(type) {
		case string:
			return path, strings.IndexByte(x, 0) >= 0
		case []any:
			for i, e := range x {
				if p, ok := walk(fmt.Sprintf("%s[%d]", path, i), e); ok {
					return p, true
				}
			}
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(x)) {
				p := k
				if path != "" {
					p = path + "." + k
				}
				if strings.IndexByte(k, 0) >= 0 {
					return p, true
				}
				if p, ok := walk(p, x[k]); ok {
					return p, true
				}
			}
		}
		return "", false
	}
	return walk("", doc)
}

// failingMember decodes each member of the JSON object data on its own into a fresh value of v's
// type and returns the first (in key order) that fails, with the Go type of its struct field and
// its raw value. It runs only on the error path.
func failingMember(data []byte, v any) (field string, ft reflect.Type, raw json.RawMessage, ok bool) {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer {
		return "", nil, nil, false
	}
	var members map[string]json.RawMessage
	if json.Unmarshal(data, &members) != nil {
		return "", nil, nil, false
	}
	for _, name := range slices.Sorted(maps.Keys(members)) {
		one, err := json.Marshal(map[string]json.RawMessage{name: members[name]})
		if err != nil {
			continue
		}
		if json.Unmarshal(one, reflect.New(t.Elem()).Interface()) != nil {
			return name, memberType(t.Elem(), name), members[name], true
		}
	}
	return "", nil, nil, false
}

// memberType returns the type of the field of struct type t that JSON member name decodes into;
// nil when t is not a struct or has no such field.
func memberType(t reflect.Type, name string) reflect.Type {
	if t.Kind() != reflect.Struct {
		return nil
	}
	for f := range t.Fields() {
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == name || tag == "" && strings.EqualFold(f.Name, name) {
			return f.Type
		}
	}
	return nil
}

// leaf reports whether values of t are one JSON scalar (a string, number, boolean, date or time)
// rather than an array or object holding others; an unknown type is not.
func leaf(t reflect.Type) bool {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == nil:
		return false
	case t == dateType, t == timeType:
		return true
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map, reflect.Struct, reflect.Interface:
		return false
	}
	return true
}

var (
	dateType = reflect.TypeFor[plans.Date]()
	timeType = reflect.TypeFor[time.Time]()
)

// jsonType says, in JSON terms, what a value decoding into t must be.
func jsonType(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "a valid value"
	}
	switch t {
	case dateType:
		return `a date "YYYY-MM-DD" or null`
	case timeType:
		return `a time "YYYY-MM-DDTHH:MM:SSZ" (RFC 3339)`
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a valid value"
}

// gotJSON names what json.UnmarshalTypeError.Value reports: "number" becomes "a number",
// "number 1.5" becomes "1.5".
func gotJSON(value string) string {
	if _, v, ok := strings.Cut(value, " "); ok {
		return v
	}
	switch value {
	case "array", "object":
		return "an " + value
	case "bool":
		return "a boolean"
	case "":
		return "something else"
	}
	return "a " + value
}

// short returns a raw JSON value for a message, cut to 40 bytes.
func short(raw json.RawMessage) string {
	s := string(bytes.TrimSpace(raw))
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}

func fieldOr(f string) string {
	if f == "" {
		return "body"
	}
	return f
}
