package plans

import (
	"testing"
	"time"
)

// TestProgressStatusRule checks the status rule documented on Plan.Progress at its boundaries.
func TestProgressStatusRule(t *testing.T) {
	t.Parallel()
	// 23:30 in New York on 2026-03-20 is already 2026-03-21 in UTC: today is the plan's day.
	loc := mustLoc(t, "America/New_York")
	now := time.Date(2026, 3, 20, 23, 30, 0, 0, loc)
	due := func(daysLate int) Date { return DateOf(now, loc).AddDays(-daysLate) }
	open := func(daysLate int) Action { return Action{Status: StatusNotStarted, Due: due(daysLate)} }
	with := func(st Status, a Action) Action { a.Status = st; return a }
	undated := Action{Status: StatusInProgress}
	tests := []struct {
		name    string
		status  PlanStatus
		actions []Action
		want    ProgressStatus
	}{
		{"no actions", PlanActive, nil, ProgressOnTrack},
		{"due today", PlanActive, []Action{open(0)}, ProgressOnTrack},
		{"undated", PlanActive, []Action{undated}, ProgressOnTrack},
		{"due yesterday", PlanActive, []Action{open(1)}, ProgressAtRisk},
		{"in progress, overdue", PlanActive, []Action{with(StatusInProgress, open(1))}, ProgressAtRisk},
		{"7 days late", PlanActive, []Action{open(OffTrackDaysLate)}, ProgressAtRisk},
		{"8 days late", PlanActive, []Action{open(OffTrackDaysLate + 1)}, ProgressOffTrack},
		{"2 overdue", PlanActive, []Action{open(1), open(2), open(0)}, ProgressAtRisk},
		{"3 overdue", PlanActive, []Action{open(1), open(2), open(3)}, ProgressOffTrack},
		{"blocked, not due", PlanActive, []Action{with(StatusBlocked, open(-5))}, ProgressAtRisk},
		{"blocked, undated", PlanActive, []Action{with(StatusBlocked, undated)}, ProgressAtRisk},
		{"blocked and 8 days late", PlanActive, []Action{with(StatusBlocked, open(8))}, ProgressOffTrack},
		{"closed actions are not overdue", PlanActive, []Action{with(StatusDone, open(9)), with(StatusSkipped, open(9)), open(-1)}, ProgressOnTrack},
		{"all done or skipped", PlanActive, []Action{with(StatusDone, open(9)), with(StatusSkipped, open(1))}, ProgressCompleted},
		{"all skipped", PlanActive, []Action{with(StatusSkipped, open(1))}, ProgressCompleted},
		{"closed plan", PlanClosed, []Action{open(1), open(2), open(3)}, ProgressCompleted},
		{"closed plan without actions", PlanClosed, nil, ProgressCompleted},
		{"cancelled plan", PlanCancelled, []Action{with(StatusDone, open(1))}, ProgressCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &Plan{ID: "p", Status: tc.status, TimeZone: loc.String(), Phases: []Phase{{Actions: tc.actions}}}
			if got := p.Progress(now).Status; got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
