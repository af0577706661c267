package salesforce

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/sandbox/fakedata"
	"github.com/mapsync/mapsync/sandbox/wire"
)

// Credentials the sandbox accepts.
const (
	ClientID     = "sandbox-client-id"
	ClientSecret = "sandbox-client-secret"
	RefreshToken = "sandbox-refresh-token"
	// Username and Password are accepted by the OAuth password grant. A security token may be
	// appended to the password, as Salesforce allows; it is ignored.
	Username = "sandbox@mapsync.example"
	Password = "sandbox-password"
)

// DefaultDailyLimit is the daily API request limit when Options.DailyLimit is 0: the allocation of
// an Enterprise Edition org with a few dozen licences.
const DefaultDailyLimit = 100000

// DefaultTokenTTL is the access-token lifetime when Options.TokenTTL is 0 (a Salesforce session's
// default timeout).
const DefaultTokenTTL = 2 * time.Hour

// Options configure a Sandbox.
type Options struct {
	// Deals is the number of generated opportunities; contacts and contact roles come with them
	// (about two per deal), users and accounts in proportion.
	Deals int
	// Seed makes the generated data deterministic.
	Seed uint64
	// Now is the clock for stamps, token expiry and the daily limit; nil means time.Now. When set,
	// it also anchors the generated data (stamps in the months before Now()); when nil the data
	// is anchored at 2026-11-01, fakedata's default, so it is the same on every day.
	Now func() time.Time
	// TokenTTL is the access-token lifetime; 0 means DefaultTokenTTL.
	TokenTTL time.Duration
	// DailyLimit is the daily API request allocation reported in Sforce-Limit-Info; 0 means
	// DefaultDailyLimit.
	DailyLimit int
	// CustomFields are extra fields per object. nil means DefaultCustomFields(); pass an empty,
	// non-nil slice for none.
	CustomFields []Field
	// Logger receives request and delivery logs (never tokens).
	Logger zerolog.Logger
}

// Sandbox is an in-process Salesforce REST API. It is an http.Handler serving the login host
// (/services/oauth2/...), the instance (/services/data/vNN.N/...) and the control API
// (/__sandbox/...) on one address. All methods are safe for concurrent use.
type Sandbox struct {
	opts   Options
	now    func() time.Time
	log    zerolog.Logger
	mux    *http.ServeMux
	orgID  string
	userID string // the integration user every token belongs to

	mu      sync.RWMutex // guards objects' records and indexes, pending
	objects map[string]*object
	pending []*pendingChange

	cursors  cursorStore
	compiled queryCache
	auth     authState
	limits   limitState
	ctl      controlState
	out      *outbound
}

// New builds a sandbox with a generated dataset. It panics on an invalid Options.CustomFields
// declaration (a programming error); NewWithError reports it instead.
func New(opts Options) *Sandbox {
	s, err := build(opts)
	if err != nil {
		panic(err)
	}
	return s
}

// NewWithError is New for custom fields that may be invalid: it reports a bad declaration instead
// of panicking.
func NewWithError(opts Options) (*Sandbox, error) { return build(opts) }

func build(opts Options) (*Sandbox, error) {
	// Generated dates lie before the anchor: the caller's clock when one is given (a fake clock
	// is deterministic), else fakedata's fixed default, so that the data does not depend on the
	// day it is generated.
	anchor := defaultAnchor()
	if opts.Now == nil {
		opts.Now = time.Now
	} else {
		anchor = opts.Now().UTC()
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.DailyLimit <= 0 {
		opts.DailyLimit = DefaultDailyLimit
	}
	if opts.CustomFields == nil {
		opts.CustomFields = DefaultCustomFields()
	}
	ds := fakedata.Generate(fakedata.Options{Deals: opts.Deals, Seed: opts.Seed, Now: anchor})
	objs, err := buildObjects(ds, anchor, opts.CustomFields)
	if err != nil {
		return nil, err
	}
	s := &Sandbox{opts: opts, now: opts.Now, log: opts.Logger, objects: objs, mux: http.NewServeMux()}
	s.orgID = makeID(prefixOrg, 4_000_000+opts.Seed%1000)
	s.userID = objs["user"].recs[0].id
	s.cursors.init()
	s.auth.init()
	s.limits.max = int64(opts.DailyLimit)
	s.out = newOutbound(s)
	s.routes()
	if opts.Deals >= largeDataset {
		// Collect the loading's garbage now: the collector then sets its next goal from the
		// dataset alone, and a first pull of it does not pay for marking it mid-pull.
		runtime.GC()
	}
	return s, nil
}

// largeDataset is the number of deals from which New collects its garbage before returning.
const largeDataset = 10_000

// defaultAnchor is fakedata's documented default "now".
func defaultAnchor() time.Time { return time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) }

// Close stops outbound-message delivery and waits for it to finish.
func (s *Sandbox) Close() { s.out.close() }

// OrgID returns the 18-character organization id.
func (s *Sandbox) OrgID() string { return s.orgID }

// UserID returns the id of the integration user the tokens belong to.
func (s *Sandbox) UserID() string { return s.userID }

