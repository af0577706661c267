package mapping

import (
	"net/url"
	"strings"
	"time"

	"github.com/mapsync/mapsync/plans"
)

// Env is what a mapping's expressions read. Build it with NewEnv; its expr names are:
//
//   - deal.X: the deal's CRM field X as pulled (deal.Amount, deal.StageName, deal.dealstage);
//     a missing field reads as nil. Values are what the store holds (string, float64, bool, nil).
//   - plan: the plan the field reads (the main plan, or the one named by the field's plan key);
//     see PlanView. It is never nil while an expression runs: a field whose plan is missing is
//     skipped (SkipNoPlan) without evaluating.
//   - now: the time of evaluation, in the main plan's time zone.
//
// and the helpers of plans.CompileExpr: date, datetime, truncate, join, coalesce.
type Env struct {
	// Deal holds the deal's CRM fields by their CRM names.
	Deal map[string]any `expr:"deal"`
	// Plan is the plan being read.
	Plan *PlanView `expr:"plan"`
	// Now is the time of evaluation.
	Now time.Time `expr:"now"`

	// plans by template key, and the main plan's key ("" when the deal has no main plan).
	plans map[string]*PlanView
	main  string
}

// PlanView is the plan read model mappings see (expr names in brackets). Times are in the plan's
// time zone, so date(t) gives the plan's calendar day.
type PlanView struct {
	// ID is the plan's id [id].
	ID string `expr:"id"`
	// Template is the template key [template].
	Template string `expr:"template"`
	// Name is the plan's name [name].
	Name string `expr:"name"`
	// Status is the plan's health [status]: on_track, at_risk, off_track, completed or
	// cancelled (plans.ProgressStatus; see plans.Plan.Progress for the rule).
	Status string `expr:"status"`
	// State is the plan's lifecycle [state]: active, closed or cancelled.
	State string `expr:"state"`
	// PercentComplete is done over not-skipped actions, 0-100, rounded down [percent_complete].
	PercentComplete int `expr:"percent_complete"`
	// BuyerPercent is the same over the actions the buyer sees [buyer_percent].
	BuyerPercent int `expr:"buyer_percent"`
	// NextAction is the open action due first, nil when nothing is open [next_action].
	NextAction *NextAction `expr:"next_action"`
	// OverdueCount counts open actions past their due day [overdue_count].
	OverdueCount int `expr:"overdue_count"`
	// BlockedCount counts blocked actions [blocked_count].
	BlockedCount int `expr:"blocked_count"`
	// ActionsTotal counts every action [actions_total].
	ActionsTotal int `expr:"actions_total"`
	// ActionsDone counts done actions [actions_done].
	ActionsDone int `expr:"actions_done"`
	// CurrentPhase is the name of the first phase with an open action; "" when none is open
	// [current_phase].
	CurrentPhase string `expr:"current_phase"`
	// Milestones maps every milestone of the plan by name [milestones]. A name the plan lacks reads
	// as an unreached milestone (reached false, reached_at nil), so
	// plan.milestones["Security review"].reached_at is safe.
	Milestones map[string]MilestoneView `expr:"milestones"`
	// LastMilestone is the milestone reached last, "" when none [last_milestone].
	LastMilestone string `expr:"last_milestone"`
	// LastActivity is the last change a person made, nil when none [last_activity].
	LastActivity *Activity `expr:"last_activity"`
	// MembersInvited counts members invited after the plan was made [members_invited].
	MembersInvited int `expr:"members_invited"`
	// MembersAccepted counts invited members who have shown up: plans records no acceptance, so
	// this counts invited members who wrote a comment, added an attachment or submitted a form
	// assigned to them [members_accepted].
	MembersAccepted int `expr:"members_accepted"`
	// Members counts every member [members].
	Members int `expr:"members"`
	// URL is the plan's page: the configured public base URL + "/plans/" + id; "" without a
	// base URL [url].
	URL string `expr:"url"`
	// CreatedAt is when the plan was made [created_at].
	CreatedAt time.Time `expr:"created_at"`
	// ClosedAt is when it was closed or cancelled, nil while active [closed_at].
	ClosedAt *time.Time `expr:"closed_at"`

	loc *time.Location // the plan's time zone
}

// NextAction is the plan's next open action.
type NextAction struct {
	// Title is the action's title [title].
	Title string `expr:"title"`
	// Due is its due date (midnight in the plan's zone), nil when undated [due].
	Due *time.Time `expr:"due"`
	// OwnerRole is the key of its owner role [owner_role].
	OwnerRole string `expr:"owner_role"`
	// Assignee is the assignee's name (or email), "" when only the role holds it [assignee].
	Assignee string `expr:"assignee"`
}

// MilestoneView is one milestone of a plan.
type MilestoneView struct {
	// Reached is true once every action carrying it is done or skipped [reached].
	Reached bool `expr:"reached"`
	// ReachedAt is when it was reached, nil until then [reached_at].
	ReachedAt *time.Time `expr:"reached_at"`
}

// Activity is a change a person made to a plan.
type Activity struct {
	// At is when [at].
	At time.Time `expr:"at"`
	// Side is buyer or seller [side].
	Side string `expr:"side"`
}

