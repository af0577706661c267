// Package wire holds what the CRM simulators write on the wire alike: JSON strings appended to a
// buffer without reflection, a response writer that remembers its status for the request
// counters, and the corrupt 200 replies of the fault injection (ServeBadBody).
package wire

import (
	"net/http"
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s to b as a JSON string: quotes, backslashes and control characters
// escaped, invalid UTF-8 replaced by U+FFFD.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// StatusWriter remembers the status code written through it and, with OnStatus, reports it
// once, before the reply leaves: a client that has read the reply must find its request counted
// (a count taken after the handler returns can lag behind what the client already saw).
type StatusWriter struct {
	http.ResponseWriter
	status   int
	onStatus func(int)
	reported bool
}

// NewStatusWriter wraps w.
func NewStatusWriter(w http.ResponseWriter) *StatusWriter { return &StatusWriter{ResponseWriter: w} }

// OnStatus sets fn to be called once with the reply's status: when the handler first writes
// the status or a byte of the body, before it is passed on, or at Finish when it wrote nothing.
func (w *StatusWriter) OnStatus(fn func(status int)) { w.onStatus = fn }

// Finish reports the status (200 when the handler wrote nothing) if it has not been reported.
func (w *StatusWriter) Finish() { w.report() }

func (w *StatusWriter) report() {
	if w.reported || w.onStatus == nil {
		return
	}
	w.reported = true
	w.onStatus(w.Status())
}

// WriteHeader records the first status and passes it on.
func (w *StatusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.report()
	w.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200 and passes the bytes on.
func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.report()
	return w.ResponseWriter.Write(b)
}

// Status is the status written, 200 when none was written explicitly.
func (w *StatusWriter) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// BadBody names a corrupt reply that a sandbox can serve in place of a good one, as a proxy, a
// load balancer or a cut connection might: a 200 whose body a client cannot use.
type BadBody string

// The corrupt replies.
const (
	// BadBodyTruncated serves the real reply with its status and headers but only the first half
	// of its body (Content-Length matching what is sent, so the transport sees no error).
	BadBodyTruncated BadBody = "truncated"
	// BadBodyNotJSON answers 200 with an HTML maintenance page; the request is not served.
	BadBodyNotJSON BadBody = "not_json"
	// BadBodyWrongShape answers 200 with a JSON object that is no reply of the endpoint; the
	// request is not served.
	BadBodyWrongShape BadBody = "wrong_shape"
)

// ParseBadBody returns the BadBody named s, or false.
func ParseBadBody(s string) (BadBody, bool) {
	switch b := BadBody(s); b {
	case BadBodyTruncated, BadBodyNotJSON, BadBodyWrongShape:
		return b, true
	}
	return "", false
}

// ServeBadBody answers r with the corrupt reply kind; h serves the real reply where kind needs it.
func ServeBadBody(kind BadBody, w http.ResponseWriter, r *http.Request, h http.Handler) {
	switch kind {
	case BadBodyNotJSON:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("<html><head><title>Maintenance</title></head><body><h1>Down for maintenance</h1></body></html>\n"))
	case BadBodyWrongShape:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"message":"ok","unexpected":true}`))
	default:
		rec := &recorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		body := rec.body[:len(rec.body)/2]
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Status())
		_, _ = w.Write(body)
	}
}

// recorder buffers a reply for ServeBadBody.
type recorder struct {
	header http.Header
	status int
	body   []byte
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body = append(r.body, b...)
	return len(b), nil
}

// Status is the status written, 200 when none was.
func (r *recorder) Status() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}
