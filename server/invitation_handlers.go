package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
)

// Buyer invitation links. A seller (any API token acting on the seller side) invites a buyer-side
// member of a plan and gets a link, PublicURL + "/join/" + token; the buyer opens it, joins the
// plan's room and acts there as that member, in the buyer view only (web/invite*.go). The token is
// shown once; the store keeps its SHA-256.
//
//	POST   /api/v1/plans/{plan}/invitations               {member_id} or {email, name?, role}, expires_in_days?   201 {..., "link"}
//	GET    /api/v1/plans/{plan}/invitations               {"invitations":[...]}
//	DELETE /api/v1/plans/{plan}/invitations/{invitation}  200 the invitation, revoked

// InvitationStore keeps invitation links; *store.Store implements it.
type InvitationStore interface {
	// CreateInvitation stores an invitation and returns it with its token (see store.Store).
	CreateInvitation(ctx context.Context, n store.NewInvitation) (store.Invitation, string, error)
	// Invitations lists a plan's invitations, oldest first.
	Invitations(ctx context.Context, planID string) ([]store.Invitation, error)
	// RevokeInvitation revokes one; an id that is not the plan's matches plans.ErrNotFound.
	RevokeInvitation(ctx context.Context, planID, id string, by plans.Actor) (store.Invitation, error)
}

var _ InvitationStore = (*store.Store)(nil)

// InvitationMailer mails invitation links (when SMTP is configured). SendInvitation returns when
// the mail server accepted the message, or an error; it must not log the link.
type InvitationMailer interface {
	SendInvitation(ctx context.Context, to Invitee, planName, from, link string, expires time.Time) error
}

// Invitee is the person an invitation mail goes to.
type Invitee struct {
	// Name is the person's name ("" when unknown).
	Name string
	// Email is their address.
	Email string
}

// InvitationRequest is the body of POST /api/v1/plans/{plan}/invitations: an existing member by
// id, or a person by email and role (an existing member with that email and role, else a new
// member invited to the role, as POST .../members does).
type InvitationRequest struct {
	// MemberID is an existing buyer-side member of the plan.
	MemberID string `json:"member_id,omitempty"`
	// Email, Name and Role name the person when MemberID is empty.
	Email string `json:"email,omitempty"`
	// Name is the person's name (for a new member).
	Name string `json:"name,omitempty"`
	// Role is a buyer-side role key of the plan.
	Role string `json:"role,omitempty"`
	// ExpiresInDays is how long the link works (default Options.InvitationTTL, 14 days).
	ExpiresInDays *int `json:"expires_in_days,omitempty"`
}

// InvitationResponse is an invitation with its link, which is only ever returned when the
// invitation is made.
type InvitationResponse struct {
	store.Invitation
	// Link opens the plan's room as the member: PublicURL + "/join/" + token.
	Link string `json:"link"`
	// Mailed is true when the link was sent to the member by email (SMTP configured).
	Mailed bool `json:"mailed"`
}

// InvitationList is the answer of GET /api/v1/plans/{plan}/invitations.
type InvitationList struct {
	// Invitations are the plan's invitations, oldest first, without their links.
	Invitations []store.Invitation `json:"invitations"`
}

func (s *Server) invitationRoutes(plan string) {
	m := s.mux
	m.Handle("POST "+plan+"/invitations", s.api(s.createInvitation))
	m.Handle("GET "+plan+"/invitations", s.api(s.listInvitations))
	m.Handle("DELETE "+plan+"/invitations/{invitation}", s.api(s.revokeInvitation))
}

// sellerOnly refuses buyer-side actors: invitations are the seller's to hand out.
func sellerOnly(by plans.Actor) error {
	if by.Side == plans.SideBuyer {
		return forbidden("only the seller side manages invitation links")
	}
	return nil
}

func (s *Server) createInvitation(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	var req InvitationRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	res, err := s.Invite(r.Context(), r.PathValue("plan"), by, req, s.baseURL(r))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/plans/"+res.PlanID+"/invitations/"+res.ID)
	writeJSON(w, http.StatusCreated, res)
	return nil
}

