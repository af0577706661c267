package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/server"
	"github.com/mapsync/mapsync/store"
)

// The plan room: a plan as its people see it, and the place they act on it. A seller opens it
// from the console (an admin session); a buyer through an invitation link (web/invite.go), in a
// session that opens only that plan, in the buyer view, acting as the invited member. Every
// change goes through the plans.Service the JSON API uses, with the same version checks: a form
// carries the version of what it shows, and a stale one is shown as such with the input kept.
//
//	GET  /room/{plan}[?view=buyer]                      the room (a seller may preview the buyer's view, read-only)
//	GET  /room/{plan}/actions/{action}                  one action: conversation, form, sub-tasks, links, controls
//	GET  /room/{plan}/events                            the plan's events (what the audience may see)
//	POST /room/{plan}/actions/{action}                  status, assignee, due date, title (version)
//	POST /room/{plan}/actions/{action}/move             phase_id, position (version): drag and drop, or the move form
//	POST /room/{plan}/actions/{action}/steps            step, reason, url (version): approve, reject, sign, ...
//	POST /room/{plan}/actions/{action}/details          scheduled_at, url, document_url (version)
//	POST /room/{plan}/actions/{action}/responses        q_KEY answers, submit
//	POST /room/{plan}/actions/{action}/subtasks         title: add one
//	POST /room/{plan}/actions/{action}/subtasks/{id}    done: tick or untick
//	POST /room/{plan}/actions/{action}/subtasks/{id}/remove
//	POST /room/{plan}/actions/{action}/comments         body, internal
//	POST /room/{plan}/actions/{action}/attachments      name, url, internal
//	POST /room/{plan}/actions/{action}/remove           version (seller)
//	POST /room/{plan}/actions/{action}/type             type (version) (seller; a form gets one long-text question)
//	POST /room/{plan}/attachments                       name, url, internal: a link on the plan
//	POST /room/{plan}[/actions/{action}]/attachments/{id}/remove
//	POST /room/{plan}/phases                            name (plan_version): add a phase at the end (seller)
//	POST /room/{plan}/phases/{phase}                    name and/or position (plan_version) (seller)
//	POST /room/{plan}/phases/{phase}/remove             move_actions_to (plan_version) (seller)
//	POST /room/{plan}/phases/{phase}/actions            title, type (plan_version): add an action at the phase's end (seller)
//	POST /room/{plan}/invitations                       email, name, role: an invitation link, shown to the seller
//	POST /room/{plan}/invitations/{invitation}/revoke   (seller)
//	POST /room/{plan}/save-as-template                  key, name (seller)
//	POST /room/{plan}/milestones/{milestone}            target_date ("" clears) (plan_version) (seller)
//
// Buyers get plans.BuyerView: internal actions, comments, attachments and events are not in the
// HTML the server sends at all. Structural edits are the seller's (plans refuses them from the
// buyer side with 403); the buyer's pages do not offer them.

// Inviter makes invitation links the way the JSON API does; *server.Server implements it.
type Inviter interface {
	Invite(ctx context.Context, planID string, by plans.Actor, req server.InvitationRequest, base string) (server.InvitationResponse, error)
}

// roomInvitations is what the room needs of the store for invitations; *store.Store has it.
type roomInvitations interface {
	Invitation(ctx context.Context, id string) (store.Invitation, error)
	Invitations(ctx context.Context, planID string) ([]store.Invitation, error)
	RevokeInvitation(ctx context.Context, planID, id string, by plans.Actor) (store.Invitation, error)
	OpenInvitation(ctx context.Context, token string) (store.Invitation, error)
	JoinInvitation(ctx context.Context, token string, actor plans.Actor) (store.Invitation, error)
}

var _ roomInvitations = (*store.Store)(nil)

// invitations returns the store's invitations, or nil when the store does not keep them.
func (h *Handler) invitations() roomInvitations {
	ri, _ := h.store.(roomInvitations)
	return ri
}

// roomCtx is one request in a room: who, on which plan, seeing what.
type roomCtx struct {
	s      *Session
	planID string
	// buyer is true for the buyer view (an invitation session).
	buyer bool
	// inv is the invitation of a buyer's session.
	inv store.Invitation
	// preview is a seller's read-only look at the buyer view (GET ?view=buyer).
	preview bool
}

