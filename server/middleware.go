package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/plans"
)

// Headers the API reads and writes.
const (
	// HeaderRequestID carries the request id: taken from the request when it is a sane token
	// (up to 64 letters, digits, '-', '_', '.'), made up otherwise, and always echoed.
	HeaderRequestID = "X-Request-Id"
	// HeaderActor names the person a trusted client (a portal, a CRM widget) acts for. Without it
	// the actor is the API token itself. See Options.
	HeaderActor = "X-Mapsync-Actor"
	// HeaderSide is the side of that person, "seller" (default) or "buyer". A buyer actor sees and
	// may change only what a buyer may (plans.BuyerView): internal actions are not found.
	HeaderSide = "X-Mapsync-Side"
)

type ctxKey int

const infoKey ctxKey = iota

// requestInfo is what the middleware and the handlers share about one request.
type requestInfo struct {
	id    string
	token string // the API token's name, never the token
	err   error  // the cause of a 5xx, for the log line
}

func infoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(infoKey).(*requestInfo)
	return info
}

func requestID(ctx context.Context) string {
	if info := infoFrom(ctx); info != nil {
		return info.id
	}
	return ""
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func saneID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}

// metrics are the HTTP metrics, registered on the Registerer given to New.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mapsync_http_requests_total",
			Help: "HTTP requests served, by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mapsync_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe wraps the router: it gives each request an id (echoed in X-Request-Id) and a logger
// carrying it, then logs one line per request (request_id, method, path, route, status, bytes,
// took, token) and counts it. The route label is the matched pattern ("GET /api/v1/plans/{plan}"),
// never the raw path, so ids do not blow up the label set.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		id := r.Header.Get(HeaderRequestID)
		if !saneID(id) {
			id = newRequestID()
		}
		info := &requestInfo{id: id}
		log := s.log.With().Str("request_id", id).Logger()
		ctx := context.WithValue(log.WithContext(r.Context()), infoKey, info)
		w.Header().Set(HeaderRequestID, id)
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(ctx)
		next.ServeHTTP(sw, r)

		took := s.now().Sub(start)
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched"
		}
		s.metrics.requests.WithLabelValues(route, r.Method, strconv.Itoa(status)).Inc()
		s.metrics.duration.WithLabelValues(route).Observe(took.Seconds())

		level := zerolog.InfoLevel
		switch {
		case status >= 500:
			level = zerolog.ErrorLevel
		case r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics":
			level = zerolog.DebugLevel
		}
		ev := log.WithLevel(level).
			Str("method", r.Method).Str("path", r.URL.Path).Str("route", route).
			Int("status", status).Int("bytes", sw.bytes).Dur("took", took)
		if info.token != "" {
			ev = ev.Str("token", info.token)
		}
		if info.err != nil {
			ev = ev.Err(info.err)
		}
		ev.Msg("http request")
	})
}

// apiFunc is a handler of the plan API: it gets the verified actor and returns an error for
// writeError instead of writing one itself.
type apiFunc func(w http.ResponseWriter, r *http.Request, by plans.Actor) error

// api wraps h with bearer-token authentication, the check of the query parameters (the route
// takes only params, each at most once), the check of the text of path and query values, and
// error writing.
func (s *Server) api(h apiFunc, params ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		by, err := s.authenticate(r)
		if err == nil {
			err = checkQuery(r, params)
		}
		if err == nil {
			err = checkText(r)
		}
		if err == nil {
			err = h(w, r, by)
		}
		if err != nil {
			writeError(w, r, s.unavailable(r, namedNotFound(r, err)))
		}
	})
}

// checkText refuses path parameters and query values that are not text: invalid UTF-8, or a NUL
// byte (PostgreSQL cannot hold either in a text value, so a lookup would fail instead of finding
// nothing). Each is a 400 naming the parameter, the same on every database, before any lookup.
func checkText(r *http.Request) error {
	for _, name := range wildcards(r.Pattern) {
		if msg := notText(r.PathValue(name)); msg != "" {
			return errBadRequest(name, "%s in the URL: %s", name, msg)
		}
	}
	if r.URL.RawQuery == "" {
		return nil
	}
	q := r.URL.Query()
	for _, name := range slices.Sorted(maps.Keys(q)) {
		for _, v := range q[name] {
			if msg := notText(v); msg != "" {
				return errBadRequest(name, "%s: %s", name, msg)
			}
		}
	}
	return nil
}

