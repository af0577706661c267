package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
)

// Invitation links: GET /join/{token} shows the Join Room page (the plan's name and welcome,
// who invited whom); its button posts to the same URL, which counts the use, records
// member.joined as the member, starts a web session of kind invitation (this plan only, the
// buyer view, acting as the member, ending when the invitation expires or is revoked) and
// opens the room. Joining is a POST so that mail scanners that fetch links do not join. An
// unknown link is a 404 page, an expired or revoked one a 410 page; neither shows plan data.
// The token is never logged (the request log shows /join/<token>); every open and join is
// counted by outcome (mapsync_web_invitation_links_total).

func (h *Handler) inviteRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /join/{token}", h.joinPage)
	m.HandleFunc("POST /join/{token}", h.join)
}

// joinView is the Join Room page's data.
type joinView struct {
	Token     string
	PlanName  string
	Welcome   string
	Member    string
	Email     string
	InvitedBy string
	Expires   time.Time
}

// openLink checks token and returns its invitation, plan and member; a refusal is written as a
// page and reported as ok false.
func (h *Handler) openLink(w http.ResponseWriter, r *http.Request) (store.Invitation, *plans.Plan, *plans.Member, bool) {
	ri := h.invitations()
	if ri == nil {
		h.linkRefused(w, r, http.StatusNotFound, "Invitation links are not available on this server.")
		return store.Invitation{}, nil, nil, false
	}
	inv, err := ri.OpenInvitation(r.Context(), r.PathValue("token"))
	if err != nil {
		h.linkError(w, r, err)
		return store.Invitation{}, nil, nil, false
	}
	p, err := h.store.Plan(r.Context(), inv.PlanID)
	if errors.Is(err, plans.ErrNotFound) {
		h.metrics.links.WithLabelValues("plan_gone").Inc()
		h.linkRefused(w, r, http.StatusGone, "The plan this link opened no longer exists.")
		return store.Invitation{}, nil, nil, false
	}
	if err != nil {
		h.fail(w, r, err)
		return store.Invitation{}, nil, nil, false
	}
	m := p.Member(inv.MemberID)
	if m == nil {
		h.metrics.links.WithLabelValues("member_left").Inc()
		h.linkRefused(w, r, http.StatusGone, "This link was for a member who has since left the plan. Ask the person who invited you for a new link.")
		return store.Invitation{}, nil, nil, false
	}
	return inv, p, m, true
}

// linkError shows why a link does not open: unknown (404), expired or revoked (410).
func (h *Handler) linkError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrInvitationExpired):
		h.metrics.links.WithLabelValues("expired").Inc()
		h.linkRefused(w, r, http.StatusGone, "This invitation link has expired. Ask the person who invited you for a new link.")
	case errors.Is(err, store.ErrInvitationRevoked):
		h.metrics.links.WithLabelValues("revoked").Inc()
		h.linkRefused(w, r, http.StatusGone, "This invitation link has been revoked. Ask the person who invited you for a new link.")
	case errors.Is(err, store.ErrNotFound):
		h.metrics.links.WithLabelValues("unknown").Inc()
		h.linkRefused(w, r, http.StatusNotFound, "This invitation link is not valid. Check that you copied all of it, or ask the person who invited you for a new link.")
	default:
		h.fail(w, r, err)
	}
}

func (h *Handler) linkRefused(w http.ResponseWriter, r *http.Request, status int, msg string) {
	title := "Link not valid"
	if status == http.StatusGone {
		title = "Link no longer valid"
	}
	h.render(w, r, status, "invite_refused", &Page{Title: title, Data: msg})
}

func (h *Handler) joinPage(w http.ResponseWriter, r *http.Request) {
	inv, p, m, ok := h.openLink(w, r)
	if !ok {
		return
	}
	h.metrics.links.WithLabelValues("opened").Inc()
	h.render(w, r, http.StatusOK, "invite_join", &Page{Title: "Join " + p.Name, Data: joinView{
		Token: r.PathValue("token"), PlanName: p.Name, Welcome: p.WelcomeMessage, Member: cmpOr(m.Name, m.Email), Email: m.Email,
		InvitedBy: inv.CreatedBy.Name, Expires: inv.ExpiresAt,
	}})
}

// join uses the link: the session it starts is the buyer's way into the room.
func (h *Handler) join(w http.ResponseWriter, r *http.Request) {
	inv, _, m, ok := h.openLink(w, r)
	if !ok {
		return
	}
	actor := plans.Actor{ID: m.ID, Name: cmpOr(m.Name, m.Email), Side: plans.SideBuyer}
	inv, err := h.invitations().JoinInvitation(r.Context(), r.PathValue("token"), actor)
	if err != nil {
		h.linkError(w, r, err)
		return
	}
	expires := h.now().Add(h.ttl)
	if inv.ExpiresAt.Before(expires) {
		expires = inv.ExpiresAt
	}
	err = h.StartSession(w, r, store.WebSession{
		Kind: store.WebSessionInvitation, Ref: inv.ID, ActorID: actor.ID, ActorName: actor.Name, Side: string(plans.SideBuyer),
		PlanID: inv.PlanID, ExpiresAt: expires,
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.metrics.links.WithLabelValues("joined").Inc()
	h.log.Info().Str("plan", inv.PlanID).Str("invitation", inv.ID).Str("member", m.ID).Msg("buyer joined through an invitation link")
	h.redirectFlash(w, r, "/room/"+inv.PlanID, "ok", "Welcome, "+actor.Name+".")
}

// baseURL is the start of the links the room makes: Options.PublicURL, else the scheme and Host
// of the request.
func (h *Handler) baseURL(r *http.Request) string {
	if h.publicURL != "" {
		return strings.TrimRight(h.publicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
