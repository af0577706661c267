package plans

import (
	"slices"
	"time"
)

// Outlook is a plan's progress status over time while the plan does not change: time alone can
// only make it worse, as open actions pass their due dates. It lets a store keep, with each plan
// write, what it needs to answer "which plans are at risk now?" without reading every plan:
// StatusAt(now) equals Progress(now).Status for every now, as long as the plan is unchanged.
type Outlook struct {
	// Base is the status with no action overdue: cancelled, completed, at_risk (an action is
	// blocked) or on_track.
	Base ProgressStatus
	// AtRiskFrom is when the first open action becomes overdue (its due day has ended in the
	// plan's zone); nil when no open action has a due date, or Base is final.
	AtRiskFrom *time.Time
	// OffTrackFrom is when OffTrackOverdue actions are overdue, or one is late by more than
	// OffTrackDaysLate days, whichever comes first; nil when never.
	OffTrackFrom *time.Time
}

// Outlook returns the plan's status outlook (see Outlook), by the rule of Progress.
func (p *Plan) Outlook() Outlook {
	pr := p.Progress(time.Time{}) // year 1: nothing is overdue yet
	o := Outlook{Base: pr.Status}
	if o.Base != ProgressOnTrack && o.Base != ProgressAtRisk {
		return o
	}
	var dues []Date
	for _, a := range p.Actions() {
		if !a.Status.Closed() && !a.Due.IsZero() {
			dues = append(dues, a.Due)
		}
	}
	if len(dues) == 0 {
		return o
	}
	slices.SortFunc(dues, Date.Compare)
	loc := p.Location()
	atRisk := dues[0].End(loc)
	offTrack := dues[0].AddDays(OffTrackDaysLate + 1).In(loc) // late by more than OffTrackDaysLate
	if len(dues) >= OffTrackOverdue {
		if t := dues[OffTrackOverdue-1].End(loc); t.Before(offTrack) {
			offTrack = t
		}
	}
	o.AtRiskFrom, o.OffTrackFrom = &atRisk, &offTrack
	return o
}

// StatusAt returns the plan's progress status at now.
func (o Outlook) StatusAt(now time.Time) ProgressStatus {
	switch {
	case o.Base != ProgressOnTrack && o.Base != ProgressAtRisk:
		return o.Base
	case o.OffTrackFrom != nil && !now.Before(*o.OffTrackFrom):
		return ProgressOffTrack
	case o.Base == ProgressAtRisk, o.AtRiskFrom != nil && !now.Before(*o.AtRiskFrom):
		return ProgressAtRisk
	}
	return ProgressOnTrack
}
