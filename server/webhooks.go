package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/store"
)

// WebhookStore stores received webhook events; *store.Store implements it. StoreWebhookEventIDs
// stores events in one transaction, calls onStored there with the ids of those it stored, and
// returns one id per event given: 0 for an event it did not store (stored before, or repeated
// earlier in events).
type WebhookStore interface {
	StoreWebhookEventIDs(ctx context.Context, events []store.NewWebhookEvent, onStored store.OnWebhookEventsStored) ([]int64, error)
}

// WebhookConnection is what the receivers of one connection verify requests with.
type WebhookConnection struct {
	// Name is the connection's name, the last segment of the webhook URLs.
	Name string
	// ID is the stored connection's id.
	ID int64
	// Kind is salesforce or hubspot.
	Kind string
	// ClientSecret is the HubSpot app's client secret (v3 signatures); empty refuses HubSpot
	// webhooks for the connection.
	ClientSecret string
	// OrganizationID is the Salesforce org id outbound messages must carry (15 or 18
	// characters); empty refuses outbound messages.
	OrganizationID string
	// Keys are the Standard Webhooks keys (decoded from whsec_...) of the generic receiver; none
	// refuses generic webhooks.
	Keys [][]byte
	// Tolerance is how far a signed timestamp may be from now (default 5m).
	Tolerance time.Duration
}

// WebhookOptions configures NewWebhooks.
type WebhookOptions struct {
	// Store keeps the events. Required.
	Store WebhookStore
	// Connections are the connections that receive webhooks, by name.
	Connections []WebhookConnection
	// PublicURL is the URL the CRMs call us at (config server.public_url), with no trailing
	// slash; HubSpot signs the URL it called. Empty: the request's scheme and Host are used.
	PublicURL string
	// OnStored runs in the transaction that stores new events, with their ids: enqueue their
	// processing there, so an acknowledged event always has its job. The requests waiting at
	// once are committed together (group commit), so one call has the new events of every
	// request of the group. Nil: none.
	OnStored store.OnWebhookEventsStored
	// Stored, when set, is called after new events are committed, with their ids (to wake the
	// processing).
	Stored func(ids []int64)
	// CommitGroups is how many group commits may be in flight at once (default
	// DefaultCommitGroups). 1 is a single committer: the database waits while a group's answers
	// go out and the next group is gathered.
	CommitGroups int
	// Registerer receives mapsync_webhook_requests_total{source,outcome},
	// mapsync_webhook_events_total{source,outcome}, mapsync_webhook_commit_requests (a
	// histogram: requests per group commit) and mapsync_webhook_commit_waiting. Nil: a private
	// registry.
	Registerer prometheus.Registerer
	// Now is the clock (default time.Now), for signature timestamps.
	Now func() time.Time
	// Logger receives one line per refused request (never the body or a signature).
	Logger zerolog.Logger
}

// Webhooks receives CRM webhooks and stores each event durably before acknowledging it:
//
//	POST /webhooks/hubspot/{connection}     HubSpot, signed v3 (X-HubSpot-Signature-v3)
//	POST /webhooks/salesforce/{connection}  Salesforce outbound messages (SOAP), checked by org id
//	POST /webhooks/generic/{connection}     {"object":"deal","id":"..."} signed per Standard Webhooks
//
// A bad or missing signature is a 401 and stores nothing; a malformed body a 400 with the
// reason; a body over MaxBodyBytes a 413; an unknown connection, or one without the receiver's
// setting, a 404. A redelivered event is recognised by its id and changes nothing.
//
// Requests whose events are verified and parsed at the same time are stored together, in one
// transaction (group commit, see committer), and each is answered after that commit.
type Webhooks struct {
	opts     WebhookOptions
	conns    map[string]*WebhookConnection
	requests *prometheus.CounterVec
	events   *prometheus.CounterVec
	commits  *committer
	// unavailable, set by the Server that serves the receivers, turns an error into a 503 when
	// the database does not answer (Server.unavailable), as the API does.
	unavailable func(*http.Request, error) error
}

// Webhook request outcomes (mapsync_webhook_requests_total's outcome label).
const (
	webhookAccepted      = "accepted"
	webhookBadSignature  = "bad_signature"
	webhookMalformed     = "malformed"
	webhookTooLarge      = "too_large"
	webhookNotConfigured = "not_configured"
	webhookFailed        = "error"
)

// NewWebhooks returns the webhook receivers.
func NewWebhooks(opts WebhookOptions) (*Webhooks, error) {
	if opts.Store == nil {
		return nil, errors.New("webhooks: store is required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CommitGroups <= 0 {
		opts.CommitGroups = DefaultCommitGroups
	}
	reg := opts.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	h := &Webhooks{opts: opts, conns: map[string]*WebhookConnection{},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mapsync_webhook_requests_total",
			Help: "Webhook requests received, by source (hubspot, salesforce, generic) and outcome (accepted, bad_signature, malformed, too_large, not_configured, error)."},
			[]string{"source", "outcome"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mapsync_webhook_events_total",
			Help: "Webhook events in accepted requests, by source and outcome (stored, duplicate)."},
			[]string{"source", "outcome"}),
		commits: newCommitter(opts),
	}
	for _, c := range []prometheus.Collector{h.requests, h.events, h.commits.groupSize, h.commits.waiting} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("webhooks: register metrics: %w", err)
		}
	}
	for i := range opts.Connections {
		c := opts.Connections[i]
		if c.Tolerance <= 0 {
			c.Tolerance = 5 * time.Minute
		}
		h.conns[c.Name] = &c
	}
	return h, nil
}

