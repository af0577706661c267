package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/scheduler"
	"github.com/mapsync/mapsync/server"
	"github.com/mapsync/mapsync/store"
)

// Console answers the admin pages over the configuration, the store and the pipelines; cmd
// implements it with the same calls as the JSON API and the daemon (cmd/mapsync/web_wiring.go).
// An unknown connection is a *plans.NotFoundError of kind "connection".
type Console interface {
	// Connections returns every configured connection's status, as GET /api/v1/connections.
	Connections(ctx context.Context) ([]scheduler.ConnectionStatus, error)
	// StartPull starts a pull of connection (a full reconcile when full) through the path the
	// daemon's schedules use: queued as the daemon's pull job (queued true), or started here;
	// the run then shows in Runs. A run in progress is an error matching store.ErrLocked.
	StartPull(ctx context.Context, connection string, full bool) (queued bool, err error)
	// Runs returns the latest runs of a connection ("" for all), newest first, as
	// GET /api/v1/runs.
	Runs(ctx context.Context, connection string, limit int) ([]store.Run, error)
	// ConnectionIDs maps each configured connection's name to its stored id.
	ConnectionIDs(ctx context.Context) (map[string]int64, error)
	// Deal and Deals find pulled deals, as the API's deal source (server.DealSource).
	server.DealSource
}

// PlanCreator makes a deal's plan as POST /api/v1/plans does; *server.Server implements it.
type PlanCreator interface {
	CreatePlan(ctx context.Context, by plans.Actor, req server.CreatePlanRequest) (*plans.Plan, bool, error)
}

// errNoConsole answers the admin pages of a handler built without a Console.
var errNoConsole = &UserError{Status: http.StatusNotImplemented, Message: "This server was started without the admin console's sources."}

func (h *Handler) consoleRoutes(m *http.ServeMux) {
	m.Handle("GET /console/{$}", h.page(h.connectionsPage))
	m.Handle("POST /console/connections/{connection}/pull", h.page(h.startPull))
	m.Handle("GET /console/runs", h.page(h.runsPage))
	m.Handle("GET /console/deals", h.page(h.dealsPage))
	m.Handle("GET /console/plans", h.page(h.plansPage))
	m.Handle("GET /console/templates", h.page(h.templatesPage))
	m.Handle("POST /console/templates", h.page(h.importTemplate))
	m.Handle("GET /console/templates/{key}", h.page(h.templatePage))
	m.Handle("GET /console/mappings", h.page(h.mappingsPage))
	m.Handle("GET /console/push", h.page(h.pushPage))
	m.Handle("POST /console/push/retry", h.page(h.retryDeadLetters))
	m.Handle("GET /console/deals/{connection}/{deal}/plan", h.page(h.newPlanPage))
	m.Handle("POST /console/deals/{connection}/{deal}/plan", h.page(h.createPlan))
}

type connectionsData struct {
	Connections []scheduler.ConnectionStatus
}

func (h *Handler) connectionsPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	if h.console == nil {
		return errNoConsole
	}
	cs, err := h.console.Connections(r.Context())
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "connections", &Page{Title: "Connections", Nav: "connections", Data: connectionsData{Connections: cs}})
	return nil
}

// startPull is the "pull now" and "full reconcile now" buttons.
func (h *Handler) startPull(w http.ResponseWriter, r *http.Request, s *Session) error {
	if h.console == nil {
		return errNoConsole
	}
	name := r.PathValue("connection")
	full := r.PostFormValue("full") == "true"
	what := "A pull"
	if full {
		what = "A full reconcile"
	}
	queued, err := h.console.StartPull(r.Context(), name, full)
	switch {
	case errors.Is(err, store.ErrLocked):
		h.redirectFlash(w, r, "/console/", "error", "A run of "+name+" is in progress: wait for it to finish (see Runs), then try again.")
		return nil
	case err != nil:
		return err
	}
	h.log.Info().Str("connection", name).Bool("full", full).Bool("queued", queued).Str("actor", s.Actor.ID).Msg("web pull started")
	msg := what + " of " + name + " has started."
	if queued {
		msg = what + " of " + name + " is queued: it shows here when it starts."
	}
	h.redirectFlash(w, r, "/console/runs?connection="+url.QueryEscape(name), "ok", msg)
	return nil
}

// asUserError shows a not-found error about what the request named (a connection in the query)
// with status, and passes any other error on.
func asUserError(err error, status int) error {
	var nf *plans.NotFoundError
	if errors.As(err, &nf) {
		return &UserError{Status: status, Message: nf.Error()}
	}
	return err
}
