package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
)

// Store is what the pages need from persistence; *store.Store implements it.
type Store interface {
	plans.Store
	// VerifyAPIToken returns the name of a valid API token, or an error matching
	// store.ErrNotFound.
	VerifyAPIToken(ctx context.Context, token string) (string, error)
	// CreateWebSession stores a session and returns its id (the cookie's value).
	CreateWebSession(ctx context.Context, ws store.WebSession) (string, error)
	// WebSession returns the session with id valid at now, or an error matching
	// store.ErrNotFound.
	WebSession(ctx context.Context, id string, now time.Time) (*store.WebSession, error)
	// DeleteWebSession ends a session.
	DeleteWebSession(ctx context.Context, id string) error
}

// Options configures New.
type Options struct {
	// Store keeps sessions, API tokens, plans and templates. Required.
	Store Store
	// Service changes plans, as the JSON API does (server.Server.Service). Required.
	Service *plans.Service
	// Plans makes deals' plans as the API does (the *server.Server the console is mounted
	// with); nil serves the create-plan page as "not configured".
	Plans PlanCreator
	// Console answers the admin pages (connections, runs, deals, mappings, push); nil serves
	// them as "not configured".
	Console Console
	// Pushes answers the Mappings and Push pages; nil serves them as "not configured".
	Pushes Pushes
	// Logger receives one line per request (request_id, method, path, status, took, actor)
	// and the cause of every 5xx.
	Logger zerolog.Logger
	// Registerer receives the web metrics (mapsync_web_requests_total{route,method,status},
	// mapsync_web_request_duration_seconds{route}, mapsync_web_signins_total{outcome}). Nil
	// means a private registry.
	Registerer prometheus.Registerer
	// Now is the clock (default time.Now): sessions expire by it and progress is computed at it.
	Now func() time.Time
	// SessionTTL is how long a sign-in lasts (default 12h); the session then ends whatever
	// the browser does.
	SessionTTL time.Duration
	// PublicURL is the URL people reach mapsync at (config server.public_url). When it is
	// https, cookies are Secure; they are also Secure on requests that came over TLS.
	PublicURL string
	// Inviter makes the room's invitation links as the JSON API does (server.Server.Invite); nil
	// leaves the room without its invite form.
	Inviter Inviter
}

// DefaultSessionTTL is Options.SessionTTL's default.
const DefaultSessionTTL = 12 * time.Hour

// Handler serves the web console (and the plan room pages, web/room*.go). It is an
// http.Handler for the paths of Paths; Mount puts it next to the JSON API.
type Handler struct {
	store   Store
	svc     *plans.Service
	console Console
	creator PlanCreator
	pushes  Pushes
	log     zerolog.Logger
	now     func() time.Time
	ttl     time.Duration
	secure  bool
	pages   *pages
	metrics *metrics
	inviter Inviter
	// publicURL starts the links the room shows ("" means the request's scheme and Host).
	publicURL string
	mux       *http.ServeMux
	handler   http.Handler
}

// New returns the web handler for opts.
func New(opts Options) (*Handler, error) {
	if opts.Store == nil || opts.Service == nil {
		return nil, errors.New("new web handler: store and service are required")
	}
	h := &Handler{
		store: opts.Store, svc: opts.Service, console: opts.Console, creator: opts.Plans, pushes: opts.Pushes, log: opts.Logger, now: opts.Now,
		ttl: opts.SessionTTL, mux: http.NewServeMux(),
	}
	h.inviter, h.publicURL = opts.Inviter, opts.PublicURL // the plan room (web/room*.go)
	if h.now == nil {
		h.now = time.Now
	}
	if h.ttl <= 0 {
		h.ttl = DefaultSessionTTL
	}
	if opts.PublicURL != "" {
		u, err := url.Parse(opts.PublicURL)
		if err != nil {
			return nil, fmt.Errorf("new web handler: public url: %w", err)
		}
		h.secure = u.Scheme == "https"
	}
	reg := opts.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("new web handler: register metrics: %w", err)
	}
	h.metrics = m
	p, err := loadPages()
	if err != nil {
		return nil, fmt.Errorf("new web handler: %w", err)
	}
	h.pages = p
	h.routes()
	h.handler = h.observe(securityHeaders(crossOrigin().Handler(h.mux)))
	return h, nil
}

// Paths are the URL paths the web handler serves (patterns for http.ServeMux); every other
// path belongs to the JSON API.
var Paths = []string{"GET /{$}", "/signin", "/signout", "/static/", "/console/", "/room/", "/join/"}

// Mount returns a handler that sends the web paths (Paths) to ui and everything else to api,
// so the API keeps its own 404s, auth and error shape.
func Mount(api http.Handler, ui *Handler) http.Handler {
	m := http.NewServeMux()
	m.Handle("/", api)
	for _, p := range Paths {
		m.Handle(p, ui)
	}
	return m
}

// ServeHTTP serves the pages.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.handler.ServeHTTP(w, r) }

func (h *Handler) routes() {
	m := h.mux
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
	})
	m.Handle("GET /static/", staticHandler())
	m.HandleFunc("GET /signin", h.signInPage)
	m.HandleFunc("POST /signin", h.signIn)
	m.Handle("POST /signout", h.authed(h.signOut, func(*Session) bool { return true })) // buyers too
	h.consoleRoutes(m)
	h.roomRoutes(m)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.renderError(w, r, http.StatusNotFound, "There is no page at "+r.URL.Path+".")
	})
}

// securityHeaders sets the headers every page carries: a Content-Security-Policy that allows
// only the embedded scripts and styles (no inline script, so injected markup cannot run even
// if a bug let it through), no framing, no MIME sniffing.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// localPath returns next when it is a path on this site ("/console/deals?q=x"), else "".
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return ""
	}
	return next
}