// NewEnv builds the environment for one deal: deal is the deal's CRM fields (as pulled), main its
// main plan (nil when it has none), byTemplate every plan of the deal by template key (main
// included or not; nil is fine), now the time of evaluation and baseURL the public base URL plan
// links start with (config server.public_url; "" leaves plan.url empty). It is pure: the plans are
// read, never changed.
func NewEnv(deal map[string]any, main *plans.Plan, byTemplate map[string]*plans.Plan, now time.Time, baseURL string) *Env {
	if deal == nil {
		deal = map[string]any{}
	}
	e := &Env{Deal: deal, Now: now, plans: map[string]*PlanView{}}
	for key, p := range byTemplate {
		if p != nil {
			e.plans[key] = NewPlanView(p, now, baseURL)
		}
	}
	if main != nil {
		e.main = main.TemplateKey
		if _, ok := e.plans[main.TemplateKey]; !ok || byTemplate[main.TemplateKey] != main {
			e.plans[main.TemplateKey] = NewPlanView(main, now, baseURL)
		}
		e.Plan = e.plans[e.main]
		e.Now = now.In(e.Plan.loc)
	}
	return e
}

// PlanFor returns the view of the plan a field reads: the main plan for key "", else the plan
// made from template key; nil when the deal has no such plan.
func (e *Env) PlanFor(key string) *PlanView {
	if key == "" {
		if e.main == "" {
			return nil
		}
		key = e.main
	}
	return e.plans[key]
}

// with returns a copy of e reading plan p.
func (e *Env) with(p *PlanView) *Env {
	c := *e
	c.Plan = p
	return &c
}

// NewPlanView computes the read model of p at now; baseURL as for NewEnv.
func NewPlanView(p *plans.Plan, now time.Time, baseURL string) *PlanView {
	loc := p.Location()
	pr := p.Progress(now)
	v := &PlanView{
		loc: loc,
		ID:  p.ID, Template: p.TemplateKey, Name: p.Name, Status: string(pr.Status), State: string(p.Status),
		PercentComplete: pr.PercentComplete, BuyerPercent: pr.BuyerPercentComplete,
		OverdueCount: pr.OverdueCount, BlockedCount: pr.BlockedCount,
		ActionsTotal: pr.ActionsTotal, ActionsDone: pr.ActionsDone,
		LastMilestone: pr.LastMilestone, Members: len(p.Members),
		CreatedAt: p.CreatedAt.In(loc), ClosedAt: inLoc(p.ClosedAt, loc),
		Milestones: make(map[string]MilestoneView, len(pr.Milestones)),
	}
	if pr.NextActionID != "" {
		na := &NextAction{Title: pr.NextActionTitle, OwnerRole: pr.NextActionOwnerRole, Assignee: pr.NextActionAssignee}
		if !pr.NextActionDue.IsZero() {
			d := pr.NextActionDue.In(loc)
			na.Due = &d
		}
		v.NextAction = na
	}
	for _, m := range pr.Milestones {
		v.Milestones[m.Name] = MilestoneView{Reached: m.Reached, ReachedAt: inLoc(m.ReachedAt, loc)}
	}
	if p.LastActivityAt != nil {
		v.LastActivity = &Activity{At: p.LastActivityAt.In(loc), Side: string(p.LastActivitySide)}
	}
	for _, ph := range p.Phases {
		if v.CurrentPhase != "" {
			break
		}
		for _, a := range ph.Actions {
			if !a.Status.Closed() {
				v.CurrentPhase = ph.Name
				break
			}
		}
	}
	active := activeMembers(p)
	for _, m := range p.Members {
		if m.Source == plans.SourceInvited {
			v.MembersInvited++
			if active[m.ID] {
				v.MembersAccepted++
			}
		}
	}
	if baseURL != "" {
		v.URL = strings.TrimRight(baseURL, "/") + "/plans/" + url.PathEscape(p.ID)
	}
	return v
}

// activeMembers returns the ids of members the plan shows doing something.
func activeMembers(p *plans.Plan) map[string]bool {
	out := map[string]bool{}
	for _, at := range p.Attachments {
		out[at.AddedBy.ID] = true
	}
	for _, m := range p.Members {
		if m.CommentedAt != nil {
			out[m.ID] = true
		}
	}
	for _, a := range p.Actions() {
		for _, at := range a.Attachments {
			out[at.AddedBy.ID] = true
		}
		if a.SubmittedAt != nil && a.AssigneeID != "" {
			out[a.AssigneeID] = true
		}
	}
	return out
}

func inLoc(t *time.Time, loc *time.Location) *time.Time {
	if t == nil {
		return nil
	}
	v := t.In(loc)
	return &v
}

// SplitPlans sorts a deal's plans for NewEnv: main is its main plan, the earliest made from a
// template that is not additive (nil when every plan is additive, or there is none), and byKey
// holds every plan by template key. additive reports whether a template version is additive
// (plans.Selection.Additive).
func SplitPlans(ps []*plans.Plan, additive func(templateKey string, version int) bool) (main *plans.Plan, byKey map[string]*plans.Plan) {
	byKey = make(map[string]*plans.Plan, len(ps))
	for _, p := range ps {
		byKey[p.TemplateKey] = p
		if additive(p.TemplateKey, p.TemplateVersion) {
			continue
		}
		if main == nil || p.CreatedAt.Before(main.CreatedAt) || p.CreatedAt.Equal(main.CreatedAt) && p.ID < main.ID {
			main = p
		}
	}
	return main, byKey
}