// Invite makes an invitation link to plan planID as by (a seller-side actor): for req.MemberID,
// or for the member with req.Email in req.Role, who is invited to the plan first when not on it
// (member.invited). base is the URL the link starts with ("" for Options.PublicURL). The room's
// "invite" form uses it too, so the API and the pages invite one way.
func (s *Server) Invite(ctx context.Context, planID string, by plans.Actor, req InvitationRequest, base string) (InvitationResponse, error) {
	if err := sellerOnly(by); err != nil {
		return InvitationResponse{}, err
	}
	if s.invites == nil {
		return InvitationResponse{}, errNotImplemented("invitations need a store that keeps them")
	}
	ttl := s.inviteTTL
	if req.ExpiresInDays != nil {
		d := *req.ExpiresInDays
		if d < 1 || time.Duration(d)*24*time.Hour > store.MaxInvitationTTL {
			return InvitationResponse{}, &plans.InputError{Field: "expires_in_days", Message: fmt.Sprintf("want 1 to %d days, got %d", int(store.MaxInvitationTTL.Hours()/24), d)}
		}
		ttl = time.Duration(d) * 24 * time.Hour
	}
	m, err := s.invitee(ctx, planID, by, req)
	if err != nil {
		return InvitationResponse{}, err
	}
	inv, token, err := s.invites.CreateInvitation(ctx, store.NewInvitation{PlanID: planID, Member: m, By: by, TTL: ttl})
	if err != nil {
		return InvitationResponse{}, err
	}
	if base == "" {
		base = s.publicURL
	}
	res := InvitationResponse{Invitation: inv, Link: strings.TrimRight(base, "/") + "/join/" + token}
	if s.mailer != nil {
		p, err := s.store.Plan(ctx, planID)
		if err == nil {
			err = s.mailer.SendInvitation(ctx, Invitee{Name: m.Name, Email: m.Email}, p.Name, by.Name, res.Link, inv.ExpiresAt)
		}
		if err != nil {
			// The invitation stands and its link is returned: the seller can pass it on.
			zerolog.Ctx(ctx).Warn().Err(err).Str("plan", planID).Str("invitation", inv.ID).Msg("invitation mail not sent")
		} else {
			res.Mailed = true
		}
	}
	return res, nil
}

// invitee finds (or invites) the member req names.
func (s *Server) invitee(ctx context.Context, planID string, by plans.Actor, req InvitationRequest) (plans.Member, error) {
	if req.MemberID != "" {
		if req.Email != "" || req.Role != "" || req.Name != "" {
			return plans.Member{}, errBadRequest("member_id", "give member_id, or email and role, not both")
		}
		p, err := s.store.Plan(ctx, planID)
		if err != nil {
			return plans.Member{}, err
		}
		m := p.Member(req.MemberID)
		if m == nil {
			return plans.Member{}, &plans.InputError{Field: "member_id", Message: fmt.Sprintf("unknown member %q", req.MemberID)}
		}
		return *m, nil
	}
	switch {
	case req.Email == "":
		return plans.Member{}, &plans.InputError{Field: "email", Message: "required (or member_id)"}
	case req.Role == "":
		return plans.Member{}, &plans.InputError{Field: "role", Message: "required (or member_id)"}
	}
	var m plans.Member
	_, _, err := s.svc.Change(ctx, planID, by, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		role := p.Role(req.Role)
		if role == nil {
			return nil, &plans.InputError{Field: "role", Message: fmt.Sprintf("unknown role %q", req.Role)}
		}
		if role.Side != plans.SideBuyer {
			return nil, &plans.InputError{Field: "role", Message: fmt.Sprintf("invitation links are for buyer-side roles; %s is on the %s side (sellers sign in to the console)", req.Role, role.Side)}
		}
		for _, x := range p.Members {
			if x.Role == req.Role && strings.EqualFold(x.Email, strings.TrimSpace(req.Email)) {
				m = x
				return nil, nil // on the plan already: nothing to change
			}
		}
		var (
			ev  []plans.Event
			err error
		)
		m, ev, err = p.InviteMember(c, plans.Member{Role: req.Role, Name: req.Name, Email: strings.TrimSpace(req.Email)})
		return ev, err
	})
	return m, err
}

func (s *Server) listInvitations(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	if err := sellerOnly(by); err != nil {
		return err
	}
	if s.invites == nil {
		return errNotImplemented("invitations need a store that keeps them")
	}
	planID := r.PathValue("plan")
	if _, err := s.store.Plan(r.Context(), planID); err != nil {
		return err
	}
	list, err := s.invites.Invitations(r.Context(), planID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, InvitationList{Invitations: list})
	return nil
}

func (s *Server) revokeInvitation(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	if err := sellerOnly(by); err != nil {
		return err
	}
	if s.invites == nil {
		return errNotImplemented("invitations need a store that keeps them")
	}
	planID, id := r.PathValue("plan"), r.PathValue("invitation")
	if _, err := s.store.Plan(r.Context(), planID); err != nil {
		return err
	}
	inv, err := s.invites.RevokeInvitation(r.Context(), planID, id, by)
	if errors.Is(err, plans.ErrNotFound) {
		return &httpError{status: http.StatusNotFound, body: APIError{Code: "not_found", Message: fmt.Sprintf("invitation %q not found on plan %q", id, planID), Field: "invitation"}}
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, inv)
	return nil
}

// baseURL is the start of links made for r: Options.PublicURL, else the scheme and Host r came
// in on.
func (s *Server) baseURL(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func errNotImplemented(msg string) error {
	return &httpError{status: http.StatusNotImplemented, body: APIError{Code: "not_implemented", Message: msg}}
}
