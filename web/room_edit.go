package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/server"
)

// Writes of the room. Each reads its form, applies one operation of plans through h.svc (the
// service the JSON API uses: load, apply, compare-and-swap) as the session's actor, and answers
// with a redirect to the page the form came from (post/redirect/get). A refused change re-renders
// that page with the problem and what the person typed (never lost); a version conflict is shown
// as a stale edit (409). Scripts (drag and drop) send X-Requested-With: fetch and get JSON.

// change applies op to rc's plan, and answers: a redirect to the room (or the action's page),
// or the page again with the problem.
func (h *Handler) change(w http.ResponseWriter, r *http.Request, rc *roomCtx, actionID, done string, op plans.Op) error {
	if _, _, err := h.svc.Change(r.Context(), rc.planID, rc.s.Actor, op); err != nil {
		return h.refused(w, r, rc, actionID, err)
	}
	h.changed(w, r, rc, actionID, done)
	return nil
}

// changed answers a change that went through.
func (h *Handler) changed(w http.ResponseWriter, r *http.Request, rc *roomCtx, actionID, done string) {
	if isFetch(r) {
		writeJSONMessage(w, http.StatusOK, done, false)
		return
	}
	to := roomPath(rc.planID, actionID)
	if fromAction(r) && actionID != "" {
		to = actionPath(rc.planID, actionID)
	}
	h.redirectFlash(w, r, to, "ok", done)
}

// isFetch reports whether r came from the room's script rather than a form.
func isFetch(r *http.Request) bool { return r.Header.Get("X-Requested-With") == "fetch" }

func writeJSONMessage(w http.ResponseWriter, status int, msg string, stale bool) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"message": msg, "stale": stale})
}

// refused shows why a change did not go through, keeping the input: the page the form came from
// again, with the status the API would answer. Errors that are not the person's (a failing
// database) are returned, for a logged 500.
func (h *Handler) refused(w http.ResponseWriter, r *http.Request, rc *roomCtx, actionID string, err error) error {
	status, msg, stale := explain(err)
	if status == http.StatusInternalServerError {
		return err
	}
	if isFetch(r) {
		writeJSONMessage(w, status, msg, stale)
		return nil
	}
	// The draft is keyed by the action and the form (field "form"), so it fills only the form
	// it came from.
	st := &roomState{problem: msg, stale: stale, draft: r.PostForm, draftFor: actionID + "|" + r.PostFormValue("form")}
	if fromAction(r) && actionID != "" {
		if err := h.showAction(w, r, rc, actionID, status, st); err != nil {
			var ue *UserError
			if errors.As(err, &ue) && ue.Status == http.StatusNotFound {
				// The action is gone (removed meanwhile): show the room with the problem.
				return h.showRoom(w, r, rc, status, st)
			}
			return err
		}
		return nil
	}
	return h.showRoom(w, r, rc, status, st)
}

// explain turns an error of plans into a status and a sentence for the person.
func explain(err error) (status int, msg string, stale bool) {
	var (
		ce  *plans.ConflictError
		pce *plans.PlanConflictError
		ie  *plans.InputError
		te  *plans.TransitionError
		se  *plans.StepError
		fe  *plans.ForbiddenError
		nf  *plans.NotFoundError
		ee  *plans.ExistsError
		ue  *UserError
	)
	switch {
	case errors.As(err, &ue):
		return ue.Status, ue.Message, false
	case errors.As(err, &ce):
		return http.StatusConflict, fmt.Sprintf("Stale edit: this action changed since you loaded the page (you edited version %d, it is now at version %d). "+
			"Your change was not saved. The page shows the action as it is now; what you entered is still in the form: check it and submit again.", ce.Version, ce.Current), true
	case errors.As(err, &pce):
		return http.StatusConflict, fmt.Sprintf("Stale edit: the plan changed since you loaded the page (you edited version %d, it is now at version %d). "+
			"Your change was not saved. The page shows the plan as it is now; what you entered is still in the form: check it and submit again.", pce.Version, pce.Current), true
	case errors.Is(err, plans.ErrClosed):
		return http.StatusConflict, "This plan is closed or cancelled and can no longer change.", false
	case errors.As(err, &ee):
		return http.StatusConflict, fmt.Sprintf("%s: choose another %s.", ee.Error(), cmpOr(ee.Field, "name")), false
	case errors.Is(err, plans.ErrConflict):
		return http.StatusConflict, "Others kept changing this plan while we saved yours: reload the page and try again.", true
	case errors.As(err, &fe):
		return http.StatusForbidden, "Not allowed: " + fe.Message + ".", false
	case errors.As(err, &se):
		return http.StatusUnprocessableEntity, fmt.Sprintf("A %s action cannot %s: %s.", se.Type, se.Step, se.Reason), false
	case errors.As(err, &te):
		return http.StatusUnprocessableEntity, fmt.Sprintf("The status cannot go from %s to %s.", statusLabels[te.From], statusLabels[te.To]), false
	case errors.As(err, &ie):
		return http.StatusUnprocessableEntity, "Check " + strings.ReplaceAll(ie.Field, "_", " ") + ": " + ie.Message + ".", false
	case errors.As(err, &nf):
		return http.StatusNotFound, fmt.Sprintf("That %s no longer exists (%s): reload the page.", nf.Kind, nf.Error()), false
	case errors.Is(err, plans.ErrInvalid):
		return http.StatusUnprocessableEntity, err.Error(), false
	}
	return http.StatusInternalServerError, "", false
}