// ServeHTTP implements http.Handler.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// reqCtx carries what the middleware learned about an API request.
type reqCtx struct {
	endpoint string
	version  string // "62.0"
	base     string // scheme://host
}

type apiHandler func(w http.ResponseWriter, r *http.Request, rc *reqCtx)

// methods maps an HTTP method to the endpoint name (for counters) and its handler.
type methods map[string]struct {
	name string
	h    apiHandler
}

// latestVersion is the newest API version the sandbox lists; /services/data/latest aliases it.
const latestVersion = "66.0"

var versionRe = regexp.MustCompile(`^v(\d{2,3}\.\d)$`)

func (s *Sandbox) routes() {
	const d = "/services/data/{version}"
	api := func(pattern string, m methods) { s.mux.Handle(d+pattern, s.api(m, true)) }
	s.mux.Handle("/services/oauth2/token", s.plain("oauth.token", s.handleToken))
	s.mux.Handle("/services/oauth2/revoke", s.plain("oauth.revoke", s.handleRevoke))
	s.mux.Handle("GET /id/{org}/{user}", s.plain("identity", s.handleIdentity))
	s.mux.Handle("/services/data", s.plain("versions", s.handleVersions))
	s.mux.Handle("/services/data/{$}", s.plain("versions", s.handleVersions))

	get := func(name string, h apiHandler) methods { return methods{"GET": {name, h}} }
	for _, p := range []string{"/query", "/query/{$}"} {
		api(p, get("query", s.handleQuery(false)))
	}
	for _, p := range []string{"/queryAll", "/queryAll/{$}"} {
		api(p, get("queryAll", s.handleQuery(true)))
	}
	api("/query/{locator}", get("query.more", s.handleQueryMore))
	api("/queryAll/{locator}", get("query.more", s.handleQueryMore))
	api("/{$}", get("resources", s.handleResources))
	api("/limits", get("limits", s.handleLimits))
	api("/limits/{$}", get("limits", s.handleLimits))
	api("/sobjects", get("sobjects", s.handleGlobalDescribe))
	api("/sobjects/{$}", get("sobjects", s.handleGlobalDescribe))
	api("/sobjects/{object}/describe", get("describe", s.handleDescribe))
	api("/sobjects/{object}/describe/{$}", get("describe", s.handleDescribe))
	for _, p := range []string{"/sobjects/{object}/updated", "/sobjects/{object}/updated/{$}"} {
		api(p, get("updated", s.handleUpdated))
	}
	for _, p := range []string{"/sobjects/{object}/deleted", "/sobjects/{object}/deleted/{$}"} {
		api(p, get("deleted", s.handleDeleted))
	}
	api("/sobjects/{object}", methods{"POST": {"record.create", s.handleCreate}, "GET": {"sobject.info", s.handleObjectInfo}})
	api("/sobjects/{object}/{$}", methods{"POST": {"record.create", s.handleCreate}, "GET": {"sobject.info", s.handleObjectInfo}})
	api("/sobjects/{object}/{id}", methods{
		"GET": {"record.get", s.handleGetRecord}, "PATCH": {"record.update", s.handleUpdateRecord},
		"DELETE": {"record.delete", s.handleDeleteRecord},
	})
	api("/composite/sobjects", methods{
		"PATCH": {"composite.update", s.handleCollectionUpdate}, "POST": {"composite.create", s.handleCollectionCreate},
		"DELETE": {"composite.delete", s.handleCollectionDelete},
	})
	api("/composite/sobjects/{object}", methods{
		"POST": {"composite.retrieve", s.handleCollectionRetrieve}, "GET": {"composite.retrieve", s.handleCollectionRetrieveGet},
	})
	s.mux.Handle(d+"/", s.api(methods{}, true)) // unknown resources: JSON 404
	s.mux.Handle("/__sandbox/", http.StripPrefix("/__sandbox", s.controlHandler()))
	s.mux.Handle("/", s.plain("not_found", func(w http.ResponseWriter, r *http.Request, _ *reqCtx) {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	}))
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// plain wraps endpoints that need no session (OAuth, versions): counted, delayed and faulted,
// but without limit accounting.
func (s *Sandbox) plain(name string, h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := wire.NewStatusWriter(w)
		sw.OnStatus(func(status int) { s.ctl.count(name, r.Method, status) }) // counted before the reply leaves
		defer sw.Finish()
		rc := &reqCtx{endpoint: name, base: baseURL(r)}
		ok, bad := s.preflight(sw, r, name, false)
		if !ok {
			return
		}
		serve(bad, sw, r, func(w http.ResponseWriter, r *http.Request) { h(w, r, rc) })
	})
}