// register adds the receivers' routes to m.
func (h *Webhooks) register(m *http.ServeMux) {
	m.HandleFunc("POST /webhooks/hubspot/{connection}", h.hubspot)
	m.HandleFunc("POST /webhooks/salesforce/{connection}", h.salesforce)
	m.HandleFunc("POST /webhooks/generic/{connection}", h.generic)
}

// webhookRefusal is a refused request: its status, outcome label and message.
type webhookRefusal struct {
	status  int
	outcome string
	code    string
	msg     string
}

func (e *webhookRefusal) Error() string { return e.msg }

func refuse(status int, outcome, code, format string, args ...any) *webhookRefusal {
	return &webhookRefusal{status: status, outcome: outcome, code: code, msg: fmt.Sprintf(format, args...)}
}

func badSignature(format string, args ...any) *webhookRefusal {
	return refuse(http.StatusUnauthorized, webhookBadSignature, "unauthorized", format, args...)
}

func malformed(format string, args ...any) *webhookRefusal {
	return refuse(http.StatusBadRequest, webhookMalformed, "bad_request", format, args...)
}

// connection resolves the path's connection; check says whether it has the receiver's setting.
func (h *Webhooks) connection(r *http.Request, source string, configured func(*WebhookConnection) bool, setting string) (*WebhookConnection, *webhookRefusal) {
	name := r.PathValue("connection")
	c, ok := h.conns[name]
	if !ok {
		return nil, refuse(http.StatusNotFound, webhookNotConfigured, "not_found", "no connection named %q receives webhooks", name)
	}
	if !configured(c) {
		return nil, refuse(http.StatusNotFound, webhookNotConfigured, "not_found", "connection %q does not accept %s webhooks: set connections[].webhooks.%s", name, source, setting)
	}
	return c, nil
}

// receive finds the path's connection, configured for this source, and reads the body within
// MaxBodyBytes; when either fails it answers the refusal (counted under source) and ok is false.
func (h *Webhooks) receive(w http.ResponseWriter, r *http.Request, source, kind string, configured func(*WebhookConnection) bool, setting string) (c *WebhookConnection, body []byte, ok bool) {
	c, werr := h.connection(r, kind, configured, setting)
	if werr == nil {
		body, werr = readBody(w, r)
	}
	if werr != nil {
		h.fail(w, r, source, werr)
		return nil, nil, false
	}
	return c, body, true
}

// readBody reads at most MaxBodyBytes of the request body.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *webhookRefusal) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, refuse(http.StatusRequestEntityTooLarge, webhookTooLarge, "too_large", "request body is over %d bytes", mbe.Limit)
	case err != nil:
		return nil, malformed("reading the body: %v", err)
	}
	return body, nil
}

// save stores the events, with those of the other requests waiting at the same time (group
// commit), and returns once they are committed; the returned count (events stored, the rest
// were duplicates) feeds the metrics and the answer.
func (h *Webhooks) save(ctx context.Context, source string, events []store.NewWebhookEvent) (stored int, err error) {
	ids, err := h.commits.commit(ctx, events)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if id != 0 {
			stored++
		}
	}
	h.events.WithLabelValues(source, "stored").Add(float64(stored))
	h.events.WithLabelValues(source, "duplicate").Add(float64(len(events) - stored))
	return stored, nil
}

// fail answers a refused or failed request in the API's error shape and counts it.
func (h *Webhooks) fail(w http.ResponseWriter, r *http.Request, source string, err error) {
	var we *webhookRefusal
	if errors.As(err, &we) {
		h.requests.WithLabelValues(source, we.outcome).Inc()
		zerolog.Ctx(r.Context()).Warn().Str("source", source).Str("connection", r.PathValue("connection")).
			Str("outcome", we.outcome).Str("reason", we.msg).Msg("webhook refused")
		writeError(w, r, &httpError{status: we.status, body: APIError{Code: we.code, Message: we.msg}})
		return
	}
	h.requests.WithLabelValues(source, webhookFailed).Inc()
	if h.unavailable != nil {
		// The database is down: a 503 with Retry-After, which a CRM retries like any 5xx and a
		// person reads as "try later", not a bug.
		err = h.unavailable(r, err)
	}
	writeError(w, r, err)
}

// accepted counts an accepted request.
func (h *Webhooks) accepted(source string) { h.requests.WithLabelValues(source, webhookAccepted).Inc() }
