package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/push"
)

// PushSource answers the push routes; cmd implements it over the store and the process's
// Pusher. An unknown connection is a *plans.NotFoundError of kind "connection".
type PushSource interface {
	// DeadLetters returns the push dead letters of a connection ("" for all), newest first.
	DeadLetters(ctx context.Context, connection string, limit int) ([]store.DeadLetter, error)
	// RetryDeadLetters makes dead-lettered deals pending again (all of them when dealIDs is
	// empty) and returns how many; their pushes follow (the mark hook enqueues them). A deal id
	// without a dead letter is a *plans.NotFoundError of kind "dead_letter".
	RetryDeadLetters(ctx context.Context, connection string, dealIDs []string) (int, error)
	// PushLog returns what was pushed to a deal, newest first.
	PushLog(ctx context.Context, connection, dealID string, limit int) ([]store.PushLogEntry, error)
	// DryRun computes what a push of the connection would do now, sending and recording
	// nothing. A connection that needs authorising again matches push.ErrNeedsReauth.
	DryRun(ctx context.Context, connection string) (push.Summary, error)
}

// RetryPushRequest is the body of POST /api/v1/push/dead-letters/retry: every dead letter (of
// the connection, when given) with all, or the named deals.
type RetryPushRequest struct {
	// Connection limits the retry to one connection ("" for all).
	Connection string `json:"connection,omitempty"`
	// DealIDs are the deals to retry.
	DealIDs []string `json:"deal_ids,omitempty"`
	// All retries every dead letter.
	All bool `json:"all,omitempty"`
}

// registerPush adds the push routes:
//
//	GET  /api/v1/push/dead-letters?connection=&limit=        {"dead_letters":[...]}
//	POST /api/v1/push/dead-letters/retry                      {connection?, deal_ids? | all}  202 {"pending":N}
//	GET  /api/v1/deals/{deal}/push-log?connection=&limit=     {"entries":[...]} newest first
//	GET  /api/v1/connections/{connection}/push/dry-run        the push summary, nothing sent
func (s *Server) registerPush(m *http.ServeMux) {
	m.Handle("GET /api/v1/push/dead-letters", s.api(s.listPushDeadLetters, "connection", "limit"))
	m.Handle("POST /api/v1/push/dead-letters/retry", s.api(s.retryPushDeadLetters))
	m.Handle("GET /api/v1/deals/{deal}/push-log", s.api(s.pushLog, "connection", "limit"))
	m.Handle("GET /api/v1/connections/{connection}/push/dry-run", s.api(s.pushDryRun))
}

func (s *Server) listPushDeadLetters(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	if err := adminOnly(by); err != nil {
		return err
	}
	limit, err := pageSize(r)
	if err != nil {
		return err
	}
	dls, err := s.push.DeadLetters(r.Context(), r.URL.Query().Get("connection"), limit)
	if err != nil {
		return inQuery(err, "connection")
	}
	if dls == nil {
		dls = []store.DeadLetter{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"dead_letters": dls})
	return nil
}

func (s *Server) retryPushDeadLetters(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	if err := adminOnly(by); err != nil {
		return err
	}
	var req RetryPushRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	n, err := s.push.RetryDeadLetters(r.Context(), req.Connection, req.DealIDs)
	var nf *plans.NotFoundError
	if errors.As(err, &nf) && nf.Kind == "connection" {
		return errBadRequest("connection", "connection: %s", nf.Error())
	}
	if errors.As(err, &nf) && nf.Kind == "dead_letter" {
		return errBadRequest("deal_ids", "deal_ids: no dead letter for deal %q", nf.ID)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"pending": n})
	return nil
}

// check says what is wrong with a retry request: exactly one of all and deal_ids, ids that are
// text.
func (req RetryPushRequest) check() error {
	if req.All == (len(req.DealIDs) > 0) {
		return errBadRequest("all", "give either all: true or deal_ids")
	}
	if len(req.DealIDs) > MaxPageSize {
		return errBadRequest("deal_ids", "deal_ids: at most %d at once, got %d", MaxPageSize, len(req.DealIDs))
	}
	for _, id := range append([]string{req.Connection}, req.DealIDs...) {
		if msg := notText(id); msg != "" {
			return errBadRequest("deal_ids", "%q: %s", id, msg)
		}
	}
	for _, id := range req.DealIDs {
		if id == "" {
			return errBadRequest("deal_ids", "deal_ids: an id is empty")
		}
	}
	return nil
}

func (s *Server) pushLog(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	if err := adminOnly(by); err != nil {
		return err
	}
	limit, err := pageSize(r)
	if err != nil {
		return err
	}
	entries, err := s.push.PushLog(r.Context(), r.URL.Query().Get("connection"), r.PathValue("deal"), limit)
	if err != nil {
		return inQuery(err, "connection")
	}
	if entries == nil {
		entries = []store.PushLogEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
	return nil
}

func (s *Server) pushDryRun(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	if err := adminOnly(by); err != nil {
		return err
	}
	sum, err := s.push.DryRun(r.Context(), r.PathValue("connection"))
	if errors.Is(err, push.ErrNeedsReauth) {
		return &httpError{status: http.StatusConflict, body: APIError{Code: "needs_reauth", Message: err.Error(), Field: "connection"}}
	}
	if connectors.KindOf(err) != 0 {
		// The CRM did not answer the metadata read: say so, not "internal error".
		return &httpError{status: http.StatusBadGateway, body: APIError{Code: "crm_error", Message: err.Error(), Field: "connection"}}
	}
	if err != nil {
		return inQuery(err, "connection")
	}
	writeJSON(w, http.StatusOK, sum)
	return nil
}
