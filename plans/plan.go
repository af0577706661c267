package plans

import (
	"sync"
	"time"
)

// PlanStatus is the lifecycle state of a plan.
type PlanStatus string

// The plan statuses.
const (
	// PlanActive is a plan being worked on.
	PlanActive PlanStatus = "active"
	// PlanClosed is a finished plan; it can no longer change.
	PlanClosed PlanStatus = "closed"
	// PlanCancelled is an abandoned plan; it can no longer change.
	PlanCancelled PlanStatus = "cancelled"
)

// Status is the state of an action.
type Status string

// The action statuses. See CanTransition for the allowed moves between them.
const (
	StatusNotStarted Status = "not_started"
	StatusInProgress Status = "in_progress"
	StatusDone       Status = "done"
	StatusBlocked    Status = "blocked"
	StatusSkipped    Status = "skipped"
)

// Statuses lists every action status.
var Statuses = []Status{StatusNotStarted, StatusInProgress, StatusDone, StatusBlocked, StatusSkipped}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	for _, k := range Statuses {
		if k == s {
			return true
		}
	}
	return false
}

// Closed reports whether s is done or skipped: the action needs nothing more.
func (s Status) Closed() bool { return s == StatusDone || s == StatusSkipped }

// Plan is a mutual action plan made for one deal from one template version. A store keeps it
// whole: the plan row, its phases, actions, sub-tasks, members and attachments, within the
// limits of limits.go. Comments on its actions are kept beside it, one row each (Comment). Version
// increments on every change, for the store's compare-and-swap (see Store.UpdatePlan); each action
// also has its own Version, which the API checks.
type Plan struct {
	// ID is the plan's id (by default PlanID of connection, deal and template).
	ID string `json:"id"`
	// Connection is the name of the connection the deal came from.
	Connection string `json:"connection"`
	// DealID is the CRM id of the deal.
	DealID string `json:"deal_id"`
	// TemplateKey is the key of the template the plan was made from.
	TemplateKey string `json:"template_key"`
	// TemplateVersion is the version of that template.
	TemplateVersion int `json:"template_version"`
	// Name is the plan's (conversation) name, placeholders filled.
	Name string `json:"name"`
	// Description is the template's description.
	Description string `json:"description,omitempty"`
	// WelcomeMessage greets members, placeholders filled.
	WelcomeMessage string `json:"welcome_message,omitempty"`
	// ConversationTemplate is the name and welcome message as the template wrote them,
	// placeholders unfilled and the default name applied, so that SaveAsTemplate carries them
	// over; zero for plans made before plans kept it.
	ConversationTemplate Conversation `json:"conversation_template,omitzero"`
	// Status is active, closed or cancelled.
	Status PlanStatus `json:"status"`
	// TimeZone is the IANA name of the zone due dates are read in (the connection's).
	TimeZone string `json:"time_zone"`
	// StartDate is the day the plan was created in TimeZone (the plan_start anchor).
	StartDate Date `json:"start_date"`
	// CloseDate is the deal's close date when the plan was created (the close_date anchor).
	CloseDate Date `json:"close_date"`
	// Roles are the template's roles, copied so members can be invited to them.
	Roles []RoleTemplate `json:"roles"`
	// Members are the people on the plan.
	Members []Member `json:"members"`
	// Phases are the plan's phases in order.
	Phases []Phase `json:"phases"`
	// DueNotBeforeStart is the template's rule that no due date is before StartDate.
	DueNotBeforeStart bool `json:"due_not_before_start,omitempty"`
	// MilestoneTargets are the target dates set on milestones, by milestone name.
	MilestoneTargets map[string]Date `json:"milestone_targets,omitempty"`
	// Attachments are links on the plan itself (action links live on the action).
	Attachments []Attachment `json:"attachments,omitempty"`
	// CreatedAt is when the plan was created.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when the plan last changed.
	UpdatedAt time.Time `json:"updated_at"`
	// ClosedAt is when the plan was closed or cancelled.
	ClosedAt *time.Time `json:"closed_at,omitempty"`
	// CloseReason is the reason given when closing or cancelling.
	CloseReason string `json:"close_reason,omitempty"`
	// LastActivityAt is when a person (not mapsync itself) last changed the plan.
	LastActivityAt *time.Time `json:"last_activity_at,omitempty"`
	// LastActivitySide is the side of that person.
	LastActivitySide Side `json:"last_activity_side,omitempty"`
	// Version increments on every change to the plan or anything in it.
	Version int `json:"version"`
}