// intField reads a whole number from the form; a missing or bad one is an input error on key.
func intField(r *http.Request, key string) (int, error) {
	v := trimmed(r, key)
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, &plans.InputError{Field: key, Message: fmt.Sprintf("want a whole number, got %q (reload the page)", v)}
	}
	return n, nil
}

// editAction changes an action's status, assignee, due date, title and description: only the
// fields the form sends, and of those only the ones that differ from the action it read.
func (h *Handler) editAction(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	id := r.PathValue("action")
	version, err := intField(r, "version")
	if err != nil {
		return h.refused(w, r, rc, id, err)
	}
	form := r.PostForm
	return h.change(w, r, rc, id, "Saved.", func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		a := p.Action(id)
		if a == nil || (a.Internal && rc.buyer) {
			return nil, &plans.NotFoundError{Kind: "action", ID: id}
		}
		patch := plans.ActionPatch{Version: version}
		if form.Has("status") {
			if s := plans.Status(form.Get("status")); s != a.Status {
				patch.Status = &s
			}
		}
		if form.Has("assignee_id") {
			if s := form.Get("assignee_id"); s != a.AssigneeID {
				patch.AssigneeID = &s
			}
		}
		if form.Has("due") {
			switch s := strings.TrimSpace(form.Get("due")); {
			case s == "" && !a.Due.IsZero():
				patch.ClearDue = true
			case s != "" && s != a.Due.String():
				d, err := plans.ParseDate(s)
				if err != nil {
					return nil, &plans.InputError{Field: "due", Message: fmt.Sprintf("want a date YYYY-MM-DD, got %q", s)}
				}
				patch.Due = &d
			}
		}
		if form.Has("title") {
			if s := strings.TrimSpace(form.Get("title")); s != a.Title {
				patch.Title = &s
			}
		}
		if form.Has("description") {
			if s := strings.TrimSpace(form.Get("description")); s != a.Description {
				patch.Description = &s
			}
		}
		if !rc.buyer && form.Has("milestone") {
			if s := strings.TrimSpace(form.Get("milestone")); s != a.Milestone {
				patch.Milestone = &s
			}
		}
		if !rc.buyer && form.Has("internal_set") {
			if b := form.Get("internal") == "true"; b != a.Internal {
				patch.Internal = &b
			}
		}
		return p.UpdateAction(c, id, patch)
	})
}

// moveAction moves an action before another (or to a phase's end): the drag and drop of the
// room's script, and the move form that is its keyboard alternative.
func (h *Handler) moveAction(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	id := r.PathValue("action")
	version, err := intField(r, "version")
	if err != nil {
		return h.refused(w, r, rc, id, err)
	}
	phaseID, before := trimmed(r, "phase_id"), trimmed(r, "before")
	if to := trimmed(r, "to"); to != "" { // the move form's select: "PHASE|BEFORE"
		phaseID, before, _ = strings.Cut(to, "|")
	}
	if phaseID == "" {
		return h.refused(w, r, rc, id, &plans.InputError{Field: "to", Message: "choose where to move the action"})
	}
	return h.change(w, r, rc, id, "Moved.", func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		pos, err := movePosition(p, id, phaseID, before)
		if err != nil {
			return nil, err
		}
		return p.MoveAction(c, id, version, phaseID, pos)
	})
}

