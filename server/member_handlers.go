package server

import (
	"net/http"

	"github.com/mapsync/mapsync/plans"
)

type inviteRequest struct {
	Role  string `json:"role"`
	Name  string `json:"name"`
	Email string `json:"email"`
	CRMID string `json:"crm_id"`
}

func (s *Server) inviteMember(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	var req inviteRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	if req.Role == "" {
		return &plans.InputError{Field: "role", Message: "required"}
	}
	var m plans.Member
	_, err := s.change(r, by, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		var (
			ev  []plans.Event
			err error
		)
		m, ev, err = p.InviteMember(c, plans.Member{Role: req.Role, Name: req.Name, Email: req.Email, CRMID: req.CRMID})
		return ev, inBody(err, "role", "role")
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/plans/"+r.PathValue("plan")+"/members/"+m.ID)
	writeJSON(w, http.StatusCreated, m)
	return nil
}

type memberPatch struct {
	Role string `json:"role"`
}

func (s *Server) changeMember(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	var req memberPatch
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	if req.Role == "" {
		return &plans.InputError{Field: "role", Message: "required"}
	}
	id := r.PathValue("member")
	p, err := s.change(r, by, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		ev, err := p.ChangeMemberRole(c, id, req.Role)
		return ev, inBody(err, "role", "role")
	})
	if err != nil {
		return err
	}
	m := p.Member(id)
	if m == nil {
		return &plans.NotFoundError{Kind: "member", ID: id}
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	_, err := s.change(r, by, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		return p.RemoveMember(c, r.PathValue("member"))
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