// audience is the plans audience of the request.
func (rc *roomCtx) audience() plans.Audience {
	if rc.buyer {
		return plans.AudienceBuyer
	}
	return plans.AudienceSeller
}

type roomFunc func(w http.ResponseWriter, r *http.Request, rc *roomCtx) error

// roomAllowed admits an admin session (the seller's view of any plan) or an invitation session
// whose plan is planID.
func roomAllowed(planID string) func(*Session) bool {
	return func(s *Session) bool {
		return s.Admin() || (s.Kind == store.WebSessionInvitation && s.PlanID == planID && s.Side == string(plans.SideBuyer))
	}
}

// room wraps fn with the room's access rule: the session must be allowed on the plan in the URL
// (another plan is 403); a buyer's session also needs its invitation still active and its
// member still on the plan (else 410, with no plan data).
func (h *Handler) room(fn roomFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		planID := r.PathValue("plan")
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			// Without a session a room page says how to get one: a buyer's way back is their
			// link, not the sellers' sign-in (authed would send everyone there).
			if s, err := h.session(r); err == nil && s == nil {
				h.render(w, r, http.StatusUnauthorized, "room_signin", &Page{Title: "Sign in to the plan room", Data: url.QueryEscape(r.URL.RequestURI())})
				return
			}
		}
		h.authed(func(w http.ResponseWriter, r *http.Request, s *Session) error {
			rc := &roomCtx{s: s, planID: planID}
			if s.Admin() && r.Method == http.MethodGet && r.URL.Query().Get("view") == "buyer" {
				rc.buyer, rc.preview = true, true
			}
			if !s.Admin() {
				rc.buyer = true
				ri := h.invitations()
				if ri == nil {
					return &UserError{Status: http.StatusGone, Message: "Invitation links are not available on this server."}
				}
				inv, err := ri.Invitation(r.Context(), s.Ref)
				if errors.Is(err, store.ErrNotFound) {
					return errLinkGone(store.InvitationRevoked)
				}
				if err != nil {
					return err
				}
				if inv.State != store.InvitationActive || inv.PlanID != planID || inv.MemberID != s.ActorID {
					return errLinkGone(inv.State)
				}
				rc.inv = inv
			}
			return fn(w, r, rc)
		}, roomAllowed(planID)).ServeHTTP(w, r)
	})
}

// errLinkGone is the 410 of an invitation that no longer opens its plan.
func errLinkGone(state store.InvitationState) error {
	msg := "This invitation link has been revoked. Ask the person who invited you for a new link."
	if state == store.InvitationExpired {
		msg = "This invitation link has expired. Ask the person who invited you for a new link."
	}
	return &UserError{Status: http.StatusGone, Message: msg}
}

// loadPlan reads the plan of rc; a buyer whose member left the plan is 410.
func (h *Handler) loadPlan(ctx context.Context, rc *roomCtx) (*plans.Plan, error) {
	p, err := h.store.Plan(ctx, rc.planID)
	if errors.Is(err, plans.ErrNotFound) {
		return nil, &UserError{Status: http.StatusNotFound, Message: fmt.Sprintf("There is no plan %q.", rc.planID)}
	}
	if err != nil {
		return nil, err
	}
	if rc.buyer && !rc.preview && p.Member(rc.inv.MemberID) == nil {
		return nil, &UserError{Status: http.StatusGone, Message: "You are no longer a member of this plan. Ask the person who invited you."}
	}
	return p, nil
}

// roomPath is the room's URL, with an action's anchor when id is not "".
func roomPath(planID, actionID string) string {
	p := "/room/" + planID
	if actionID != "" {
		p += "#a-" + actionID
	}
	return p
}

func actionPath(planID, actionID string) string {
	return "/room/" + planID + "/actions/" + actionID
}

// fromAction reports whether a form was posted from the action's page (field from=action).
func fromAction(r *http.Request) bool { return r.PostFormValue("from") == "action" }

// trimmed returns the trimmed form value of key.
func trimmed(r *http.Request, key string) string { return strings.TrimSpace(r.PostFormValue(key)) }
