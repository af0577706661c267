package plans

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Template is a mutual action plan template: the roles, phases and actions a plan is made of, the
// texts shown to its members, and the rule that picks it for a deal. Templates are written as YAML
// or JSON (see Parse) and kept in the store, versioned: importing a changed template creates a new
// version, and a plan keeps the version it was made from.
type Template struct {
	// Key identifies the template across versions: lowercase letters, digits, '-' and '_'.
	Key string `yaml:"key" json:"key"`
	// Name is the template's display name.
	Name string `yaml:"name" json:"name"`
	// Description says what kind of deal the template is for.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Version is assigned by the store on import (1, 2, ...); 0 means not stored yet. It is not
	// part of the content Hash.
	Version int `yaml:"version,omitempty" json:"version,omitempty"`
	// Conversation holds the plan's name and welcome message, with placeholders.
	Conversation Conversation `yaml:"conversation,omitempty" json:"conversation"`
	// Selection is the rule that picks this template for a deal; nil means the template is only
	// used when asked for by key.
	Selection *Selection `yaml:"selection,omitempty" json:"selection,omitempty"`
	// Roles are the parts people play in the plan, on the buyer or the seller side.
	Roles []RoleTemplate `yaml:"roles" json:"roles"`
	// Phases are the plan's stages in order, each with its actions in order.
	Phases []PhaseTemplate `yaml:"phases" json:"phases"`
	// DueNotBeforeStart forbids due dates (and milestone target dates) before the day a plan
	// starts, when people add or change them on the plan.
	DueNotBeforeStart bool `yaml:"due_not_before_start,omitempty" json:"due_not_before_start,omitempty"`

	// lines maps a document path ("phases[1].actions[2].due.after") to its line; nil for
	// templates not parsed from a document.
	lines map[string]int
}

// Conversation is the name and welcome message of a plan's shared space. Both may hold
// placeholders such as {{deal.name}}; see Placeholders for the list.
type Conversation struct {
	// Name is the plan's name; empty means "{{deal.name}} mutual action plan".
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// WelcomeMessage greets the members when they join.
	WelcomeMessage string `yaml:"welcome_message,omitempty" json:"welcome_message,omitempty"`
}

// DefaultConversationName is the plan name used when a template gives none.
const DefaultConversationName = "{{deal.name}} mutual action plan"

// Selection decides when a template applies to a deal.
type Selection struct {
	// Rule is an expr-lang expression returning a bool, evaluated over RuleEnv (deal.stage,
	// deal.amount, deal.fields["Custom__c"], connection, crm, now).
	Rule string `yaml:"rule" json:"rule"`
	// Priority orders matching templates: the highest wins. The default template has the lowest.
	Priority int `yaml:"priority,omitempty" json:"priority,omitempty"`
	// Additive makes the template's plan in addition to the deal's main plan instead of competing
	// for it: a deal gets the highest-priority matching template that is not additive, plus every
	// matching additive one (e.g. a security review for large deals). Each is one plan per deal.
	Additive bool `yaml:"additive,omitempty" json:"additive,omitempty"`
	// Connections limits the template to these connection names; empty means all connections.
	Connections []string `yaml:"connections,omitempty" json:"connections,omitempty"`
}

// Side is the side of the table a role or member sits on.
type Side string

// The sides of a plan.
const (
	// SideBuyer is the customer's side.
	SideBuyer Side = "buyer"
	// SideSeller is the vendor's side.
	SideSeller Side = "seller"
	// SideSystem marks changes made by mapsync itself (instantiation, recomputed due dates).
	SideSystem Side = "system"
)

// FillFrom says how a role is filled from the CRM when a plan is created.
type FillFrom string

// The ways a role is filled.
const (
	// FillManual leaves the role empty until someone is invited to it.
	FillManual FillFrom = "manual"
	// FillDealOwner fills the role with the deal's owner (seller side only).
	FillDealOwner FillFrom = "deal_owner"
	// FillContactRoles fills the role with every deal contact whose contact role (Salesforce) or
	// association label (HubSpot) is one of Fill.Roles, compared case-insensitively (buyer side only).
	FillContactRoles FillFrom = "contact_roles"
	// FillPrimaryContact fills the role with the deal's primary contact (buyer side only).
	FillPrimaryContact FillFrom = "primary_contact"
)

