package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/plans"
)

// Store is what the server needs from persistence; *store.Store implements it.
type Store interface {
	plans.Store
	TokenVerifier
	// Ping checks that the database answers (for /readyz).
	Ping(ctx context.Context) error
}

// TokenVerifier checks API tokens.
type TokenVerifier interface {
	// VerifyAPIToken returns the name of the token, or an error matching plans.ErrNotFound
	// (store.ErrNotFound is the same sentinel) or ErrBadToken when it is unknown or revoked (401); any other error is a
	// 500.
	VerifyAPIToken(ctx context.Context, token string) (name string, err error)
}

// Options configures New.
type Options struct {
	// Store keeps plans, templates, events and API tokens. Required.
	Store Store
	// Logger receives one line per request (request_id, method, path, route, status, bytes,
	// took, token name) and the cause of every 5xx. The zero Logger logs nothing.
	Logger zerolog.Logger
	// Registerer receives the HTTP metrics (mapsync_http_requests_total{route,method,status},
	// mapsync_http_request_duration_seconds{route}). Nil means a private registry: the metrics
	// are kept but not exported.
	Registerer prometheus.Registerer
	// Gatherer is served at GET /metrics, without auth, on the same listener as the API (bind
	// the listener accordingly, or put the API behind a proxy that hides /metrics). Nil means
	// /metrics is not served.
	Gatherer prometheus.Gatherer
	// Now is the clock (default time.Now): changes are stamped with it and progress is computed
	// at it.
	Now func() time.Time
	// NewID makes ids for what changes create (default plans.NewID).
	NewID func() string
	// Retries is how many times a change is reapplied after a concurrent change to the same plan
	// (default plans.DefaultRetries; -1 means never).
	Retries int
	// ReadyTimeout bounds the store ping of /readyz (default 2s).
	ReadyTimeout time.Duration
	// Deals finds pulled deals for POST /api/v1/plans; nil answers that route with 501.
	Deals DealSource
	// Webhooks, when set, serves the CRM webhook receivers under /webhooks (see Webhooks).
	Webhooks *Webhooks
	// Admin, when set, serves /api/v1/connections, /api/v1/runs and /api/v1/dead-letters.
	Admin AdminSource
	// Push, when set, serves the push routes (server/push_handlers.go): push dead letters and
	// their retry, a deal's push log, a connection's dry run.
	Push PushSource
	// Invitations keeps buyer invitation links (server/invitation_handlers.go); nil means Store,
	// when it keeps them too (*store.Store does), else the routes answer 501.
	Invitations InvitationStore
	// PublicURL starts the links the server makes (config server.public_url, no trailing slash);
	// "" means the scheme and Host of the request.
	PublicURL string
	// InvitationTTL is how long an invitation link works when the request names no
	// expires_in_days (default store.DefaultInvitationTTL, 14 days).
	InvitationTTL time.Duration
	// Mailer, when set, mails each new invitation link to its member (SMTP configured).
	Mailer InvitationMailer
}