// notText says what is wrong with s as text, or "" when it is valid UTF-8 without NUL bytes.
func notText(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "not valid UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		return "contains a NUL byte"
	}
	return ""
}

// wildcards returns the names of the wildcards of a ServeMux pattern ("GET /plans/{plan}" has
// "plan").
func wildcards(pattern string) []string {
	var out []string
	for {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(pattern[i:], '}')
		if j < 0 {
			return out
		}
		name := strings.TrimSuffix(pattern[i+1:i+j], "...")
		if name != "$" {
			out = append(out, name)
		}
		pattern = pattern[i+j+1:]
	}
}

// checkQuery refuses query parameters the route does not take, and parameters given twice: a
// misspelt filter must not silently list everything.
func checkQuery(r *http.Request, params []string) error {
	if r.URL.RawQuery == "" {
		return nil
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return errBadRequest("", "malformed query string: %s", err)
	}
	for _, name := range slices.Sorted(maps.Keys(q)) {
		switch {
		case !slices.Contains(params, name) && len(params) == 0:
			return errBadRequest(name, "unknown query parameter %q: this endpoint takes none", name)
		case !slices.Contains(params, name):
			return errBadRequest(name, "unknown query parameter %q: want %s", name, strings.Join(params, ", "))
		case len(q[name]) > 1:
			return errBadRequest(name, "query parameter %q given %d times: give it once", name, len(q[name]))
		}
	}
	return nil
}

func forbidden(msg string) error {
	return &httpError{status: http.StatusForbidden, body: APIError{Code: "forbidden", Message: msg}}
}

func unauthorized(msg string) error {
	return &httpError{status: http.StatusUnauthorized, body: APIError{Code: "unauthorized", Message: msg}}
}

// authenticate verifies the bearer token and returns the actor the request acts as.
func (s *Server) authenticate(r *http.Request) (plans.Actor, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if h == "" {
		return plans.Actor{}, unauthorized("missing Authorization: Bearer <token> header")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return plans.Actor{}, unauthorized("want Authorization: Bearer <token>")
	}
	name, err := s.store.VerifyAPIToken(r.Context(), token)
	if err != nil {
		if errors.Is(err, plans.ErrNotFound) || errors.Is(err, ErrBadToken) {
			return plans.Actor{}, unauthorized("invalid or revoked API token")
		}
		return plans.Actor{}, err
	}
	if info := infoFrom(r.Context()); info != nil {
		info.token = name
	}
	by := plans.Actor{ID: "token:" + name, Name: name, Side: plans.SideSeller}
	if actor := strings.TrimSpace(r.Header.Get(HeaderActor)); actor != "" {
		if len(actor) > 200 {
			return plans.Actor{}, errBadRequest(HeaderActor, "%s: at most 200 characters", HeaderActor)
		}
		if msg := notText(actor); msg != "" {
			return plans.Actor{}, errBadRequest(HeaderActor, "%s: %s", HeaderActor, msg)
		}
		by.ID, by.Name = actor, actor+" (via "+name+")"
	}
	switch side := strings.ToLower(strings.TrimSpace(r.Header.Get(HeaderSide))); side {
	case "", string(plans.SideSeller):
	case string(plans.SideBuyer):
		by.Side = plans.SideBuyer
	default:
		return plans.Actor{}, errBadRequest(HeaderSide, "%s: want seller or buyer, got %q", HeaderSide, side)
	}
	return by, nil
}

// ErrBadToken may be returned (wrapped) by a TokenVerifier for a token that is unknown, revoked
// or malformed; the API answers 401. Errors matching plans.ErrNotFound (store.ErrNotFound is the
// same sentinel) are read the same way.
// Any other error is a 500.
var ErrBadToken = errors.New("invalid API token")
