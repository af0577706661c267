package server

import (
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/mapsync/mapsync/plans"
)

// Page sizes of the list endpoints.
const (
	// DefaultPageSize is the page size when ?limit is not given.
	DefaultPageSize = 100
	// MaxPageSize is the largest ?limit accepted.
	MaxPageSize = 500
)

// PlanResponse is a plan as the API returns it: the plan (as the audience sees it) with its
// progress read model.
type PlanResponse struct {
	*plans.Plan
	// Progress is computed at the time of the request over what the audience sees.
	Progress plans.Progress `json:"progress"`
}

// PlanList is a page of plans.
type PlanList struct {
	// Plans are the plans of the page, ordered by id.
	Plans []plans.PlanSummary `json:"plans"`
	// Next is the cursor of the next page, for ?after; "" on the last page.
	Next string `json:"next"`
}

// EventList is a page of a plan's events.
type EventList struct {
	// Events are the events of the page, oldest first.
	Events []plans.Event `json:"events"`
	// Next is the cursor of the next page, for ?after; "" on the last page. A buyer's page may
	// hold fewer events than ?limit (internal ones are left out) and still have a next page.
	Next string `json:"next"`
}

// audience is the audience a request sees: ?audience=buyer, or buyer whatever it asks when the
// actor is on the buyer side.
func audience(r *http.Request, by plans.Actor) (plans.Audience, error) {
	a := plans.Audience(r.URL.Query().Get("audience"))
	switch a {
	case "", plans.AudienceSeller:
		a = plans.AudienceSeller
	case plans.AudienceBuyer:
	default:
		return "", errBadRequest("audience", "audience: want seller or buyer, got %q", a)
	}
	if by.Side == plans.SideBuyer {
		a = plans.AudienceBuyer
	}
	return a, nil
}

func pageSize(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return DefaultPageSize, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxPageSize {
		return 0, errBadRequest("limit", "limit: want 1 to %d, got %q", MaxPageSize, v)
	}
	return n, nil
}

func (s *Server) planResponse(p *plans.Plan, a plans.Audience) PlanResponse {
	v := plans.View(p, a)
	return PlanResponse{Plan: v, Progress: v.Progress(s.now())}
}

func (s *Server) listPlans(w http.ResponseWriter, r *http.Request, _ plans.Actor) error {
	q := r.URL.Query()
	limit, err := pageSize(r)
	if err != nil {
		return err
	}
	f := plans.PlanFilter{
		Connection: q.Get("connection"), DealID: q.Get("deal"), Owner: q.Get("owner"), After: q.Get("after"),
		Limit: limit, Now: s.now(),
	}
	// ?status= is a lifecycle status or a progress status (cancelled is both).
	switch st := q.Get("status"); {
	case st == "":
	case slices.Contains([]plans.PlanStatus{plans.PlanActive, plans.PlanClosed, plans.PlanCancelled}, plans.PlanStatus(st)):
		f.Status = plans.PlanStatus(st)
	case slices.Contains([]plans.ProgressStatus{plans.ProgressOnTrack, plans.ProgressAtRisk, plans.ProgressOffTrack, plans.ProgressCompleted}, plans.ProgressStatus(st)):
		f.Progress = plans.ProgressStatus(st)
	default:
		return errBadRequest("status", "status: want active, closed or cancelled, or a progress status (on_track, at_risk, off_track, completed), got %q", st)
	}
	list, next, err := s.store.ListPlans(r.Context(), f)
	if err != nil {
		return err
	}
	if list == nil {
		list = []plans.PlanSummary{}
	}
	writeJSON(w, http.StatusOK, PlanList{Plans: list, Next: next})
	return nil
}

func (s *Server) getPlan(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	a, err := audience(r, by)
	if err != nil {
		return err
	}
	p, err := s.store.Plan(r.Context(), r.PathValue("plan"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.planResponse(p, a))
	return nil
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	a, err := audience(r, by)
	if err != nil {
		return err
	}
	limit, err := pageSize(r)
	if err != nil {
		return err
	}
	planID, after := r.PathValue("plan"), r.URL.Query().Get("after")
	events, err := s.store.Events(r.Context(), planID, after, limit)
	if errors.Is(err, plans.ErrNotFound) && after != "" {
		// Unknown plan (404) or unknown cursor (400)?
		if _, perr := s.store.Plan(r.Context(), planID); perr == nil {
			return errBadRequest("after", "after: %q is not an event of this plan", after)
		}
	}
	if err != nil {
		return err
	}
	next := ""
	if len(events) == limit {
		next = events[len(events)-1].ID
	}
	shown := plans.EventsFor(events, a)
	if shown == nil {
		shown = []plans.Event{}
	}
	writeJSON(w, http.StatusOK, EventList{Events: shown, Next: next})
	return nil
}

type reasonRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) closePlan(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	return s.endPlan(w, r, by, (*plans.Plan).Close)
}

func (s *Server) cancelPlan(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	return s.endPlan(w, r, by, (*plans.Plan).Cancel)
}

func (s *Server) endPlan(w http.ResponseWriter, r *http.Request, by plans.Actor, end func(*plans.Plan, plans.Change, string) ([]plans.Event, error)) error {
	a, err := audience(r, by)
	if err != nil {
		return err
	}
	var req reasonRequest
	if err := decode(w, r, &req, true); err != nil {
		return err
	}
	p, _, err := s.svc.Change(r.Context(), r.PathValue("plan"), by, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		return end(p, c, req.Reason)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.planResponse(p, a))
	return nil
}

type saveAsTemplateRequest struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

// TemplateCreated answers a template import or a plan saved as a template.
type TemplateCreated struct {
	// Key is the template's key.
	Key string `json:"key"`
	// Version is the version it is stored as.
	Version int `json:"version"`
	// Created is false when the latest version already had this content.
	Created bool `json:"created"`
	// Template is the template as stored.
	Template *plans.Template `json:"template"`
}

func (s *Server) saveAsTemplate(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	if by.Side == plans.SideBuyer {
		return forbidden("buyers cannot save a plan as a template")
	}
	var req saveAsTemplateRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	t, err := s.svc.SaveAsTemplate(r.Context(), r.PathValue("plan"), by, req.Key, req.Name)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/templates/"+t.Key)
	writeJSON(w, http.StatusCreated, TemplateCreated{Key: t.Key, Version: t.Version, Created: true, Template: t})
	return nil
}