// Phase is a stage of a plan holding actions in order.
type Phase struct {
	// ID is the phase's id.
	ID string `json:"id"`
	// Key is the template's phase key ("" for phases added later).
	Key string `json:"key,omitempty"`
	// Name is shown to people.
	Name string `json:"name"`
	// Position is the phase's index in the plan, from 0.
	Position int `json:"position"`
	// Actions are the phase's actions in order.
	Actions []Action `json:"actions"`
}

// Action is one step of a plan.
type Action struct {
	// ID is the action's id.
	ID string `json:"id"`
	// Key is the template's action key; due rules refer to it.
	Key string `json:"key,omitempty"`
	// Title is the action's short name.
	Title string `json:"title"`
	// Description says what the action is about.
	Description string `json:"description,omitempty"`
	// Type is one of ActionTypes.
	Type ActionType `json:"type"`
	// Status is the action's state.
	Status Status `json:"status"`
	// OwnerRole is the key of the role responsible; "" when none.
	OwnerRole string `json:"owner_role,omitempty"`
	// AssigneeID is the id of the member responsible; "" when the role has nobody yet.
	AssigneeID string `json:"assignee_id,omitempty"`
	// Due is the due date in the plan's time zone; zero when none.
	Due Date `json:"due"`
	// DueRule is the rule the due date comes from; nil when none or after a manual change.
	DueRule *DueRule `json:"due_rule,omitempty"`
	// DueProvisional is true while Due counts from an anchor action's due date rather than its
	// completion.
	DueProvisional bool `json:"due_provisional,omitempty"`
	// Internal hides the action from the buyer side.
	Internal bool `json:"internal,omitempty"`
	// Milestone names the milestone the action belongs to.
	Milestone string `json:"milestone,omitempty"`
	// Position is the action's index in its phase, from 0.
	Position int `json:"position"`
	// SubTasks are the action's sub-tasks in order.
	SubTasks []SubTask `json:"sub_tasks,omitempty"`
	// Questions are a form action's questions.
	Questions []Question `json:"questions,omitempty"`
	// Responses are a form's answers by question key: a string, or a list of strings for
	// multi_choice.
	Responses map[string]any `json:"responses,omitempty"`
	// SubmittedAt is when the form was submitted.
	SubmittedAt *time.Time `json:"submitted_at,omitempty"`
	// Attachments are links on the action.
	Attachments []Attachment `json:"attachments,omitempty"`
	// Approval is an approval action's approver and decisions.
	Approval *Approval `json:"approval,omitempty"`
	// Acknowledged is who acknowledged an acknowledgement action, and when.
	Acknowledged *Stamp `json:"acknowledged,omitempty"`
	// ESign is an e_sign action's document, signer and state.
	ESign *ESign `json:"e_sign,omitempty"`
	// Meeting is a meeting action's time, link and whether it was held.
	Meeting *Meeting `json:"meeting,omitempty"`
	// Link is a web_app or file_request action's link and its delivery.
	Link *Link `json:"link,omitempty"`
	// CompletedAt is when the action was done or skipped; nil while open.
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	// UpdatedAt is when the action last changed.
	UpdatedAt time.Time `json:"updated_at"`
	// Version starts at 1 and increments on every change to the action (position changes caused by
	// moving another action excepted). Updates name the version they read.
	Version int `json:"version"`
}

// SubTask is a checklist item of an action.
type SubTask struct {
	// ID is the sub-task's id.
	ID string `json:"id"`
	// Title says what to do.
	Title string `json:"title"`
	// Done is true once completed.
	Done bool `json:"done"`
	// DoneAt is when it was completed.
	DoneAt *time.Time `json:"done_at,omitempty"`
}

// MemberSource says how a member joined a plan.
type MemberSource string

// The member sources.
const (
	// SourceDealOwner is the deal's owner, added at creation.
	SourceDealOwner MemberSource = "deal_owner"
	// SourceContact is a deal contact, added at creation by a role's fill rule.
	SourceContact MemberSource = "contact"
	// SourceInvited is someone invited later.
	SourceInvited MemberSource = "invited"
)

