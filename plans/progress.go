package plans

import (
	"time"
)

// ProgressStatus is a plan's health as Progress reports it.
type ProgressStatus string

// The progress statuses; see Plan.Progress for the rule.
const (
	ProgressOnTrack   ProgressStatus = "on_track"
	ProgressAtRisk    ProgressStatus = "at_risk"
	ProgressOffTrack  ProgressStatus = "off_track"
	ProgressCompleted ProgressStatus = "completed"
	ProgressCancelled ProgressStatus = "cancelled"
)

// Thresholds of the status rule (see Plan.Progress).
const (
	// OffTrackOverdue is the number of overdue actions that puts a plan off track.
	OffTrackOverdue = 3
	// OffTrackDaysLate is how many days late an overdue action may be without putting the plan
	// off track: one more day late does.
	OffTrackDaysLate = 7
)

// Progress is the read model of a plan: what the mapping layer pushes to the CRM and what the
// API shows next to the plan. It is one flat record (the milestone list aside) with JSON tags.
type Progress struct {
	// PlanID is the plan's id.
	PlanID string `json:"plan_id"`
	// PlanStatus is active, closed or cancelled.
	PlanStatus PlanStatus `json:"plan_status"`
	// Status is on_track, at_risk, off_track, completed or cancelled (see Plan.Progress for the rule).
	Status ProgressStatus `json:"status"`
	// PercentComplete is done actions over all actions but skipped ones, 0-100, rounded down (so
	// 100 means all done). Skipped actions leave the denominator: skipping is a decision that the
	// step does not apply, not progress and not a gap. A plan whose actions are all skipped is 100.
	PercentComplete int `json:"percent_complete"`
	// BuyerPercentComplete is the same figure over the actions the buyer sees (not internal).
	BuyerPercentComplete int `json:"buyer_percent_complete"`
	// ActionsTotal counts every action.
	ActionsTotal int `json:"actions_total"`
	// ActionsDone counts done actions.
	ActionsDone int `json:"actions_done"`
	// ActionsSkipped counts skipped actions.
	ActionsSkipped int `json:"actions_skipped"`
	// ActionsOpen counts not started, in progress and blocked actions.
	ActionsOpen int `json:"actions_open"`
	// BlockedCount counts blocked actions.
	BlockedCount int `json:"blocked_count"`
	// OverdueCount counts open actions whose due day has ended in the plan's time zone.
	OverdueCount int `json:"overdue_count"`
	// MaxDaysLate is how many days the most overdue open action is late (0 when none).
	MaxDaysLate int `json:"max_days_late"`
	// NextActionID is the open action due first (ties and undated actions in plan order; an
	// undated action comes after every dated one); "" when nothing is open.
	NextActionID string `json:"next_action_id,omitempty"`
	// NextActionTitle is its title.
	NextActionTitle string `json:"next_action_title,omitempty"`
	// NextActionDue is its due date (null when undated).
	NextActionDue Date `json:"next_action_due"`
	// NextActionOwnerRole is its owner role's key.
	NextActionOwnerRole string `json:"next_action_owner_role,omitempty"`
	// NextActionAssignee is its assignee's name (or email); "" when only the role holds it.
	NextActionAssignee string `json:"next_action_assignee,omitempty"`
	// NextActionInternal is true when it is an internal action.
	NextActionInternal bool `json:"next_action_internal,omitempty"`
	// MilestonesTotal counts the plan's distinct milestones.
	MilestonesTotal int `json:"milestones_total"`
	// MilestonesReached names the reached milestones, in the order they were reached.
	MilestonesReached []string `json:"milestones_reached"`
	// LastMilestone is the milestone reached last; "" when none.
	LastMilestone string `json:"last_milestone,omitempty"`
	// LastMilestoneAt is when it was reached.
	LastMilestoneAt *time.Time `json:"last_milestone_at,omitempty"`
	// Milestones lists every milestone in plan order with whether and when it was reached.
	Milestones []Milestone `json:"milestones"`
	// LastActivityAt is when a person last changed the plan.
	LastActivityAt *time.Time `json:"last_activity_at,omitempty"`
	// LastActivitySide is that person's side, buyer or seller.
	LastActivitySide Side `json:"last_activity_side,omitempty"`
	// AsOf is the now Progress was computed at.
	AsOf time.Time `json:"as_of"`
}

// Milestone is a named point of a plan, reached when every action carrying it is done or skipped.
type Milestone struct {
	// Name is the milestone's name.
	Name string `json:"name"`
	// Reached is true once all its actions are done or skipped.
	Reached bool `json:"reached"`
	// ReachedAt is the latest completion among its actions, when reached.
	ReachedAt *time.Time `json:"reached_at,omitempty"`
	// TargetDate is the date set for the milestone on the plan (null when none).
	TargetDate Date `json:"target_date"`
	// Late is true when the milestone has a target date, and was reached after that day (in the
	// plan's time zone) or is not reached and that day has ended.
	Late bool `json:"late,omitempty"`
}