// Server is mapsync's HTTP API. It is an http.Handler; serve it with an http.Server.
//
// # Routes
//
// Without auth: GET /healthz (the process is up), GET /readyz (the store answers a ping and its
// schema is current, else 503 with Retry-After), GET /metrics (when Options.Gatherer is set; same listener as the API).
//
// Under /api/v1, with "Authorization: Bearer <token>" (tokens from `mapsync tokens create`):
//
//	GET    /api/v1/plans?connection=&deal=&status=&owner=&after=&limit=  {"plans":[...],"next":"..."}
//	       (status: active, closed, cancelled, or a progress status on_track, at_risk, off_track,
//	       completed; each item carries "progress": status, percent, overdue count, next action)
//	GET    /api/v1/plans/{plan}[?audience=buyer]                         the plan with "progress"
//	GET    /api/v1/plans/{plan}/events?after=&limit=[&audience=buyer]    {"events":[...],"next":"..."}
//	GET    /api/v1/plans/{plan}/actions/{action}[?audience=buyer]
//	PATCH  /api/v1/plans/{plan}/actions/{action}                 {version, status?, assignee_id?, due?, clear_due?, due_rule?, title?, description?, milestone?, internal?, owner_role?}
//	POST   /api/v1/plans/{plan}/actions/{action}/move            {phase_id, position, version}
//	POST   /api/v1/plans/{plan}/actions/{action}/subtasks        {title}
//	PATCH  /api/v1/plans/{plan}/actions/{action}/subtasks/{id}   {done}
//	DELETE /api/v1/plans/{plan}/actions/{action}/subtasks/{id}
//	POST   /api/v1/plans/{plan}/actions/{action}/comments        {body, internal}
//	GET    /api/v1/plans/{plan}/actions/{action}/comments?after=&limit=[&audience=buyer]  {"comments":[...],"next":"..."}
//	PUT    /api/v1/plans/{plan}/actions/{action}/questions       {version, questions}
//	POST   /api/v1/plans/{plan}/actions/{action}/responses       {responses, submit}
//	POST   /api/v1/plans/{plan}/actions/{action}/attachments     {name, url, kind, internal}
//	DELETE /api/v1/plans/{plan}/actions/{action}/attachments/{id}
//	POST   /api/v1/plans/{plan}/attachments                      {name, url, kind, internal}
//	DELETE /api/v1/plans/{plan}/attachments/{id}
//	POST   /api/v1/plans/{plan}/members                          {role, name, email, crm_id}
//	PATCH  /api/v1/plans/{plan}/members/{id}                     {role}
//	DELETE /api/v1/plans/{plan}/members/{id}
//	POST   /api/v1/plans/{plan}/close[?audience=buyer]           {reason}
//	POST   /api/v1/plans/{plan}/cancel[?audience=buyer]          {reason}
//	POST   /api/v1/plans/{plan}/save-as-template                 {key, name}
//	POST   /api/v1/plans/{plan}/invitations                      {member_id} or {email, name?, role}, expires_in_days?  201 with "link" (seller side only)
//	GET    /api/v1/plans/{plan}/invitations                      {"invitations":[...]}
//	DELETE /api/v1/plans/{plan}/invitations/{invitation}         the invitation, revoked
//
// Creating and editing plans (server/create_handlers.go, server/edit_handlers.go):
//
//	GET    /api/v1/deals?connection=&q=&stage=&owner=&has_plan=&min_amount=&max_amount=&after=&limit=  {"deals":[...],"next":"..."}
//	POST   /api/v1/plans                                         {connection, deal_id, template?, name?, description?, welcome_message?}  201, or 200 with the existing plan
//	POST   /api/v1/plans/{plan}/phases                           {plan_version, name, position?}
//	PATCH  /api/v1/plans/{plan}/phases/{phase}                   {plan_version, name?, position?}
//	DELETE /api/v1/plans/{plan}/phases/{phase}                   {plan_version, move_actions_to?}
//	POST   /api/v1/plans/{plan}/actions                          {plan_version, phase_id, position?, title, description?, type?, owner_role?, assignee_id?, due? | due_rule?, internal?, milestone?, sub_tasks?, questions?, details?}
//	DELETE /api/v1/plans/{plan}/actions/{action}                 {version}
//	PUT    /api/v1/plans/{plan}/actions/{action}/type            {version, type, questions?, details?}
//	PUT    /api/v1/plans/{plan}/actions/{action}/details         {version, approver_role?, approver_id?, document_url?, signer_id?, scheduled_at?, url?}
//	POST   /api/v1/plans/{plan}/actions/{action}/steps           {version, step, reason?, url?}
//	PUT    /api/v1/plans/{plan}/milestones/{milestone}           {plan_version, target_date}
//	GET    /api/v1/templates
//	GET    /api/v1/templates/{key}[?version=]
//
// Pushes to the CRM (Options.Push; server/push_handlers.go), seller side only:
//
//	GET    /api/v1/push/dead-letters?connection=&limit=          {"dead_letters":[...]}
//	POST   /api/v1/push/dead-letters/retry                      {connection?, deal_ids? | all}  202 {"pending":N}
//	GET    /api/v1/deals/{deal}/push-log?connection=&limit=     {"entries":[...]} newest first
//	GET    /api/v1/connections/{connection}/push/dry-run        the push summary; nothing sent
//	POST   /api/v1/templates                                     a YAML or JSON template document
//
// A route takes only the query parameters shown with it, each at most once; any other is a 400
// naming it (a misspelt filter must not silently list every plan).
//
// # Plan status
//
// A plan's "status" is its lifecycle (active, closed, cancelled); "progress" (plans.Progress) is
// its read model, computed at the time of the request over what the audience sees: the buyer
// view leaves internal actions out of every figure, its status included. progress.status is
// the plan's health, by this rule (plans.Plan.Progress), the first match winning:
//
//   - cancelled: the plan is cancelled;
//   - completed: the plan is closed, or it has at least one action and every action is done or
//     skipped;
//   - off_track: 3 or more actions are overdue (plans.OffTrackOverdue), or one is more than 7
//     days late (plans.OffTrackDaysLate);
//   - at_risk: at least one action is overdue, or one is blocked;
//   - on_track: otherwise (also an active plan without actions).
//
// An action is overdue when it is open (not started, in progress or blocked) and its due date
// is before today, the current date in the plan's time zone; it is as many days late as there
// are days from its due date to today (due yesterday: 1 day late). Actions without a due date,
// and done or skipped actions, are never overdue.
//
// # Actors
//
// A request acts as its API token: plans.Actor{ID: "token:NAME", Name: NAME, Side: seller}. A
// trusted client acting for a person names them in X-Mapsync-Actor (recorded as the actor's id,
// with "NAME (via TOKEN)" as its name) and may set X-Mapsync-Side: buyer; a buyer actor gets the
// buyer view whatever ?audience says, cannot see or change internal actions (404), and cannot
// write internal comments or attachments. Any token may do this: tokens are for trusted systems
// and admins, not for end users.
//
// # Errors
//
// Every error has one shape, ErrorBody: a code, a message and, when something in the request is
// at fault, its field. Statuses:
//
//   - 400 malformed JSON; a value of the wrong JSON type or form, with its field ("status must
//     be a string, got a number"; `due must be a date "YYYY-MM-DD" or null, got "tomorrow"`);
//     unknown fields; query parameters the route does not take, or given twice, or with bad
//     values (the field is the parameter);
//   - 401 missing or bad token; 403 a buyer-side actor doing what only the seller side may;
//   - 404 unknown plan, action, sub-task, attachment, member or template, as named in the URL:
//     the message names it (`plan "123" not found`) and the field is its path parameter (plan,
//     action, subtask, attachment, member, key; version for a template version that does not
//     exist);
//   - 409 stale action version (field "version"), a closed plan, a plan that kept changing, or a
//     template key that exists (save-as-template, field "key");
//   - 413 a body over MaxBodyBytes;
//   - 422 invalid values, transitions, unknown phases, members, roles or questions named in the
//     body, and invalid templates: problems lists every problem with its path in the document,
//     and the field is the first problem's path;
//   - 500 says "internal error" and the request id;
//   - 503 (code unavailable, with Retry-After: RetryAfter seconds) when the database does not
//     answer: a request that fails on the store is a 503 rather than a 500 when a ping of the
//     store fails too, as /readyz answers then.
//
// A change is written whole or not at all.
type Server struct {
	store   Store
	deals   DealSource
	svc     *plans.Service
	log     zerolog.Logger
	now     func() time.Time
	metrics *metrics
	gather  prometheus.Gatherer
	ready   time.Duration
	mux     *http.ServeMux
	handler http.Handler
	hooks   *Webhooks
	admin   AdminSource
	push    PushSource
	// invitation links (invitation_handlers.go)
	invites   InvitationStore
	publicURL string
	inviteTTL time.Duration
	mailer    InvitationMailer
}

