package server

import (
	"net/http"

	"github.com/mapsync/mapsync/plans"
)

// Structural edits of a live plan (phases, adding and removing actions, an action's type,
// milestones) and the steps of action types. Edits that concern the plan as a whole carry the
// plan version read ("plan_version"); those on one action carry its version ("version"). Both
// are 409 when stale. Buyer-side actors may take steps but not edit the structure (403).

// PhaseResponse is a phase as the API returns it after a change, with the plan's version.
type PhaseResponse struct {
	plans.Phase
	// PlanVersion is the plan's version after the change.
	PlanVersion int `json:"plan_version"`
}

type addPhaseRequest struct {
	PlanVersion int    `json:"plan_version"`
	Name        string `json:"name"`
	Position    *int   `json:"position"`
}

func (s *Server) addPhase(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	var req addPhaseRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	var ph plans.Phase
	p, err := s.change(r, by, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		var (
			ev  []plans.Event
			err error
		)
		ph, ev, err = p.AddPhase(c, req.PlanVersion, req.Name, req.Position)
		return ev, err
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/plans/"+p.ID+"/phases/"+ph.ID)
	writeJSON(w, http.StatusCreated, PhaseResponse{Phase: *p.Phase(ph.ID), PlanVersion: p.Version})
	return nil
}

type phasePatch struct {
	PlanVersion int     `json:"plan_version"`
	Name        *string `json:"name"`
	Position    *int    `json:"position"`
}

// updatePhase renames and/or moves a phase; both in one request are one change checked against
// the version read.
func (s *Server) updatePhase(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	var req phasePatch
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	if req.Name == nil && req.Position == nil {
		return &plans.InputError{Field: "name", Message: "required: name, position or both"}
	}
	id := r.PathValue("phase")
	p, err := s.change(r, by, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		return p.UpdatePhase(c, req.PlanVersion, id, req.Name, req.Position)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, PhaseResponse{Phase: *p.Phase(id), PlanVersion: p.Version})
	return nil
}

type removePhaseRequest struct {
	PlanVersion   int    `json:"plan_version"`
	MoveActionsTo string `json:"move_actions_to"`
}

func (s *Server) removePhase(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	return editPlan(s, w, r, by, func(req *removePhaseRequest, p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		return p.RemovePhase(c, req.PlanVersion, r.PathValue("phase"), req.MoveActionsTo)
	})
}

type addActionRequest struct {
	PlanVersion int `json:"plan_version"`
	plans.NewAction
}

func (s *Server) addAction(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	var req addActionRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	var a plans.Action
	p, err := s.change(r, by, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		var (
			ev  []plans.Event
			err error
		)
		a, ev, err = p.AddAction(c, req.PlanVersion, req.NewAction)
		return ev, err
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/plans/"+p.ID+"/actions/"+a.ID)
	return writeAction(w, http.StatusCreated, p, a.ID, by)
}

type versionRequest struct {
	Version int `json:"version"`
}

func (s *Server) removeAction(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	return editPlan(s, w, r, by, func(req *versionRequest, p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		return p.RemoveAction(c, r.PathValue("action"), req.Version)
	})
}

func (s *Server) changeType(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	return editAction(s, w, r, by, func(req *plans.TypeChange, id string, p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		return p.ChangeType(c, id, *req)
	})
}

type detailsRequest struct {
	Version int `json:"version"`
	plans.Details
}

func (s *Server) setDetails(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	return editAction(s, w, r, by, func(req *detailsRequest, id string, p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		return p.SetDetails(c, id, req.Version, req.Details)
	})
}

func (s *Server) takeStep(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	return editAction(s, w, r, by, func(req *plans.StepRequest, id string, p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		return p.TakeStep(c, id, *req)
	})
}

type milestoneRequest struct {
	PlanVersion int        `json:"plan_version"`
	TargetDate  plans.Date `json:"target_date"`
}

func (s *Server) setMilestone(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	return editPlan(s, w, r, by, func(req *milestoneRequest, p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		return p.SetMilestoneTarget(c, req.PlanVersion, r.PathValue("milestone"), req.TargetDate)
	})
}

// editPlan decodes a request body into a T, applies op to the plan as by, and answers 200 with
// the whole plan as by's audience sees it.
func editPlan[T any](s *Server, w http.ResponseWriter, r *http.Request, by plans.Actor, op func(req *T, p *plans.Plan, c plans.Change) ([]plans.Event, error)) error {
	var req T
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	a, err := audience(r, by)
	if err != nil {
		return err
	}
	p, err := s.change(r, by, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		return op(&req, p, c)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.planResponse(p, a))
	return nil
}

// editAction decodes a request body into a T, applies op to the action named by the path's
// {action} as by, and answers 200 with that action as by sees it.
func editAction[T any](s *Server, w http.ResponseWriter, r *http.Request, by plans.Actor, op func(req *T, id string, p *plans.Plan, c plans.Change) ([]plans.Event, error)) error {
	var req T
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	id := r.PathValue("action")
	p, err := s.change(r, by, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		return op(&req, id, p, c)
	})
	if err != nil {
		return err
	}
	return writeAction(w, http.StatusOK, p, id, by)
}

// editRoutes registers the routes of this file, POST /api/v1/plans and GET /api/v1/deals.
func (s *Server) editRoutes(plan, action string) {
	m := s.mux
	m.Handle("POST /api/v1/plans", s.api(s.createPlan))
	m.Handle("GET /api/v1/deals", s.api(s.listDeals, "connection", "q", "stage", "owner", "has_plan", "min_amount", "max_amount", "after", "limit"))
	m.Handle("POST "+plan+"/phases", s.api(s.addPhase))
	m.Handle("PATCH "+plan+"/phases/{phase}", s.api(s.updatePhase))
	m.Handle("DELETE "+plan+"/phases/{phase}", s.api(s.removePhase, "audience"))
	m.Handle("POST "+plan+"/actions", s.api(s.addAction))
	m.Handle("DELETE "+action, s.api(s.removeAction, "audience"))
	m.Handle("PUT "+action+"/type", s.api(s.changeType))
	m.Handle("PUT "+action+"/details", s.api(s.setDetails))
	m.Handle("POST "+action+"/steps", s.api(s.takeStep))
	m.Handle("PUT "+plan+"/milestones/{milestone}", s.api(s.setMilestone, "audience"))
}
