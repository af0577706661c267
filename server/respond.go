package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

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
	// Field names the request field at fault, when there is one ("status", "responses.users").
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

func (e *httpError) Error() string { return e.body.Message }
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

// classify decides the status and body of err. Statuses come from errors.Is and errors.As only.
func classify(err error) (int, APIError) {
	var (
		he  *httpError
		ve  *plans.ValidationError
		ie  *plans.InputError
		te  *plans.TransitionError
		ce  *plans.ConflictError
		nf  *plans.NotFoundError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &he):
		return he.status, he.body
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, APIError{Code: "too_large", Message: fmt.Sprintf("request body is over %d bytes", mbe.Limit)}
	case errors.As(err, &ve):
		return http.StatusUnprocessableEntity, APIError{Code: "invalid_template", Message: fmt.Sprintf("invalid template: %d problem(s)", len(ve.Problems)), Problems: ve.Problems}
	case errors.As(err, &te):
		return http.StatusUnprocessableEntity, APIError{Code: "invalid_transition", Message: fmt.Sprintf("cannot go from %s to %s", te.From, te.To), Field: "status"}
	case errors.As(err, &ie):
		return http.StatusUnprocessableEntity, APIError{Code: "invalid", Message: ie.Message, Field: ie.Field}
	case errors.As(err, &ce):
		return http.StatusConflict, APIError{Code: "conflict", Message: fmt.Sprintf("action %s changed: version %d is stale, current is %d", ce.ActionID, ce.Version, ce.Current), Field: "version"}
	case errors.Is(err, plans.ErrClosed):
		return http.StatusConflict, APIError{Code: "plan_closed", Message: "plan is closed or cancelled and can no longer change"}
	case errors.Is(err, plans.ErrConflict):
		return http.StatusConflict, APIError{Code: "conflict", Message: "plan changed concurrently; read it again and retry"}
	case errors.As(err, &nf):
		return http.StatusNotFound, APIError{Code: "not_found", Message: nf.Error()}
	case errors.Is(err, plans.ErrNotFound):
		return http.StatusNotFound, APIError{Code: "not_found", Message: "not found"}
	case errors.Is(err, plans.ErrInvalid):
		return http.StatusUnprocessableEntity, APIError{Code: "invalid", Message: err.Error()}
	}
	return http.StatusInternalServerError, APIError{Code: "internal", Message: "internal error"}
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
		body.Message = "internal error (request id " + body.RequestID + ")"
		if info := infoFrom(r.Context()); info != nil {
			info.err = err
		}
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
// fields. An empty body is an error unless optional.
func decode(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) && optional {
		return nil
	}
	if err == nil {
		if _, extra := dec.Token(); !errors.Is(extra, io.EOF) {
			var mbe *http.MaxBytesError
			if errors.As(extra, &mbe) {
				return extra
			}
			return errBadRequest("", "malformed JSON: want one object, got more after it")
		}
		return nil
	}
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		ute *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, io.EOF):
		return errBadRequest("", "malformed JSON: empty body")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errBadRequest("", "malformed JSON: unexpected end of body")
	case errors.As(err, &se):
		return errBadRequest("", "malformed JSON at byte %d: %s", se.Offset, se.Error())
	case errors.As(err, &ute):
		field := ute.Field
		return errBadRequest(field, "%s: want %s, got JSON %s", fieldOr(field), ute.Type, ute.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return errBadRequest(name, "unknown field %q", name)
	}
	return errBadRequest("", "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func fieldOr(f string) string {
	if f == "" {
		return "body"
	}
	return f
}