// takeStep takes a step of an action's type (approve, reject, acknowledge, sign, ...).
func (h *Handler) takeStep(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	id := r.PathValue("action")
	version, err := intField(r, "version")
	if err != nil {
		return h.refused(w, r, rc, id, err)
	}
	req := plans.StepRequest{Version: version, Step: plans.Step(trimmed(r, "step")), Reason: trimmed(r, "reason"), URL: trimmed(r, "url")}
	label := cmpOr(stepLabels[req.Step], string(req.Step))
	return h.change(w, r, rc, id, label+": done.", func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		return p.TakeStep(c, id, req)
	})
}

// setDetails sets the setup of an action's type: a meeting's time and link, the document to
// sign, an app's or file's link.
func (h *Handler) setDetails(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	id := r.PathValue("action")
	version, err := intField(r, "version")
	if err != nil {
		return h.refused(w, r, rc, id, err)
	}
	var d plans.Details
	for key, dst := range map[string]**string{"scheduled_at": &d.ScheduledAt, "url": &d.URL, "document_url": &d.DocumentURL, "signer_id": &d.SignerID, "approver_id": &d.ApproverID} {
		if r.PostForm.Has(key) {
			v := trimmed(r, key)
			*dst = &v
		}
	}
	return h.change(w, r, rc, id, "Saved.", func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		return p.SetDetails(c, id, version, d)
	})
}

// recordResponses saves a form's answers (fields q_KEY), and submits it with submit=true.
func (h *Handler) recordResponses(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	id := r.PathValue("action")
	submit := r.PostFormValue("submit") == "true"
	form := r.PostForm
	msg := "Answers saved."
	if submit {
		msg = "Form submitted."
	}
	return h.change(w, r, rc, id, msg, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		a := p.Action(id)
		if a == nil || (a.Internal && rc.buyer) {
			return nil, &plans.NotFoundError{Kind: "action", ID: id}
		}
		answers, err := formAnswers(a, form)
		if err != nil {
			return nil, err
		}
		if len(answers) == 0 && !submit {
			return nil, nil
		}
		return p.RecordResponses(c, id, answers, submit)
	})
}

// formAnswers reads the answers of a's questions from form fields q_KEY, typed as
// RecordResponses wants them: a number, a bool, a list for multi_choice. An empty field clears
// an earlier answer and is left out otherwise.
func formAnswers(a *plans.Action, form map[string][]string) (map[string]any, error) {
	answers := map[string]any{}
	for _, q := range a.Questions {
		vals, sent := form["q_"+q.Key]
		if q.Kind == plans.QuestionMultiChoice {
			if !sent && form["q_"+q.Key+"_shown"] == nil {
				continue
			}
			list := make([]any, 0, len(vals))
			for _, v := range vals {
				list = append(list, v)
			}
			if len(list) == 0 {
				if _, had := a.Responses[q.Key]; had {
					answers[q.Key] = nil
				}
				continue
			}
			answers[q.Key] = list
			continue
		}
		if !sent {
			continue
		}
		v := strings.TrimSpace(vals[0])
		if v == "" {
			if _, had := a.Responses[q.Key]; had {
				answers[q.Key] = nil
			}
			continue
		}
		switch q.Kind {
		case plans.QuestionNumber:
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, &plans.InputError{Field: "responses." + q.Key, Message: fmt.Sprintf("%q: want a number, got %q", q.Text, v)}
			}
			answers[q.Key] = f
		case plans.QuestionYesNo:
			answers[q.Key] = v == "yes"
		default:
			answers[q.Key] = v
		}
	}
	return answers, nil
}

func (h *Handler) addSubTask(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	id, title := r.PathValue("action"), trimmed(r, "title")
	return h.change(w, r, rc, id, "Sub-task added.", func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		_, ev, err := p.AddSubTask(c, id, title)
		return ev, err
	})
}

// tickSubTask ticks (done=true) or unticks a sub-task.
func (h *Handler) tickSubTask(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	id, sub := r.PathValue("action"), r.PathValue("subtask")
	done := r.PostFormValue("done") == "true"
	return h.change(w, r, rc, id, "Sub-task updated.", func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		if done {
			return p.CompleteSubTask(c, id, sub)
		}
		return p.ReopenSubTask(c, id, sub)
	})
}

// addComment adds a message to an action's conversation; internal ones are the seller's only.
func (h *Handler) addComment(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	id := r.PathValue("action")
	internal := !rc.buyer && r.PostFormValue("internal") == "true"
	if _, _, err := h.svc.AddComment(r.Context(), rc.planID, rc.s.Actor, id, r.PostFormValue("body"), internal); err != nil {
		return h.refused(w, r, rc, id, err)
	}
	h.changed(w, r, rc, id, "Comment added.")
	return nil
}

