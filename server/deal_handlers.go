package server

import (
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/sync/instantiate"
)

// DealList is a page of pulled deals.
type DealList struct {
	// Deals are the deals of the page, ordered by CRM id.
	Deals []instantiate.Listing `json:"deals"`
	// Next is the cursor of the next page, for ?after; "" on the last page.
	Next string `json:"next"`
}

// listDeals lists the pulled deals of a connection, so a person can pick one to make a plan.
func (s *Server) listDeals(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	if by.Side == plans.SideBuyer {
		return forbidden("buyers cannot list deals")
	}
	q := r.URL.Query()
	conn := q.Get("connection")
	if conn == "" {
		return errBadRequest("connection", "connection: required")
	}
	limit, err := pageSize(r)
	if err != nil {
		return err
	}
	lq := instantiate.ListQuery{Query: q.Get("q"), Stage: q.Get("stage"), Owner: q.Get("owner"), After: q.Get("after"), Limit: limit}
	if v := q.Get("has_plan"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errBadRequest("has_plan", "has_plan: want true or false, got %q", v)
		}
		lq.HasPlan = &b
	}
	for _, b := range []struct {
		name string
		dst  **float64
	}{{"min_amount", &lq.MinAmount}, {"max_amount", &lq.MaxAmount}} {
		v := q.Get(b.name)
		if v == "" {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return errBadRequest(b.name, "%s: want a number, got %q", b.name, v)
		}
		*b.dst = &f
	}
	if s.deals == nil {
		return &httpError{status: http.StatusNotImplemented, body: APIError{Code: "not_configured", Message: "this server has no deal source: deals cannot be listed over the API"}}
	}
	deals, next, err := s.deals.Deals(r.Context(), conn, lq)
	if err != nil {
		return inQuery(err, "connection")
	}
	if deals == nil {
		deals = []instantiate.Listing{}
	}
	writeJSON(w, http.StatusOK, DealList{Deals: deals, Next: next})
	return nil
}

// inQuery turns a not-found error about what query parameter name names into a 400 on it.
func inQuery(err error, name string) error {
	var nf *plans.NotFoundError
	if errors.As(err, &nf) && nf.Kind == name {
		return errBadRequest(name, "%s: %s", name, nf.Error())
	}
	return err
}
