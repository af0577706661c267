package plans

import "strings"

// Sub-tasks, comments and attachments are resources under an action: their operations take no
// version. Sub-task and attachment changes increment the action's version; comments do not (a
// comment is conversation about the action, not a change to it). Comments are not kept in the
// plan: AddComment checks one and returns it, and the store keeps it as a row of its own
// (Store.AddComment, Store.Comments), so a plan reads as fast with a thousand comments as with
// none.

// AddSubTask appends a sub-task to an action.
func (p *Plan) AddSubTask(c Change, actionID, title string) (SubTask, []Event, error) {
	a, err := p.openAction(c, actionID)
	if err != nil {
		return SubTask{}, nil, err
	}
	title = strings.TrimSpace(title)
	if title == "" {
		return SubTask{}, nil, invalid("title", "required")
	}
	if err := checkLength("title", title, MaxTitle); err != nil {
		return SubTask{}, nil, err
	}
	if err := checkCount("title", "sub-tasks on this action", len(a.SubTasks), MaxSubTasks); err != nil {
		return SubTask{}, nil, err
	}
	s := SubTask{ID: c.id(), Title: title}
	a.SubTasks = append(a.SubTasks, s)
	r := &recorder{p: p, c: c}
	r.add(EventSubTaskAdded, a, nil, s)
	r.touch(a)
	return s, r.done(), nil
}

// CompleteSubTask marks a sub-task done. Completing a done sub-task changes nothing.
func (p *Plan) CompleteSubTask(c Change, actionID, subTaskID string) ([]Event, error) {
	return p.setSubTask(c, actionID, subTaskID, true)
}

// ReopenSubTask marks a sub-task not done. Reopening an open sub-task changes nothing.
func (p *Plan) ReopenSubTask(c Change, actionID, subTaskID string) ([]Event, error) {
	return p.setSubTask(c, actionID, subTaskID, false)
}

func (p *Plan) setSubTask(c Change, actionID, subTaskID string, done bool) ([]Event, error) {
	a, err := p.openAction(c, actionID)
	if err != nil {
		return nil, err
	}
	i := subTaskIndex(a, subTaskID)
	if i < 0 {
		return nil, &NotFoundError{Kind: "sub-task", ID: subTaskID}
	}
	s := &a.SubTasks[i]
	if s.Done == done {
		return nil, nil
	}
	r := &recorder{p: p, c: c}
	s.Done = done
	typ := EventSubTaskReopened
	s.DoneAt = nil
	if done {
		typ = EventSubTaskCompleted
		at := c.At
		s.DoneAt = &at
	}
	r.add(typ, a, map[string]any{"id": s.ID, "done": !done}, map[string]any{"id": s.ID, "done": done})
	r.touch(a)
	return r.done(), nil
}

// RemoveSubTask deletes a sub-task.
func (p *Plan) RemoveSubTask(c Change, actionID, subTaskID string) ([]Event, error) {
	a, err := p.openAction(c, actionID)
	if err != nil {
		return nil, err
	}
	i := subTaskIndex(a, subTaskID)
	if i < 0 {
		return nil, &NotFoundError{Kind: "sub-task", ID: subTaskID}
	}
	r := &recorder{p: p, c: c}
	r.add(EventSubTaskRemoved, a, a.SubTasks[i], nil)
	a.SubTasks = append(a.SubTasks[:i:i], a.SubTasks[i+1:]...)
	r.touch(a)
	return r.done(), nil
}

func subTaskIndex(a *Action, id string) int {
	for i := range a.SubTasks {
		if a.SubTasks[i].ID == id {
			return i
		}
	}
	return -1
}

// openAction finds an action on an active plan as c.By sees it.
func (p *Plan) openAction(c Change, actionID string) (*Action, error) {
	if err := p.active(); err != nil {
		return nil, err
	}
	return p.findAction(c.By, actionID)
}

// AddComment makes a comment on an action, of at most MaxComment characters, and records
// it: the plan's version and last activity move, the action's version does not. The comment is
// returned, not kept in p: the caller stores it with the plan (Store.AddComment; Service does).
// Internal comments are for the seller side: a buyer cannot write one.
func (p *Plan) AddComment(c Change, actionID, body string, internal bool) (Comment, []Event, error) {
	a, err := p.openAction(c, actionID)
	if err != nil {
		return Comment{}, nil, err
	}
	if strings.TrimSpace(body) == "" {
		return Comment{}, nil, invalid("body", "required")
	}
	if err := checkLength("body", body, MaxComment); err != nil {
		return Comment{}, nil, err
	}
	if internal && c.By.Side == SideBuyer {
		return Comment{}, nil, invalid("internal", "buyers cannot write internal comments")
	}
	cm := Comment{
		ID: c.id(), PlanID: p.ID, ActionID: a.ID, Author: c.By, Body: body,
		Internal: internal, CreatedAt: c.At,
	}
	if m := p.Member(c.By.ID); m != nil && m.CommentedAt == nil {
		at := c.At
		m.CommentedAt = &at
	}
	r := &recorder{p: p, c: c}
	e := r.add(EventCommentAdded, a, nil, map[string]any{"id": cm.ID, "body": body, "internal": internal})
	e.Internal = e.Internal || internal
	return cm, r.done(), nil
}