// addAttachment adds a link to a document, on an action or (no action in the path) on the plan.
func (h *Handler) addAttachment(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	id := r.PathValue("action")
	at := plans.Attachment{Name: trimmed(r, "name"), URL: trimmed(r, "url"), Kind: plans.AttachmentKind(trimmed(r, "kind")),
		Internal: !rc.buyer && r.PostFormValue("internal") == "true"}
	return h.change(w, r, rc, id, "Link added.", func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		_, ev, err := p.AddAttachment(c, id, at)
		return ev, err
	})
}

func (h *Handler) removeAction(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	id := r.PathValue("action")
	version, err := intField(r, "version")
	if err != nil {
		return h.refused(w, r, rc, id, err)
	}
	if _, _, err := h.svc.Change(r.Context(), rc.planID, rc.s.Actor, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		return p.RemoveAction(c, id, version)
	}); err != nil {
		return h.refused(w, r, rc, id, err)
	}
	h.redirectFlash(w, r, roomPath(rc.planID, ""), "ok", "Action removed (its events keep it).")
	return nil
}

// addPhase adds a phase at the end of the plan.
func (h *Handler) addPhase(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	version, err := intField(r, "plan_version")
	if err != nil {
		return h.refused(w, r, rc, "", err)
	}
	name := cmpOr(trimmed(r, "name"), "New phase")
	var added plans.Phase
	if _, _, err := h.svc.Change(r.Context(), rc.planID, rc.s.Actor, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		var (
			ev  []plans.Event
			err error
		)
		added, ev, err = p.AddPhase(c, version, name, nil)
		return ev, err
	}); err != nil {
		return h.refused(w, r, rc, "", err)
	}
	h.redirectFlash(w, r, "/room/"+rc.planID+"#p-"+added.ID, "ok", "Phase "+added.Name+" added.")
	return nil
}

// editPhase renames a phase (name) or moves it (position, or direction up/down).
func (h *Handler) editPhase(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	id := r.PathValue("phase")
	version, err := intField(r, "plan_version")
	if err != nil {
		return h.refused(w, r, rc, "", err)
	}
	var name *string
	if r.PostForm.Has("name") {
		n := trimmed(r, "name")
		name = &n
	}
	dir := r.PostFormValue("direction")
	return h.change(w, r, rc, "", "Phase saved.", func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		var pos *int
		if ph := p.Phase(id); ph != nil {
			switch dir {
			case "up":
				n := ph.Position - 1
				pos = &n
			case "down":
				n := ph.Position + 1
				pos = &n
			}
		}
		if name == nil && pos == nil {
			return nil, &plans.InputError{Field: "name", Message: "give a name, or move the phase up or down"}
		}
		return p.UpdatePhase(c, version, id, name, pos)
	})
}

// removePhase removes a phase; its actions go to move_actions_to.
func (h *Handler) removePhase(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	id := r.PathValue("phase")
	version, err := intField(r, "plan_version")
	if err != nil {
		return h.refused(w, r, rc, "", err)
	}
	to := trimmed(r, "move_actions_to")
	return h.change(w, r, rc, "", "Phase removed.", func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		return p.RemovePhase(c, version, id, to)
	})
}

// addAction adds an action at the end of a phase: one click ("New action" when no title is
// typed), to be filled in on its page.
func (h *Handler) addAction(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	phaseID := r.PathValue("phase")
	version, err := intField(r, "plan_version")
	if err != nil {
		return h.refused(w, r, rc, "", err)
	}
	in := plans.NewAction{PhaseID: phaseID, Title: cmpOr(trimmed(r, "title"), "New action"), Type: plans.ActionType(trimmed(r, "type")),
		Internal: !rc.buyer && r.PostFormValue("internal") == "true"}
	if in.Type == plans.ActionForm {
		in.Questions = defaultQuestions()
	}
	var added plans.Action
	if _, _, err := h.svc.Change(r.Context(), rc.planID, rc.s.Actor, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		var (
			ev  []plans.Event
			err error
		)
		added, ev, err = p.AddAction(c, version, in)
		return ev, err
	}); err != nil {
		return h.refused(w, r, rc, "", err)
	}
	h.redirectFlash(w, r, roomPath(rc.planID, added.ID), "ok", "Action "+added.Title+" added.")
	return nil
}

