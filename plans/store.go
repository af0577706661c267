package plans

import (
	"context"
	"time"
)

// Store is the persistence Service needs; the store package implements it. Every method
// that writes a plan also records, in the same transaction, its events and the mark that the
// plan's CRM projection must be recomputed: nothing changes a plan without that mark. Errors for
// a missing row match ErrNotFound and for a lost race ErrConflict (errors.Is).
type Store interface {
	TemplateStore
	PlanStore
}

// TemplateStore keeps templates, versioned by key.
type TemplateStore interface {
	// ImportTemplate stores t as version 1 of a new key, or as the next version of its key when
	// its Hash differs from the latest version's. It returns the version t is stored as and
	// whether a new version was created (false: the latest version already has this content).
	ImportTemplate(ctx context.Context, t *Template) (version int, created bool, err error)
	// Template returns version of the template key, the latest when version is 0.
	Template(ctx context.Context, key string, version int) (*Template, error)
	// Templates returns the latest version of every template, ordered by key.
	Templates(ctx context.Context) ([]*Template, error)
}

// PlanStore keeps plans whole (phases, actions, sub-tasks, members, attachments), and beside
// them their comments and events, each an append-only row read page by page.
type PlanStore interface {
	// CreatePlan inserts p and its events unless a plan for (p.Connection, p.DealID,
	// p.TemplateKey) exists, also when several callers race: then it writes nothing and returns
	// the existing plan with created false.
	CreatePlan(ctx context.Context, p *Plan, events []Event) (stored *Plan, created bool, err error)
	// Plan returns the plan with id, whole.
	Plan(ctx context.Context, id string) (*Plan, error)
	// PlanFor returns the plan for (connection, deal, template).
	PlanFor(ctx context.Context, connection, dealID, templateKey string) (*Plan, error)
	// UpdatePlan writes p and appends events if the stored plan's Version is still base (the
	// version read, before the change); otherwise it writes nothing and returns ErrConflict, and
	// the caller reloads and reapplies the change (whose own action-version check then decides).
	UpdatePlan(ctx context.Context, p *Plan, base int, events []Event) error
	// AddComment is UpdatePlan (the same compare-and-swap on base, events and mark) that also
	// stores cm, in the same transaction: both or nothing.
	AddComment(ctx context.Context, p *Plan, base int, cm Comment, events []Event) error
	// Comments returns one page of the comments f selects, oldest first, and the cursor of the
	// next page ("" on the last). An unknown plan, or an After that is not a comment of the
	// plan, matches ErrNotFound.
	Comments(ctx context.Context, f CommentFilter) (comments []Comment, next string, err error)
	// AppendEvents records events that change nothing in the plan.
	AppendEvents(ctx context.Context, planID string, events []Event) error
	// SaveTemplateFromPlan stores t as version 1 of a new template key and appends events
	// (plan.saved_as_template) to plan planID, in one transaction: both or nothing. A key that
	// exists is an error matching ErrConflict that writes nothing, also when several callers race
	// for one key (exactly one of them stores it); an unknown plan matches ErrNotFound.
	SaveTemplateFromPlan(ctx context.Context, planID string, t *Template, events []Event) error
	// ListPlans returns one page of plans matching f, ordered by id, and the cursor of the next
	// page ("" on the last).
	ListPlans(ctx context.Context, f PlanFilter) (plans []PlanSummary, next string, err error)
	// Events returns up to limit events of a plan after the event id after ("" from the first),
	// oldest first.
	Events(ctx context.Context, planID, after string, limit int) ([]Event, error)
}

// CommentFilter selects a page of comments.
type CommentFilter struct {
	// PlanID is the plan's id. Required.
	PlanID string
	// ActionID is an action's id; "" lists the comments on every action of the plan.
	ActionID string
	// Internal includes internal comments (the seller view); false leaves them out (buyers).
	Internal bool
	// After is the cursor returned with the previous page (a comment id).
	After string
	// Limit caps the page size; the store applies its own default and maximum.
	Limit int
}

// PlanFilter selects plans to list; zero fields do not filter.
type PlanFilter struct {
	// Connection is a connection name.
	Connection string
	// DealID is a deal's CRM id.
	DealID string
	// Status is a plan status.
	Status PlanStatus
	// Progress is a progress status (on_track, at_risk, off_track, completed, cancelled) at Now.
	Progress ProgressStatus
	// Now is the time progress is computed at (zero: the store's clock).
	Now time.Time
	// Owner is the CRM id or email of the deal-owner member.
	Owner string
	// After is the cursor returned with the previous page.
	After string
	// Limit caps the page size; the store applies its own default and maximum.
	Limit int
}

// PlanSummary is a plan as listed: no phases, with its progress as of its last change.
type PlanSummary struct {
	// ID is the plan's id.
	ID string `json:"id"`
	// Connection is the connection name.
	Connection string `json:"connection"`
	// DealID is the deal's CRM id.
	DealID string `json:"deal_id"`
	// TemplateKey and TemplateVersion name the template the plan came from.
	TemplateKey string `json:"template_key"`
	// TemplateVersion is the template version.
	TemplateVersion int `json:"template_version"`
	// Name is the plan's name.
	Name string `json:"name"`
	// Status is active, closed or cancelled.
	Status PlanStatus `json:"status"`
	// UpdatedAt is when the plan last changed.
	UpdatedAt time.Time `json:"updated_at"`
	// Version is the plan's version.
	Version int `json:"version"`
	// Progress is the plan's progress at the time of the listing (the seller's view).
	Progress ListProgress `json:"progress"`
}

// ListProgress is the progress a plan list shows for each plan: enough to answer "which deals
// are at risk, and what is next?" in one call.
type ListProgress struct {
	// Status is on_track, at_risk, off_track, completed or cancelled (see Plan.Progress).
	Status ProgressStatus `json:"status"`
	// PercentComplete is as in Progress.
	PercentComplete int `json:"percent_complete"`
	// OverdueCount counts overdue open actions.
	OverdueCount int `json:"overdue_count"`
	// NextActionID, NextActionTitle, NextActionDue and NextActionAssignee name the open action
	// due first ("" and null when nothing is open).
	NextActionID string `json:"next_action_id,omitempty"`
	// NextActionTitle is its title.
	NextActionTitle string `json:"next_action_title,omitempty"`
	// NextActionDue is its due date (null when undated).
	NextActionDue Date `json:"next_action_due"`
	// NextActionAssignee is its assignee's name or email.
	NextActionAssignee string `json:"next_action_assignee,omitempty"`
}

// ListProgressOf returns the list progress of pr.
func ListProgressOf(pr Progress) ListProgress {
	return ListProgress{
		Status: pr.Status, PercentComplete: pr.PercentComplete, OverdueCount: pr.OverdueCount,
		NextActionID: pr.NextActionID, NextActionTitle: pr.NextActionTitle, NextActionDue: pr.NextActionDue,
		NextActionAssignee: pr.NextActionAssignee,
	}
}
