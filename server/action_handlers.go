package server

import (
	"errors"
	"net/http"

	"github.com/mapsync/mapsync/plans"
)

// ActionResponse is an action as the API returns it after a change: the action as the actor's
// audience sees it, and the plan's version after the change.
type ActionResponse struct {
	*plans.Action
	// PlanVersion is the plan's version after the change.
	PlanVersion int `json:"plan_version"`
}

// change applies op to the plan named in the URL as by.
func (s *Server) change(r *http.Request, by plans.Actor, op plans.Op) (*plans.Plan, error) {
	p, _, err := s.svc.Change(r.Context(), r.PathValue("plan"), by, op)
	return p, err
}

// writeAction writes action id of p as by sees it.
func writeAction(w http.ResponseWriter, status int, p *plans.Plan, id string, by plans.Actor) error {
	v := p
	if by.Side == plans.SideBuyer {
		v = plans.BuyerView(p)
	}
	a := v.Action(id)
	if a == nil {
		return &plans.NotFoundError{Kind: "action", ID: id}
	}
	writeJSON(w, status, ActionResponse{Action: a, PlanVersion: p.Version})
	return nil
}

func (s *Server) getAction(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	a, err := audience(r, by)
	if err != nil {
		return err
	}
	p, err := s.store.Plan(r.Context(), r.PathValue("plan"))
	if err != nil {
		return err
	}
	if a == plans.AudienceBuyer {
		by.Side = plans.SideBuyer
	}
	return writeAction(w, http.StatusOK, p, r.PathValue("action"), by)
}

func (s *Server) updateAction(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	var patch plans.ActionPatch
	if err := decode(w, r, &patch, false); err != nil {
		return err
	}
	id := r.PathValue("action")
	p, err := s.change(r, by, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		ev, err := p.UpdateAction(c, id, patch)
		return ev, inBody(err, "member", "assignee_id")
	})
	if err != nil {
		return err
	}
	return writeAction(w, http.StatusOK, p, id, by)
}

type moveRequest struct {
	PhaseID  string `json:"phase_id"`
	Position *int   `json:"position"`
	Version  int    `json:"version"`
}

func (s *Server) moveAction(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	var req moveRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	if req.PhaseID == "" {
		return &plans.InputError{Field: "phase_id", Message: "required"}
	}
	if req.Position == nil {
		return &plans.InputError{Field: "position", Message: "required"}
	}
	id := r.PathValue("action")
	p, err := s.change(r, by, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		ev, err := p.MoveAction(c, id, req.Version, req.PhaseID, *req.Position)
		return ev, inBody(err, "phase", "phase_id")
	})
	if err != nil {
		return err
	}
	return writeAction(w, http.StatusOK, p, id, by)
}

type subTaskRequest struct {
	Title string `json:"title"`
}

func (s *Server) addSubTask(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	var req subTaskRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	var st plans.SubTask
	_, err := s.change(r, by, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		var (
			ev  []plans.Event
			err error
		)
		st, ev, err = p.AddSubTask(c, r.PathValue("action"), req.Title)
		return ev, err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, st)
	return nil
}

type subTaskPatch struct {
	Done *bool `json:"done"`
}

func (s *Server) updateSubTask(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	var req subTaskPatch
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	if req.Done == nil {
		return &plans.InputError{Field: "done", Message: "required: true to complete, false to reopen"}
	}
	actionID, id := r.PathValue("action"), r.PathValue("subtask")
	p, err := s.change(r, by, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		if *req.Done {
			return p.CompleteSubTask(c, actionID, id)
		}
		return p.ReopenSubTask(c, actionID, id)
	})
	if err != nil {
		return err
	}
	for _, st := range p.Action(actionID).SubTasks {
		if st.ID == id {
			writeJSON(w, http.StatusOK, st)
			return nil
		}
	}
	return &plans.NotFoundError{Kind: "sub-task", ID: id}
}

