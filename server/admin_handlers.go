package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
)

// AdminSource answers the admin routes (connections, runs, dead letters); cmd implements it over
// the configuration and the store. An unknown connection is a *plans.NotFoundError of kind
// "connection".
type AdminSource interface {
	// Connections returns every configured connection's status (a JSON-encodable list).
	Connections(ctx context.Context) (any, error)
	// Runs returns the latest runs of a connection ("" for all), newest first.
	Runs(ctx context.Context, connection string, limit int) ([]store.Run, error)
	// DeadLetters returns the webhook events that failed their last attempt ("" for all
	// connections), without their payloads.
	DeadLetters(ctx context.Context, connection string, limit int) ([]store.WebhookEvent, error)
	// RetryDeadLetter puts a dead event back to pending; not found if no dead event has the id.
	RetryDeadLetter(ctx context.Context, id int64) error
}

// registerAdmin adds the admin routes:
//
//	GET  /api/v1/connections                          {"connections":[...]}
//	GET  /api/v1/runs?connection=&limit=              {"runs":[...]}
//	GET  /api/v1/dead-letters?connection=&limit=      {"dead_letters":[...]}
//	POST /api/v1/dead-letters/{event}/retry           {"id":N,"status":"pending"}
func (s *Server) registerAdmin(m *http.ServeMux) {
	m.Handle("GET /api/v1/connections", s.api(s.listConnections))
	m.Handle("GET /api/v1/runs", s.api(s.listRuns, "connection", "limit"))
	m.Handle("GET /api/v1/dead-letters", s.api(s.listDeadLetters, "connection", "limit"))
	m.Handle("POST /api/v1/dead-letters/{event}/retry", s.api(s.retryDeadLetter))
}

func adminOnly(by plans.Actor) error {
	if by.Side == plans.SideBuyer {
		return forbidden("buyers cannot see connections, runs or dead letters")
	}
	return nil
}

func (s *Server) listConnections(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	if err := adminOnly(by); err != nil {
		return err
	}
	cs, err := s.admin.Connections(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"connections": cs})
	return nil
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	if err := adminOnly(by); err != nil {
		return err
	}
	limit, err := pageSize(r)
	if err != nil {
		return err
	}
	runs, err := s.admin.Runs(r.Context(), r.URL.Query().Get("connection"), limit)
	if err != nil {
		return inQuery(err, "connection")
	}
	if runs == nil {
		runs = []store.Run{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
	return nil
}

func (s *Server) listDeadLetters(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	if err := adminOnly(by); err != nil {
		return err
	}
	limit, err := pageSize(r)
	if err != nil {
		return err
	}
	evs, err := s.admin.DeadLetters(r.Context(), r.URL.Query().Get("connection"), limit)
	if err != nil {
		return inQuery(err, "connection")
	}
	if evs == nil {
		evs = []store.WebhookEvent{}
	}
	for i := range evs {
		evs[i].Payload = "" // raw CRM payloads stay in the database
	}
	writeJSON(w, http.StatusOK, map[string]any{"dead_letters": evs})
	return nil
}

func (s *Server) retryDeadLetter(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	if err := adminOnly(by); err != nil {
		return err
	}
	raw := r.PathValue("event")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return &plans.NotFoundError{Kind: "dead letter", ID: raw}
	}
	if err := s.admin.RetryDeadLetter(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return &plans.NotFoundError{Kind: "dead letter", ID: raw}
		}
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "status": store.WebhookPending})
	return nil
}