// Member is a person on a plan in one role.
type Member struct {
	// ID is the member's id.
	ID string `json:"id"`
	// Role is the key of the member's role.
	Role string `json:"role"`
	// Side is the role's side.
	Side Side `json:"side"`
	// Name is the person's name.
	Name string `json:"name"`
	// Email is the person's email; unique within a plan's members.
	Email string `json:"email"`
	// CRMID is the CRM id of the owner or contact, when the member came from the CRM.
	CRMID string `json:"crm_id,omitempty"`
	// Source says how the member joined.
	Source MemberSource `json:"source"`
	// JoinedAt is when the member was added.
	JoinedAt time.Time `json:"joined_at"`
	// CommentedAt is when the member (acting as an actor whose ID is the member's) first
	// commented; nil until then. Comments live outside the plan, so this is what the plan keeps
	// of who took part in its conversation.
	CommentedAt *time.Time `json:"commented_at,omitempty"`
}

// Comment is a remark on an action: a message of the action's conversation. Comments are not
// part of the plan document; the store keeps each as an append-only row (Store.AddComment) and
// lists them page by page (Store.Comments).
type Comment struct {
	// ID is the comment's id (time-ordered).
	ID string `json:"id"`
	// PlanID is the plan's id.
	PlanID string `json:"plan_id"`
	// ActionID is the id of the action the comment is on.
	ActionID string `json:"action_id"`
	// Author is who wrote it.
	Author Actor `json:"author"`
	// Body is the text.
	Body string `json:"body"`
	// Internal comments are seen by the seller side only.
	Internal bool `json:"internal,omitempty"`
	// CreatedAt is when it was written.
	CreatedAt time.Time `json:"created_at"`
}

// AttachmentKind is what an attachment links to.
type AttachmentKind string

// The attachment kinds.
const (
	KindLink         AttachmentKind = "link"
	KindDocument     AttachmentKind = "document"
	KindPresentation AttachmentKind = "presentation"
	KindSpreadsheet  AttachmentKind = "spreadsheet"
	KindContract     AttachmentKind = "contract"
	KindVideo        AttachmentKind = "video"
	KindRecording    AttachmentKind = "recording"
)

// AttachmentKinds lists every attachment kind.
var AttachmentKinds = []AttachmentKind{
	KindLink, KindDocument, KindPresentation, KindSpreadsheet, KindContract, KindVideo, KindRecording,
}

// Attachment is a link to a document kept elsewhere (mapsync stores no files).
type Attachment struct {
	// ID is the attachment's id.
	ID string `json:"id"`
	// Name is shown to people.
	Name string `json:"name"`
	// URL is an absolute http(s) URL.
	URL string `json:"url"`
	// Kind is one of AttachmentKinds; "" reads as link.
	Kind AttachmentKind `json:"kind"`
	// Internal attachments are seen by the seller side only.
	Internal bool `json:"internal,omitempty"`
	// AddedBy is who added it.
	AddedBy Actor `json:"added_by"`
	// AddedAt is when it was added.
	AddedAt time.Time `json:"added_at"`
}

// Location returns the plan's time zone, UTC when it is empty or unknown.
func (p *Plan) Location() *time.Location {
	if p.TimeZone == "" {
		return time.UTC
	}
	if loc, ok := zones.Load(p.TimeZone); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		return time.UTC
	}
	zones.Store(p.TimeZone, loc)
	return loc
}

// zones caches time zones by name for Location: time.LoadLocation reads and parses the zone file
// on every call, and plans are read in bulk (lists, catch-ups, pushes) with one Location call or
// more each. A *time.Location is immutable, and only names that load are kept, so the cache is
// bounded by the zone database.
var zones sync.Map

// Action returns the action with the given id, or nil.
func (p *Plan) Action(id string) *Action {
	for i := range p.Phases {
		for j := range p.Phases[i].Actions {
			if p.Phases[i].Actions[j].ID == id {
				return &p.Phases[i].Actions[j]
			}
		}
	}
	return nil
}