// RoleTemplate is a part people play in a plan.
type RoleTemplate struct {
	// Key identifies the role within the template; actions name it as their owner.
	Key string `yaml:"key" json:"key"`
	// Label is shown to people, e.g. "Seller - Opp Owner", "Economic Buyer".
	Label string `yaml:"label" json:"label"`
	// Side is buyer or seller.
	Side Side `yaml:"side" json:"side"`
	// Fill says who fills the role when the plan is created; omitted means manual.
	Fill Fill `yaml:"fill,omitempty" json:"fill"`
}

// Fill is how a role is filled from the deal.
type Fill struct {
	// From is deal_owner, contact_roles, primary_contact or manual (the default).
	From FillFrom `yaml:"from,omitempty" json:"from,omitempty"`
	// Roles lists the contact roles / association labels that fill the role, for contact_roles.
	Roles []string `yaml:"roles,omitempty" json:"roles,omitempty"`
}

// PhaseTemplate is one stage of a plan.
type PhaseTemplate struct {
	// Key identifies the phase within the template.
	Key string `yaml:"key" json:"key"`
	// Name is shown to people, e.g. "Buying process".
	Name string `yaml:"name" json:"name"`
	// Actions are the phase's actions in order.
	Actions []ActionTemplate `yaml:"actions" json:"actions"`
}

// ActionType is what kind of step an action is.
type ActionType string

// The action types.
const (
	ActionTask            ActionType = "task"
	ActionApproval        ActionType = "approval"
	ActionAcknowledgement ActionType = "acknowledgement"
	ActionESign           ActionType = "e_sign"
	ActionForm            ActionType = "form"
	ActionMeeting         ActionType = "meeting"
	ActionWebApp          ActionType = "web_app"
	ActionFileRequest     ActionType = "file_request"
)

// ActionTypes lists every action type.
var ActionTypes = []ActionType{
	ActionTask, ActionApproval, ActionAcknowledgement, ActionESign, ActionForm, ActionMeeting,
	ActionWebApp, ActionFileRequest,
}

// Valid reports whether t is a known action type.
func (t ActionType) Valid() bool {
	for _, k := range ActionTypes {
		if k == t {
			return true
		}
	}
	return false
}

// ActionTemplate is one step of a plan.
type ActionTemplate struct {
	// Key identifies the action within the template (unique across phases); due rules name it.
	Key string `yaml:"key" json:"key"`
	// Title is the action's short name.
	Title string `yaml:"title" json:"title"`
	// Description says what the action is about and what done means.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Type is one of ActionTypes.
	Type ActionType `yaml:"type" json:"type"`
	// Owner is the key of the role responsible for the action; empty means unassigned.
	Owner string `yaml:"owner,omitempty" json:"owner,omitempty"`
	// Due computes the due date; nil means no due date.
	Due *DueRule `yaml:"due,omitempty" json:"due,omitempty"`
	// Internal hides the action from the buyer side.
	Internal bool `yaml:"internal,omitempty" json:"internal,omitempty"`
	// Milestone names the milestone the action belongs to; a milestone is reached when all its
	// actions are done or skipped.
	Milestone string `yaml:"milestone,omitempty" json:"milestone,omitempty"`
	// SubTasks are the titles of the action's sub-tasks, in order.
	SubTasks []string `yaml:"sub_tasks,omitempty" json:"sub_tasks,omitempty"`
	// Questions are the questions of a form action.
	Questions []Question `yaml:"questions,omitempty" json:"questions,omitempty"`
	// Approver is the key of the role that approves an approval action.
	Approver string `yaml:"approver,omitempty" json:"approver,omitempty"`
	// URL is an absolute http(s) link: the document an e_sign action signs, a meeting's link,
	// the app a web_app action opens, the file a file_request action delivers.
	URL string `yaml:"url,omitempty" json:"url,omitempty"`
}

// Anchor is what a due rule counts from.
type Anchor string