// Progress computes the plan's read model at now over the actions of p (over BuyerView(p), it is
// what the buyer side sees), reading dates in the plan's time zone: today is now's date there. An
// action is overdue when it is open (not started, in progress or blocked) and has a due date
// before today; it is late by the number of days from its due date to today (due yesterday: 1).
// The status rule, first match wins:
//
//   - cancelled: the plan is cancelled;
//   - completed: the plan is closed, or it has at least one action and every action is done or
//     skipped;
//   - off_track: OffTrackOverdue (3) or more actions are overdue, or one is late by more than
//     OffTrackDaysLate (7) days;
//   - at_risk: an action is overdue or blocked;
//   - on_track: otherwise (also an active plan without actions).
func (p *Plan) Progress(now time.Time) Progress {
	loc := p.Location()
	today := DateOf(now, loc)
	pr := Progress{
		PlanID: p.ID, PlanStatus: p.Status, AsOf: now, MilestonesReached: []string{},
		Milestones: []Milestone{}, LastActivityAt: clonePtr(p.LastActivityAt), LastActivitySide: p.LastActivitySide,
	}
	var (
		buyerDone, buyerCounted, buyerTotal, counted int
		next                                         *Action
		msIndex                                      = map[string]int{}
	)
	for _, a := range p.Actions() {
		pr.ActionsTotal++
		switch a.Status {
		case StatusDone:
			pr.ActionsDone++
		case StatusSkipped:
			pr.ActionsSkipped++
		default:
			pr.ActionsOpen++
		}
		if !a.Internal {
			buyerTotal++
		}
		if a.Status != StatusSkipped {
			counted++
			if !a.Internal {
				buyerCounted++
				if a.Status == StatusDone {
					buyerDone++
				}
			}
		}
		if a.Status == StatusBlocked {
			pr.BlockedCount++
		}
		if !a.Status.Closed() {
			if !a.Due.IsZero() && a.Due.Before(today) {
				pr.OverdueCount++
				pr.MaxDaysLate = max(pr.MaxDaysLate, a.Due.DaysUntil(today))
			}
			if next == nil || dueFirst(a, next) {
				next = a
			}
		}
		if a.Milestone != "" {
			i, ok := msIndex[a.Milestone]
			if !ok {
				i = len(pr.Milestones)
				msIndex[a.Milestone] = i
				pr.Milestones = append(pr.Milestones, Milestone{Name: a.Milestone, Reached: true})
			}
			m := &pr.Milestones[i]
			switch {
			case !a.Status.Closed() || a.CompletedAt == nil:
				m.Reached, m.ReachedAt = false, nil
			case m.Reached && (m.ReachedAt == nil || a.CompletedAt.After(*m.ReachedAt)):
				m.ReachedAt = clonePtr(a.CompletedAt)
			}
		}
	}
	pr.PercentComplete = percent(pr.ActionsDone, counted, pr.ActionsTotal)
	pr.BuyerPercentComplete = percent(buyerDone, buyerCounted, buyerTotal)
	if next != nil {
		pr.NextActionID, pr.NextActionTitle, pr.NextActionDue = next.ID, next.Title, next.Due
		pr.NextActionOwnerRole, pr.NextActionInternal = next.OwnerRole, next.Internal
		if m := p.Member(next.AssigneeID); m != nil {
			pr.NextActionAssignee = m.Name
			if m.Name == "" {
				pr.NextActionAssignee = m.Email
			}
		}
	}
	pr.MilestonesTotal = len(pr.Milestones)
	for i := range pr.Milestones {
		m := &pr.Milestones[i]
		m.TargetDate = p.MilestoneTargets[m.Name]
		switch {
		case m.TargetDate.IsZero():
		case m.Reached && m.ReachedAt != nil:
			m.Late = m.TargetDate.Before(DateOf(*m.ReachedAt, loc))
		default:
			m.Late = m.TargetDate.Before(today)
		}
	}
	var reached []Milestone
	for _, m := range pr.Milestones {
		if m.Reached {
			reached = append(reached, m)
		}
	}
	// Order by time reached (stable, so equal times keep plan order).
	for i := 1; i < len(reached); i++ {
		for j := i; j > 0 && reached[j].ReachedAt.Before(*reached[j-1].ReachedAt); j-- {
			reached[j], reached[j-1] = reached[j-1], reached[j]
		}
	}
	for _, m := range reached {
		pr.MilestonesReached = append(pr.MilestonesReached, m.Name)
	}
	if n := len(reached); n > 0 {
		pr.LastMilestone, pr.LastMilestoneAt = reached[n-1].Name, clonePtr(reached[n-1].ReachedAt)
	}
	pr.Status = status(p, &pr)
	return pr
}

func status(p *Plan, pr *Progress) ProgressStatus {
	switch {
	case p.Status == PlanCancelled:
		return ProgressCancelled
	case p.Status == PlanClosed, pr.ActionsTotal > 0 && pr.ActionsOpen == 0:
		return ProgressCompleted
	case pr.OverdueCount >= OffTrackOverdue, pr.MaxDaysLate > OffTrackDaysLate:
		return ProgressOffTrack
	case pr.OverdueCount > 0, pr.BlockedCount > 0:
		return ProgressAtRisk
	}
	return ProgressOnTrack
}

// percent returns done/counted as a whole percentage rounded down; with nothing counted it is
// 100 when there are (skipped) actions and 0 when there are none.
func percent(done, counted, total int) int {
	if counted == 0 {
		if total > 0 {
			return 100
		}
		return 0
	}
	return done * 100 / counted
}

// dueFirst reports whether a comes before b as the next action: dated before undated, then
// earlier due date; otherwise plan order (b came first).
func dueFirst(a, b *Action) bool {
	switch {
	case a.Due.IsZero():
		return false
	case b.Due.IsZero():
		return true
	}
	return a.Due.Before(b.Due)
}
