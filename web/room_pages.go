package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/mapsync/mapsync/plans"
)

// roomPage shows the room: progress, welcome, milestones, phases with their actions, links,
// members and (seller) invitations.
func (h *Handler) roomPage(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	return h.showRoom(w, r, rc, http.StatusOK, nil)
}

// roomState is what a page shows besides the plan: a problem with the last form and the input
// to keep, or a link just made.
type roomState struct {
	problem  string
	stale    bool
	draft    url.Values
	draftFor string
	newLink  string
	mailed   bool
}

func (st *roomState) apply(v *roomView) {
	if st == nil {
		return
	}
	v.Problem, v.Stale, v.Draft, v.DraftFor, v.NewLink, v.NewMailed = st.problem, st.stale, st.draft, st.draftFor, st.newLink, st.mailed
}

// showRoom renders the room with status and st.
func (h *Handler) showRoom(w http.ResponseWriter, r *http.Request, rc *roomCtx, status int, st *roomState) error {
	p, err := h.loadPlan(r.Context(), rc)
	if err != nil {
		return err
	}
	v := newRoomView(p, rc.buyer, h.now(), rc.s.Actor)
	st.apply(v)
	v.Preview = rc.preview
	v.Closed = v.Closed || rc.preview
	if !rc.buyer {
		if ri := h.invitations(); ri != nil {
			if v.Invitations, err = ri.Invitations(r.Context(), p.ID); err != nil {
				return err
			}
		}
	}
	h.render(w, r, status, "room", &Page{Title: p.Name, Nav: "plans", Data: v})
	return nil
}

// actionPage shows one action with everything that needs room: its conversation (newest last),
// its form, sub-tasks, links, the controls of its type, and its edit form.
func (h *Handler) actionPage(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	return h.showAction(w, r, rc, r.PathValue("action"), http.StatusOK, nil)
}

func (h *Handler) showAction(w http.ResponseWriter, r *http.Request, rc *roomCtx, actionID string, status int, st *roomState) error {
	p, err := h.loadPlan(r.Context(), rc)
	if err != nil {
		return err
	}
	v := newRoomView(p, rc.buyer, h.now(), rc.s.Actor)
	st.apply(v)
	v.Preview = rc.preview
	v.Closed = v.Closed || rc.preview
	av := v.action(actionID)
	if av == nil {
		// Internal actions do not exist for buyers: the same answer as an unknown id.
		return &UserError{Status: http.StatusNotFound, Message: "This plan has no such action (it may have been removed)."}
	}
	after := r.URL.Query().Get("after")
	comments, next, err := h.store.Comments(r.Context(), plans.CommentFilter{
		PlanID: p.ID, ActionID: actionID, Internal: !rc.buyer, After: after, Limit: 200,
	})
	if errors.Is(err, plans.ErrNotFound) && after != "" {
		return &UserError{Status: http.StatusBadRequest, Message: "That page of comments does not exist: open the action again."}
	}
	if err != nil {
		return err
	}
	apv := &actionPageView{roomView: v, A: av, Comments: comments, Next: next, Questions: questionViews(av.Action, draftFor(v, actionID, "answers"))}
	for _, ph := range v.Phases {
		if ph.ID == av.PhaseID {
			apv.Phase = ph.Name
		}
	}
	if av.ESign != nil && av.ESign.SignerID != "" {
		if m := p.Member(av.ESign.SignerID); m != nil {
			apv.Signer = cmpOr(m.Name, m.Email)
		}
	}
	if av.Approval != nil {
		if m := p.Member(av.Approval.ApproverID); m != nil {
			apv.Approver = cmpOr(m.Name, m.Email)
		} else if role := p.Role(av.Approval.ApproverRole); role != nil {
			apv.Approver = role.Label
		}
	}
	h.render(w, r, status, "room_action", &Page{Title: av.Title, Nav: "plans", Data: apv})
	return nil
}

// draftFor returns the draft typed into form of action id, or nil.
func draftFor(v *roomView, id, form string) url.Values {
	if v.DraftFor == id+"|"+form {
		return v.Draft
	}
	return nil
}

// eventsView is the events page's data.
type eventsView struct {
	Plan   *plans.Plan
	Buyer  bool
	Events []eventView
	Next   string
}

// eventsPage lists the plan's events the audience may see, oldest first, a page at a time.
func (h *Handler) eventsPage(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	p, err := h.loadPlan(r.Context(), rc)
	if err != nil {
		return err
	}
	const pageSize = 100
	after := r.URL.Query().Get("after")
	events, err := h.store.Events(r.Context(), p.ID, after, pageSize)
	if err != nil {
		return err
	}
	v := eventsView{Plan: p, Buyer: rc.buyer}
	if len(events) == pageSize {
		v.Next = events[len(events)-1].ID
	}
	titles, names := map[string]string{}, map[string]string{}
	for _, a := range plans.View(p, rc.audience()).Actions() {
		titles[a.ID] = a.Title
	}
	for _, m := range p.Members {
		names[m.ID] = cmpOr(m.Name, m.Email)
	}
	for _, e := range plans.EventsFor(events, rc.audience()) {
		v.Events = append(v.Events, describeEvent(e, titles, names))
	}
	h.render(w, r, http.StatusOK, "room_events", &Page{Title: fmt.Sprintf("Events of %s", p.Name), Nav: "plans", Data: v})
	return nil
}