// ActionByKey returns the action with the given template key, or nil.
func (p *Plan) ActionByKey(key string) *Action {
	for i := range p.Phases {
		for j := range p.Phases[i].Actions {
			if p.Phases[i].Actions[j].Key == key {
				return &p.Phases[i].Actions[j]
			}
		}
	}
	return nil
}

// Member returns the member with the given id, or nil.
func (p *Plan) Member(id string) *Member {
	for i := range p.Members {
		if p.Members[i].ID == id {
			return &p.Members[i]
		}
	}
	return nil
}

// Role returns the plan's role with the given key, or nil.
func (p *Plan) Role(key string) *RoleTemplate {
	for i := range p.Roles {
		if p.Roles[i].Key == key {
			return &p.Roles[i]
		}
	}
	return nil
}

// Actions returns pointers to every action in plan order.
func (p *Plan) Actions() []*Action {
	var out []*Action
	for i := range p.Phases {
		for j := range p.Phases[i].Actions {
			out = append(out, &p.Phases[i].Actions[j])
		}
	}
	return out
}

// Clone returns a deep copy of p, so a caller can try a change and keep the original.
func (p *Plan) Clone() *Plan {
	c := *p
	c.Roles = cloneRoles(p.Roles)
	c.Members = append([]Member(nil), p.Members...)
	for i := range c.Members {
		c.Members[i].CommentedAt = clonePtr(c.Members[i].CommentedAt)
	}
	c.Attachments = append([]Attachment(nil), p.Attachments...)
	c.ClosedAt = clonePtr(p.ClosedAt)
	c.LastActivityAt = clonePtr(p.LastActivityAt)
	if p.MilestoneTargets != nil {
		c.MilestoneTargets = make(map[string]Date, len(p.MilestoneTargets))
		for k, v := range p.MilestoneTargets {
			c.MilestoneTargets[k] = v
		}
	}
	c.Phases = make([]Phase, len(p.Phases))
	for i, ph := range p.Phases {
		ph.Actions = make([]Action, len(p.Phases[i].Actions))
		for j, a := range p.Phases[i].Actions {
			ph.Actions[j] = a.clone()
		}
		c.Phases[i] = ph
	}
	return &c
}

func (a Action) clone() Action {
	c := a
	if a.DueRule != nil {
		r := *a.DueRule
		c.DueRule = &r
	}
	c.SubTasks = append([]SubTask(nil), a.SubTasks...)
	for i := range c.SubTasks {
		c.SubTasks[i].DoneAt = clonePtr(c.SubTasks[i].DoneAt)
	}
	c.Questions = cloneQuestions(a.Questions)
	if a.Responses != nil {
		c.Responses = make(map[string]any, len(a.Responses))
		for k, v := range a.Responses {
			if l, ok := v.([]string); ok {
				v = append([]string(nil), l...)
			}
			c.Responses[k] = v
		}
	}
	c.SubmittedAt = clonePtr(a.SubmittedAt)
	c.Attachments = append([]Attachment(nil), a.Attachments...)
	c.CompletedAt = clonePtr(a.CompletedAt)
	if a.Approval != nil {
		ap := *a.Approval
		ap.Decisions = append([]Decision(nil), ap.Decisions...)
		c.Approval = &ap
	}
	c.Acknowledged = clonePtr(a.Acknowledged)
	if a.ESign != nil {
		es := *a.ESign
		es.History = append([]ESignChange(nil), es.History...)
		c.ESign = &es
	}
	if a.Meeting != nil {
		m := *a.Meeting
		m.ScheduledAt, m.Held = clonePtr(m.ScheduledAt), clonePtr(m.Held)
		c.Meeting = &m
	}
	if a.Link != nil {
		l := *a.Link
		l.Delivered = clonePtr(l.Delivered)
		c.Link = &l
	}
	return c
}

func cloneRoles(rs []RoleTemplate) []RoleTemplate {
	out := append([]RoleTemplate(nil), rs...)
	for i := range out {
		out[i].Fill.Roles = append([]string(nil), rs[i].Fill.Roles...)
	}
	return out
}

func cloneQuestions(qs []Question) []Question {
	if qs == nil {
		return nil
	}
	out := append([]Question(nil), qs...)
	for i := range out {
		out[i].Options = append([]string(nil), qs[i].Options...)
	}
	return out
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
