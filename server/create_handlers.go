package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/sync/instantiate"
)

// DealSource finds the stored (pulled) deals plans are made for; cmd implements it over the
// configured connections and sync/instantiate.
type DealSource interface {
	// Deal returns deal dealID of connection as plans see it, and the connection's time zone.
	// An unknown connection is a *plans.NotFoundError of kind "connection", an unknown (or
	// deleted) deal one of kind "deal".
	Deal(ctx context.Context, connection, dealID string) (plans.Deal, *time.Location, error)
	// Deals returns one page of the live deals connection has pulled, matching q, and the
	// cursor of the next page ("" on the last). An unknown connection is as for Deal.
	Deals(ctx context.Context, connection string, q instantiate.ListQuery) ([]instantiate.Listing, string, error)
}

// CreatePlanRequest is the body of POST /api/v1/plans.
type CreatePlanRequest struct {
	Connection string `json:"connection"`
	DealID     string `json:"deal_id"`
	// Template is the template key; "" lets the selection rules choose the deal's main template.
	Template string `json:"template"`
	plans.PlanOverrides
}

// createPlan makes the plan of a pulled deal: 201 with the plan, or 200 with the plan the deal
// already has from that template (the overrides are then not applied).
func (s *Server) createPlan(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	var req CreatePlanRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	p, created, err := s.CreatePlan(r.Context(), by, req)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	w.Header().Set("Location", "/api/v1/plans/"+p.ID)
	writeJSON(w, status, s.planResponse(p, plans.AudienceSeller))
	return nil
}

// CreatePlan makes the plan of a pulled deal as POST /api/v1/plans does (the web console calls
// it too): the plan and true, or the plan the deal already has from that template and false
// (the overrides are then not applied). Errors are the API's: *plans.InputError on the
// request's fields, a 403 for a buyer-side actor, 501 without a deal source.
func (s *Server) CreatePlan(ctx context.Context, by plans.Actor, req CreatePlanRequest) (*plans.Plan, bool, error) {
	if by.Side == plans.SideBuyer {
		return nil, false, forbidden("buyers cannot create plans")
	}
	switch {
	case req.Connection == "":
		return nil, false, &plans.InputError{Field: "connection", Message: "required"}
	case req.DealID == "":
		return nil, false, &plans.InputError{Field: "deal_id", Message: "required"}
	case s.deals == nil:
		return nil, false, &httpError{status: http.StatusNotImplemented, body: APIError{Code: "not_configured", Message: "this server has no deal source: plans cannot be created over the API"}}
	}
	deal, loc, err := s.deals.Deal(ctx, req.Connection, req.DealID)
	if err != nil {
		return nil, false, inBody(inBody(err, "connection", "connection"), "deal", "deal_id")
	}
	t, err := s.chooseTemplate(ctx, req.Template, deal)
	if err != nil {
		return nil, false, err
	}
	return s.svc.CreatePlanFor(ctx, t, deal, loc, by, req.PlanOverrides)
}

// chooseTemplate returns the latest version of template key, or the deal's main template by the
// selection rules when key is "". No match is a 422 on "template".
func (s *Server) chooseTemplate(ctx context.Context, key string, deal plans.Deal) (*plans.Template, error) {
	if key != "" {
		t, err := s.store.Template(ctx, key, 0)
		if errors.Is(err, plans.ErrNotFound) {
			return nil, &plans.InputError{Field: "template", Message: "unknown template " + key}
		}
		return t, err
	}
	ts, err := s.store.Templates(ctx)
	if err != nil {
		return nil, err
	}
	sel, err := plans.NewSelector(ts)
	if err != nil {
		return nil, err
	}
	chosen, err := sel.Choose(deal, s.now())
	if errors.Is(err, plans.ErrNoTemplate) {
		return nil, &plans.InputError{Field: "template", Message: err.Error() + ": name one"}
	}
	if err != nil {
		return nil, err
	}
	return chosen[0], nil
}