// invite makes an invitation link for a buyer-side person (seller only) and shows it on the
// room's page, once: the link is not kept, so it is not put in a redirect or a cookie.
func (h *Handler) invite(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	if rc.buyer {
		return &UserError{Status: http.StatusForbidden, Message: "Only the seller side invites people through links."}
	}
	if h.inviter == nil {
		return &UserError{Status: http.StatusNotImplemented, Message: "This server was started without invitation links."}
	}
	req := server.InvitationRequest{Email: trimmed(r, "email"), Name: trimmed(r, "name"), Role: trimmed(r, "role")}
	if d := trimmed(r, "expires_in_days"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil {
			return h.refused(w, r, rc, "", &plans.InputError{Field: "expires_in_days", Message: fmt.Sprintf("want a whole number of days, got %q", d)})
		}
		req.ExpiresInDays = &n
	}
	res, err := h.inviter.Invite(r.Context(), rc.planID, rc.s.Actor, req, h.baseURL(r))
	if err != nil {
		return h.refused(w, r, rc, "", err)
	}
	return h.showRoom(w, r, rc, http.StatusCreated, &roomState{newLink: res.Link, mailed: res.Mailed})
}

func (h *Handler) revokeInvitation(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	ri := h.invitations()
	if rc.buyer || ri == nil {
		return &UserError{Status: http.StatusForbidden, Message: "Only the seller side manages invitation links."}
	}
	inv, err := ri.RevokeInvitation(r.Context(), rc.planID, r.PathValue("invitation"), rc.s.Actor)
	if err != nil {
		return h.refused(w, r, rc, "", err)
	}
	h.redirectFlash(w, r, "/room/"+rc.planID+"#invitations", "ok", "The link for "+cmpOr(inv.Name, inv.Email)+" is revoked: it no longer opens the plan.")
	return nil
}

// saveAsTemplate saves the plan as a new template (seller only).
func (h *Handler) saveAsTemplate(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	if rc.buyer {
		return &UserError{Status: http.StatusForbidden, Message: "Only the seller side saves plans as templates."}
	}
	t, err := h.svc.SaveAsTemplate(r.Context(), rc.planID, rc.s.Actor, trimmed(r, "key"), trimmed(r, "name"))
	if err != nil {
		return h.refused(w, r, rc, "", err)
	}
	h.redirectFlash(w, r, "/room/"+rc.planID, "ok", fmt.Sprintf("Saved as template %s (%s), version %d.", t.Key, t.Name, t.Version))
	return nil
}

// setMilestone sets (or, empty, clears) a milestone's target date.
func (h *Handler) setMilestone(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	name := r.PathValue("milestone")
	version, err := intField(r, "plan_version")
	if err != nil {
		return h.refused(w, r, rc, "", err)
	}
	var target plans.Date
	if s := trimmed(r, "target_date"); s != "" {
		if target, err = plans.ParseDate(s); err != nil {
			return h.refused(w, r, rc, "", &plans.InputError{Field: "target_date", Message: fmt.Sprintf("want a date YYYY-MM-DD, got %q", s)})
		}
	}
	return h.change(w, r, rc, "", "Milestone "+name+" saved.", func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		return p.SetMilestoneTarget(c, version, name, target)
	})
}

func (h *Handler) removeSubTask(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	id, sub := r.PathValue("action"), r.PathValue("subtask")
	return h.change(w, r, rc, id, "Sub-task removed.", func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		return p.RemoveSubTask(c, id, sub)
	})
}

// removeAttachment removes a link from an action or (no action in the path) from the plan.
func (h *Handler) removeAttachment(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	id, at := r.PathValue("action"), r.PathValue("attachment")
	return h.change(w, r, rc, id, "Link removed.", func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		return p.RemoveAttachment(c, id, at)
	})
}

// defaultQuestions are the questions of a form made in the room (plans requires at least one).
func defaultQuestions() []plans.Question {
	return []plans.Question{{Key: "answer", Text: "Your answer", Kind: plans.QuestionLongText}}
}

// changeType changes an open action's type (its old type's state goes, plans.ChangeType).
func (h *Handler) changeType(w http.ResponseWriter, r *http.Request, rc *roomCtx) error {
	id := r.PathValue("action")
	version, err := intField(r, "version")
	if err != nil {
		return h.refused(w, r, rc, id, err)
	}
	tc := plans.TypeChange{Version: version, Type: plans.ActionType(trimmed(r, "type"))}
	if tc.Type == plans.ActionForm {
		tc.Questions = defaultQuestions()
	}
	return h.change(w, r, rc, id, "Type changed to "+cmpOr(typeLabels[tc.Type], string(tc.Type))+".", func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		return p.ChangeType(c, id, tc)
	})
}