func (s *Server) removeSubTask(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	_, err := s.change(r, by, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		return p.RemoveSubTask(c, r.PathValue("action"), r.PathValue("subtask"))
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type commentRequest struct {
	Body     string `json:"body"`
	Internal bool   `json:"internal"`
}

func (s *Server) addComment(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	var req commentRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	_, cm, err := s.svc.AddComment(r.Context(), r.PathValue("plan"), by, r.PathValue("action"), req.Body, req.Internal)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, cm)
	return nil
}

// CommentList is a page of an action's comments.
type CommentList struct {
	// Comments are the comments of the page, oldest first.
	Comments []plans.Comment `json:"comments"`
	// Next is the cursor of the next page, for ?after; "" on the last page.
	Next string `json:"next"`
}

// listComments answers one page of an action's comments as the audience sees them: a buyer
// sees no internal comments, and an internal action is not found.
func (s *Server) listComments(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	a, err := audience(r, by)
	if err != nil {
		return err
	}
	limit, err := pageSize(r)
	if err != nil {
		return err
	}
	planID, actionID, after := r.PathValue("plan"), r.PathValue("action"), r.URL.Query().Get("after")
	p, err := s.store.Plan(r.Context(), planID)
	if err != nil {
		return err
	}
	if act := p.Action(actionID); act == nil || act.Internal && a == plans.AudienceBuyer {
		return &plans.NotFoundError{Kind: "action", ID: actionID}
	}
	list, next, err := s.store.Comments(r.Context(), plans.CommentFilter{
		PlanID: planID, ActionID: actionID, Internal: a == plans.AudienceSeller, After: after, Limit: limit,
	})
	if errors.Is(err, plans.ErrNotFound) && after != "" {
		return errBadRequest("after", "after: %q is not a comment of this plan", after)
	}
	if err != nil {
		return err
	}
	if list == nil {
		list = []plans.Comment{}
	}
	writeJSON(w, http.StatusOK, CommentList{Comments: list, Next: next})
	return nil
}

type questionsRequest struct {
	Version   int              `json:"version"`
	Questions []plans.Question `json:"questions"`
}

func (s *Server) setQuestions(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	var req questionsRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	id := r.PathValue("action")
	p, err := s.change(r, by, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		return p.SetQuestions(c, id, req.Version, req.Questions)
	})
	if err != nil {
		return err
	}
	return writeAction(w, http.StatusOK, p, id, by)
}

type responsesRequest struct {
	// Responses are answers by question key; null clears an answer.
	Responses map[string]any `json:"responses"`
	// Submit submits the form, which completes its action.
	Submit bool `json:"submit"`
}

func (s *Server) recordResponses(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	var req responsesRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	if len(req.Responses) == 0 && !req.Submit {
		return &plans.InputError{Field: "responses", Message: "required: answers, or submit"}
	}
	id := r.PathValue("action")
	p, err := s.change(r, by, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		ev, err := p.RecordResponses(c, id, req.Responses, req.Submit)
		var nf *plans.NotFoundError
		if errors.As(err, &nf) && nf.Kind == "question" {
			return nil, &plans.InputError{Field: "responses." + nf.ID, Message: "unknown question"}
		}
		return ev, err
	})
	if err != nil {
		return err
	}
	return writeAction(w, http.StatusOK, p, id, by)
}

type attachmentRequest struct {
	Name     string               `json:"name"`
	URL      string               `json:"url"`
	Kind     plans.AttachmentKind `json:"kind"`
	Internal bool                 `json:"internal"`
}

// addAttachment serves both the plan's and an action's attachments (no {action} in the path
// means the plan's).
func (s *Server) addAttachment(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	var req attachmentRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	var at plans.Attachment
	_, err := s.change(r, by, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		var (
			ev  []plans.Event
			err error
		)
		at, ev, err = p.AddAttachment(c, r.PathValue("action"), plans.Attachment{Name: req.Name, URL: req.URL, Kind: req.Kind, Internal: req.Internal})
		return ev, err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, at)
	return nil
}

func (s *Server) removeAttachment(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	_, err := s.change(r, by, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
		return p.RemoveAttachment(c, r.PathValue("action"), r.PathValue("attachment"))
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