// The due rule anchors (besides another action's completion, written as DueRule.After).
const (
	// AnchorPlanStart is the day the plan was created, in the plan's time zone.
	AnchorPlanStart Anchor = "plan_start"
	// AnchorCloseDate is the deal's close date.
	AnchorCloseDate Anchor = "close_date"
)

// DueRule computes an action's due date: From an anchor (or After another action's completion)
// plus Days calendar days or BusinessDays business days (Monday to Friday). Offsets may be
// negative ("10 business days before the close date").
type DueRule struct {
	// From is plan_start or close_date; empty when After is set.
	From Anchor `yaml:"from,omitempty" json:"from,omitempty"`
	// After is the key of the action whose completion the due date counts from. Until that action
	// is done (or skipped), the due date is provisional, counted from its due date.
	After string `yaml:"after,omitempty" json:"after,omitempty"`
	// Days is a calendar-day offset.
	Days int `yaml:"days,omitempty" json:"days,omitempty"`
	// BusinessDays is a business-day offset; at most one of Days and BusinessDays is set.
	BusinessDays int `yaml:"business_days,omitempty" json:"business_days,omitempty"`
}

// apply returns the anchor day moved by the rule's offset.
func (r DueRule) apply(anchor Date) Date {
	if r.BusinessDays != 0 {
		return anchor.AddBusinessDays(r.BusinessDays)
	}
	return anchor.AddDays(r.Days)
}

// QuestionKind is the kind of answer a form question takes.
type QuestionKind string

// The question kinds.
const (
	QuestionText         QuestionKind = "text"
	QuestionLongText     QuestionKind = "long_text"
	QuestionNumber       QuestionKind = "number"
	QuestionDate         QuestionKind = "date"
	QuestionYesNo        QuestionKind = "yes_no"
	QuestionSingleChoice QuestionKind = "single_choice"
	QuestionMultiChoice  QuestionKind = "multi_choice"
)

// QuestionKinds lists every question kind.
var QuestionKinds = []QuestionKind{
	QuestionText, QuestionLongText, QuestionNumber, QuestionDate, QuestionYesNo,
	QuestionSingleChoice, QuestionMultiChoice,
}

// Valid reports whether k is a known question kind.
func (k QuestionKind) Valid() bool {
	for _, q := range QuestionKinds {
		if q == k {
			return true
		}
	}
	return false
}

func (k QuestionKind) hasOptions() bool {
	return k == QuestionSingleChoice || k == QuestionMultiChoice
}

// Question is one question of a form action.
type Question struct {
	// Key identifies the question within its form; responses are keyed by it.
	Key string `yaml:"key" json:"key"`
	// Text is the question as shown.
	Text string `yaml:"text" json:"text"`
	// Kind is one of QuestionKinds.
	Kind QuestionKind `yaml:"kind" json:"kind"`
	// Options are the choices of a single_choice or multi_choice question.
	Options []string `yaml:"options,omitempty" json:"options,omitempty"`
	// Required questions must be answered before the form can be submitted.
	Required bool `yaml:"required,omitempty" json:"required,omitempty"`
}

// Hash returns a hex SHA-256 of the template's content (everything but Version), so a store can
// tell whether an imported template changed. Two documents that decode to the same template have
// the same hash, whatever their formatting.
func (t *Template) Hash() string {
	c := *t
	c.Version = 0
	b, err := json.Marshal(&c)
	if err != nil {
		// A Template holds only strings, ints, bools and slices of them: Marshal cannot fail.
		panic("plans: marshal template: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Action returns the action template with the given key, or nil.
func (t *Template) Action(key string) *ActionTemplate {
	for i := range t.Phases {
		for j := range t.Phases[i].Actions {
			if t.Phases[i].Actions[j].Key == key {
				return &t.Phases[i].Actions[j]
			}
		}
	}
	return nil
}

// Role returns the role template with the given key, or nil.
func (t *Template) Role(key string) *RoleTemplate {
	for i := range t.Roles {
		if t.Roles[i].Key == key {
			return &t.Roles[i]
		}
	}
	return nil
}

// ActionCount returns the number of actions over all phases.
func (t *Template) ActionCount() int {
	n := 0
	for _, p := range t.Phases {
		n += len(p.Actions)
	}
	return n
}
