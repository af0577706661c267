package plans

import (
	"time"

	"github.com/google/uuid"
)

// Actor is who made a change: a member, an API user or mapsync itself.
type Actor struct {
	// ID identifies the actor: a member id, a user or token name, or "mapsync".
	ID string `json:"id,omitempty"`
	// Name is the actor's display name.
	Name string `json:"name,omitempty"`
	// Side is buyer, seller or system. Buyer-side actors cannot see or change internal actions,
	// and cannot write internal comments.
	Side Side `json:"side"`
}

// System is the actor for changes mapsync makes by itself.
func System() Actor { return Actor{ID: "mapsync", Name: "mapsync", Side: SideSystem} }

// Change is who makes a change, and when. Every operation on a plan takes one.
type Change struct {
	// By is the actor.
	By Actor
	// At is the time of the change.
	At time.Time
	// NewID returns ids for things the change creates (events, sub-tasks, comments, members);
	// nil means NewID (UUIDv7).
	NewID func() string
}

func (c Change) id() string {
	if c.NewID != nil {
		return c.NewID()
	}
	return NewID()
}

// NewID returns a new time-ordered id (a UUIDv7 string), which keeps inserts local in a B-tree.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// planNamespace is the UUID namespace of plan ids.
var planNamespace = uuid.MustParse("6b1f6f2e-3c4a-4f8e-9a51-2d7f0c9e8b10")

// PlanID returns the deterministic id of the plan for (connection, deal, template): a UUIDv5, so
// two workers that race to create the same plan produce the same primary key.
func PlanID(connection, dealID, templateKey string) string {
	return uuid.NewSHA1(planNamespace, []byte(connection+"\x00"+dealID+"\x00"+templateKey)).String()
}

// EventType names what happened.
type EventType string

// The event types.
const (
	EventPlanCreated          EventType = "plan.created"
	EventPlanClosed           EventType = "plan.closed"
	EventPlanCancelled        EventType = "plan.cancelled"
	EventPlanSavedAsTemplate  EventType = "plan.saved_as_template"
	EventRoleUnfilled         EventType = "role.unfilled"
	EventDueUnresolved        EventType = "action.due_unresolved"
	EventActionStatus         EventType = "action.status_changed"
	EventActionAssignee       EventType = "action.assignee_changed"
	EventActionDue            EventType = "action.due_changed"
	EventActionDueRecomputed  EventType = "action.due_recomputed"
	EventActionTitle          EventType = "action.title_changed"
	EventActionDescription    EventType = "action.description_changed"
	EventActionMoved          EventType = "action.moved"
	EventSubTaskAdded         EventType = "subtask.added"
	EventSubTaskCompleted     EventType = "subtask.completed"
	EventSubTaskReopened      EventType = "subtask.reopened"
	EventSubTaskRemoved       EventType = "subtask.removed"
	EventCommentAdded         EventType = "comment.added"
	EventFormQuestionsChanged EventType = "form.questions_changed"
	EventFormResponses        EventType = "form.responses_recorded"
	EventFormSubmitted        EventType = "form.submitted"
	EventAttachmentAdded      EventType = "attachment.added"
	EventAttachmentRemoved    EventType = "attachment.removed"
	EventMemberInvited        EventType = "member.invited"
	EventMemberRoleChanged    EventType = "member.role_changed"
	EventMemberRemoved        EventType = "member.removed"
	EventPhaseAdded           EventType = "phase.added"
	EventPhaseRenamed         EventType = "phase.renamed"
	EventPhaseMoved           EventType = "phase.moved"
	EventPhaseRemoved         EventType = "phase.removed"
	EventActionAdded          EventType = "action.added"
	EventActionRemoved        EventType = "action.removed"
	EventActionTypeChanged    EventType = "action.type_changed"
	EventActionMilestone      EventType = "action.milestone_changed"
	EventActionInternal       EventType = "action.internal_changed"
	EventActionOwnerRole      EventType = "action.owner_role_changed"
	EventActionDetails        EventType = "action.details_changed"
	EventActionStep           EventType = "action.step"
	EventMilestoneTarget      EventType = "milestone.target_changed"
)

// Level is how much an event matters.
type Level string

// The event levels.
const (
	// LevelInfo is an ordinary change.
	LevelInfo Level = "info"
	// LevelWarning is something a person should look at (a role nobody fills, a due date that
	// could not be computed).
	LevelWarning Level = "warning"
)

// Event is one change to a plan: who, what, when, and the values before and after. Events are
// append-only; the store keeps them in the same transaction as the change.
type Event struct {
	// ID is the event's id (time-ordered).
	ID string `json:"id"`
	// PlanID is the plan's id.
	PlanID string `json:"plan_id"`
	// ActionID is the action concerned, if any.
	ActionID string `json:"action_id,omitempty"`
	// Type says what happened.
	Type EventType `json:"type"`
	// Level is info or warning.
	Level Level `json:"level"`
	// Actor is who did it.
	Actor Actor `json:"actor"`
	// At is when.
	At time.Time `json:"at"`
	// Before is the value before the change (a JSON-encodable value); nil for creations.
	Before any `json:"before,omitempty"`
	// After is the value after the change; nil for removals.
	After any `json:"after,omitempty"`
	// Message explains a warning in words.
	Message string `json:"message,omitempty"`
	// Internal events (about internal actions, comments or attachments) are hidden from buyers.
	Internal bool `json:"internal,omitempty"`
}

// recorder collects the events of one operation and stamps the plan when it is done.
type recorder struct {
	p      *Plan
	c      Change
	events []Event
}

func (r *recorder) add(typ EventType, a *Action, before, after any) *Event {
	e := Event{
		ID: r.c.id(), PlanID: r.p.ID, Type: typ, Level: LevelInfo, Actor: r.c.By, At: r.c.At,
		Before: before, After: after,
	}
	if a != nil {
		e.ActionID = a.ID
		e.Internal = a.Internal
	}
	r.events = append(r.events, e)
	return &r.events[len(r.events)-1]
}

// touch bumps an action's version and update time.
func (r *recorder) touch(a *Action) {
	a.Version++
	a.UpdatedAt = r.c.At
}

// done stamps the plan if anything changed and returns the events.
func (r *recorder) done() []Event {
	if len(r.events) == 0 {
		return nil
	}
	r.p.Version++
	r.p.UpdatedAt = r.c.At
	if r.c.By.Side == SideBuyer || r.c.By.Side == SideSeller {
		at := r.c.At
		r.p.LastActivityAt = &at
		r.p.LastActivitySide = r.c.By.Side
	}
	return r.events
}