// api wraps a /services/data/vNN.N resource: version check, faults, latency, session, daily
// limit and the Sforce-Limit-Info header.
func (s *Sandbox) api(m methods, authed bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := wire.NewStatusWriter(w)
		entry, ok := m[r.Method]
		name := entry.name
		if !ok {
			name = "not_found"
			if len(m) > 0 {
				name = "method_not_allowed"
			}
		}
		start := time.Now()
		sw.OnStatus(func(status int) { s.ctl.count(name, r.Method, status) }) // counted before the reply leaves
		defer func() {
			sw.Finish()
			s.log.Debug().Str("endpoint", name).Str("method", r.Method).Int("status", sw.Status()).Dur("took", time.Since(start)).Msg("salesforce sandbox request")
		}()
		vm := versionRe.FindStringSubmatch(r.PathValue("version"))
		if r.PathValue("version") == "latest" {
			vm = []string{"", latestVersion}
		}
		if vm == nil {
			writeErrors(sw, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
			return
		}
		rc := &reqCtx{endpoint: name, version: vm[1], base: baseURL(r)}
		pass, bad := s.preflight(sw, r, name, true)
		if !pass {
			return
		}
		if authed && !s.auth.valid(bearer(r), s.now()) {
			used, max := s.limits.get()
			sw.Header().Set("Sforce-Limit-Info", limitInfo(used, max))
			writeErrors(sw, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
			return
		}
		used, max, ok2 := s.limits.spend(s.now())
		sw.Header().Set("Sforce-Limit-Info", limitInfo(used, max))
		if !ok2 {
			writeErrors(sw, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
			return
		}
		if !ok {
			if len(m) == 0 {
				writeErrors(sw, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
				return
			}
			allowed := make([]string, 0, len(m))
			for k := range m {
				allowed = append(allowed, k)
			}
			writeErrors(sw, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED",
				"HTTP Method '"+r.Method+"' not allowed. Allowed are "+strings.Join(sortedStrings(allowed), ","))
			return
		}
		s.releaseDue()
		serve(bad, sw, r, func(w http.ResponseWriter, r *http.Request) { entry.h(w, r, rc) })
	})
}

// serve runs h, or serves the corrupt reply bad in its place when a fault asks for one.
func serve(bad wire.BadBody, w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	if bad != "" {
		wire.ServeBadBody(bad, w, r, h)
		return
	}
	h(w, r)
}

// preflight applies latency and injected faults; false means the response has been written.
func (s *Sandbox) preflight(w http.ResponseWriter, r *http.Request, endpoint string, api bool) (bool, wire.BadBody) {
	delay, f := s.ctl.take(endpoint, api)
	if delay > 0 && !wait(r.Context(), delay) {
		return false, ""
	}
	if f == nil {
		return true, ""
	}
	if bad, ok := wire.ParseBadBody(string(f.Kind)); ok {
		return true, bad // served in place of the handler, after the session and limit checks
	}
	if api {
		// Salesforce reports the usage on every API response, failures included; an injected
		// fault does not count against the allocation.
		used, max := s.limits.get()
		w.Header().Set("Sforce-Limit-Info", limitInfo(used, max))
	}
	switch f.Kind {
	case FaultServerError:
		code, msg := "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)"
		if f.Status == http.StatusServiceUnavailable {
			code, msg = "SERVER_UNAVAILABLE", "Server temporarily unavailable; please retry."
		}
		writeErrors(w, f.Status, code, msg)
		return false, ""
	case FaultLimit:
		if f.Status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		writeErrors(w, f.Status, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
		return false, ""
	}
	return true, ""
}

func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	if len(h) > 6 && strings.EqualFold(h[:6], "oauth ") {
		return strings.TrimSpace(h[6:])
	}
	return ""
}

const jsonType = "application/json;charset=UTF-8"

// apiError is one element of a Salesforce REST error array.
type apiError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

func writeErrors(w http.ResponseWriter, status int, code, msg string, fields ...string) {
	writeJSON(w, status, []apiError{{Message: msg, ErrorCode: code, Fields: fields}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`[{"message":"internal error","errorCode":"UNKNOWN_EXCEPTION"}]`)
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", jsonType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (s *Sandbox) handleVersions(w http.ResponseWriter, r *http.Request, _ *reqCtx) {
	type v struct {
		Label   string `json:"label"`
		URL     string `json:"url"`
		Version string `json:"version"`
	}
	names := []string{"Winter", "Spring", "Summer"}
	var out []v
	for n := 20; n <= 66; n++ {
		// v20.0 is Winter '11; three releases a year.
		year := 11 + (n-20)/3
		out = append(out, v{Label: names[(n-20)%3] + " '" + strconv.Itoa(year), URL: "/services/data/v" + strconv.Itoa(n) + ".0",
			Version: strconv.Itoa(n) + ".0"})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sandbox) handleResources(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	p := "/services/data/v" + rc.version
	writeJSON(w, http.StatusOK, map[string]string{
		"limits": p + "/limits", "query": p + "/query", "queryAll": p + "/queryAll", "sobjects": p + "/sobjects",
		"composite": p + "/composite", "identity": rc.base + "/id/" + s.orgID + "/" + s.userID,
	})
}

func sortedStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

func limitInfo(used, max int64) string {
	return "api-usage=" + strconv.FormatInt(used, 10) + "/" + strconv.FormatInt(max, 10)
}