// New returns the server for opts.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("new server: store is required")
	}
	svc, err := plans.NewService(opts.Store, plans.ServiceOptions{Now: opts.Now, NewID: opts.NewID, Retries: opts.Retries})
	if err != nil {
		return nil, fmt.Errorf("new server: %w", err)
	}
	reg := opts.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("new server: register metrics: %w", err)
	}
	s := &Server{
		store: opts.Store, deals: opts.Deals, svc: svc, log: opts.Logger, now: opts.Now, metrics: m,
		gather: opts.Gatherer, ready: opts.ReadyTimeout, mux: http.NewServeMux(), hooks: opts.Webhooks, admin: opts.Admin, push: opts.Push,
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.invites, s.publicURL, s.inviteTTL, s.mailer = opts.Invitations, strings.TrimRight(opts.PublicURL, "/"), opts.InvitationTTL, opts.Mailer
	if is, ok := opts.Store.(InvitationStore); ok && s.invites == nil {
		s.invites = is
	}
	if s.ready <= 0 {
		s.ready = 2 * time.Second
	}
	s.routes()
	s.handler = s.observe(s.mux)
	return s, nil
}

// Service returns the plan service the server uses, for callers that change plans outside HTTP.
func (s *Server) Service() *plans.Service { return s.svc }

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", s.healthz)
	m.HandleFunc("GET /readyz", s.readyz)
	if s.gather != nil {
		m.Handle("GET /metrics", promhttp.HandlerFor(s.gather, promhttp.HandlerOpts{}))
	}

	const plan = "/api/v1/plans/{plan}"
	const action = plan + "/actions/{action}"
	m.Handle("GET /api/v1/plans", s.api(s.listPlans, "connection", "deal", "status", "owner", "after", "limit"))
	m.Handle("GET "+plan, s.api(s.getPlan, "audience"))
	m.Handle("GET "+plan+"/events", s.api(s.listEvents, "after", "limit", "audience"))
	m.Handle("POST "+plan+"/close", s.api(s.closePlan, "audience"))
	m.Handle("POST "+plan+"/cancel", s.api(s.cancelPlan, "audience"))
	m.Handle("POST "+plan+"/save-as-template", s.api(s.saveAsTemplate))

	m.Handle("GET "+action, s.api(s.getAction, "audience"))
	m.Handle("PATCH "+action, s.api(s.updateAction))
	m.Handle("POST "+action+"/move", s.api(s.moveAction))
	m.Handle("POST "+action+"/subtasks", s.api(s.addSubTask))
	m.Handle("PATCH "+action+"/subtasks/{subtask}", s.api(s.updateSubTask))
	m.Handle("DELETE "+action+"/subtasks/{subtask}", s.api(s.removeSubTask))
	m.Handle("POST "+action+"/comments", s.api(s.addComment))
	m.Handle("GET "+action+"/comments", s.api(s.listComments, "after", "limit", "audience"))
	m.Handle("PUT "+action+"/questions", s.api(s.setQuestions))
	m.Handle("POST "+action+"/responses", s.api(s.recordResponses))
	m.Handle("POST "+action+"/attachments", s.api(s.addAttachment))
	m.Handle("DELETE "+action+"/attachments/{attachment}", s.api(s.removeAttachment))
	m.Handle("POST "+plan+"/attachments", s.api(s.addAttachment))
	m.Handle("DELETE "+plan+"/attachments/{attachment}", s.api(s.removeAttachment))

	m.Handle("POST "+plan+"/members", s.api(s.inviteMember))
	m.Handle("PATCH "+plan+"/members/{member}", s.api(s.changeMember))
	m.Handle("DELETE "+plan+"/members/{member}", s.api(s.removeMember))

	s.editRoutes(plan, action)
	s.invitationRoutes(plan)

	m.Handle("GET /api/v1/templates", s.api(s.listTemplates))
	m.Handle("GET /api/v1/templates/{key}", s.api(s.getTemplate, "version"))
	m.Handle("POST /api/v1/templates", s.api(s.importTemplate))

	if s.hooks != nil {
		s.hooks.unavailable = s.unavailable
		s.hooks.register(m)
	}
	if s.admin != nil {
		s.registerAdmin(m)
	}
	if s.push != nil {
		s.registerPush(m)
	}
	m.HandleFunc("/", s.notFound)
}

var allMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// notFound answers requests no route matches, in the API's error shape: 405 with Allow when the
// path exists under other methods, else 404.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range allMethods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		for _, m := range allow {
			w.Header().Add("Allow", m)
		}
		writeError(w, r, &httpError{status: http.StatusMethodNotAllowed, body: APIError{Code: "method_not_allowed", Message: r.Method + " is not allowed here"}})
		return
	}
	writeError(w, r, &httpError{status: http.StatusNotFound, body: APIError{Code: "not_found", Message: "no such endpoint: " + r.URL.Path}})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.ready)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		writeError(w, r, errUnavailable(err))
		return
	}
	if sc, ok := s.store.(SchemaChecker); ok {
		if err := sc.CheckSchema(ctx); err != nil {
			writeError(w, r, &httpError{status: http.StatusServiceUnavailable, cause: err, body: APIError{
				Code: "schema", Message: err.Error(),
			}})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// SchemaChecker is a Store that can tell whether its schema is the one this binary needs
// (*store.Store is one). /readyz answers 503 "schema", with what to do, while it is not: a
// replica started before `mapsync migrate up` (or after a newer binary migrated) takes no
// traffic.
type SchemaChecker interface {
	CheckSchema(ctx context.Context) error
}

// RetryAfter is the Retry-After of a 503 (in seconds): when a client may try again after the
// database did not answer.
const RetryAfter = "5"

// errUnavailable is the 503 of a store that does not answer, with err, the cause, for the log.
func errUnavailable(err error) error {
	return &httpError{status: http.StatusServiceUnavailable, cause: err, body: APIError{
		Code: "unavailable", Message: "the database does not answer; retry later",
	}}
}

// unavailable turns err, when it would be a 500, into a 503 if the store does not answer a ping
// now (the database is down or unreachable): a client should retry, not report a bug. Any other
// error is returned as it is.
func (s *Server) unavailable(r *http.Request, err error) error {
	if status, _ := classify(err); status != http.StatusInternalServerError || r.Context().Err() != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.ready)
	defer cancel()
	if s.store.Ping(ctx) == nil {
		return err
	}
	return errUnavailable(err)
}
