package hubspot

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/google/uuid"
)

// apiError is HubSpot's general error body: {status, message, correlationId, category,
// subCategory?, context?, errors?}. Rate-limit bodies use errorType and policyName instead of
// category. Every top-level error carries a correlationId; the per-input errors of a 207 batch
// answer have none, as in HubSpot's examples (CRM-API.md B4), so the field is left out when empty.
type apiError struct {
	Status        string              `json:"status"`
	Message       string              `json:"message"`
	CorrelationID string              `json:"correlationId,omitempty"`
	Category      string              `json:"category,omitempty"`
	SubCategory   string              `json:"subCategory,omitempty"`
	ErrorType     string              `json:"errorType,omitempty"`
	PolicyName    string              `json:"policyName,omitempty"`
	RequestID     string              `json:"requestId,omitempty"`
	Context       map[string][]string `json:"context,omitempty"`
	Errors        []apiErrorDetail    `json:"errors,omitempty"`
}

type apiErrorDetail struct {
	Message string              `json:"message"`
	Code    string              `json:"code,omitempty"`
	In      string              `json:"in,omitempty"`
	Context map[string][]string `json:"context,omitempty"`
}

// Error categories HubSpot sends.
const (
	catInvalidAuth   = "INVALID_AUTHENTICATION"
	catExpiredAuth   = "EXPIRED_AUTHENTICATION"
	catNotFound      = "OBJECT_NOT_FOUND"
	catValidation    = "VALIDATION_ERROR"
	catRateLimits    = "RATE_LIMITS"
	catInternalError = "INTERNAL_ERROR"
)

func newCorrelationID() string { return uuid.NewString() }

// writeError writes a HubSpot error body with status code.
func writeError(w http.ResponseWriter, code int, category, message string) {
	writeJSON(w, code, apiError{Status: "error", Message: message, CorrelationID: newCorrelationID(), Category: category})
}

// writeJSON marshals v and writes it with status code and Content-Type application/json.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b = []byte(`{"status":"error","message":"internal error","category":"INTERNAL_ERROR"}`)
	}
	writeRaw(w, code, b)
}

// writeRaw writes an already encoded JSON body.
func writeRaw(w http.ResponseWriter, code int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// writeNoContent answers 204 without a body (and so without a Content-Type).
func writeNoContent(w http.ResponseWriter) {
	w.WriteHeader(http.StatusNoContent)
}
