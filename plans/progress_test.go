package plans

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestProgress(t *testing.T) {
	t.Parallel()
	// Due dates of the fixture: kickoff 03-08, review 03-12~, forecast 03-14~ (internal),
	// questionnaire 03-14, redlines 04-23, sign 04-30, onboarding 05-01~.
	tests := []struct {
		name    string
		prepare func(t *testing.T, f *fixture)
		now     string // New York day, at noon
		status  ProgressStatus
		percent int
		buyer   int
		overdue int
		next    string
		reached []string
	}{
		{"fresh plan", nil, "2025-03-07", ProgressOnTrack, 0, 0, 0, "kickoff", []string{}},
		{"one overdue is at risk", nil, "2025-03-10", ProgressAtRisk, 0, 0, 1, "kickoff", []string{}},
		{"blocked is at risk", func(t *testing.T, f *fixture) {
			setStatusOf(t, f, f.seller(f.start), "sign", StatusBlocked)
		}, "2025-03-07", ProgressAtRisk, 0, 0, 0, "kickoff", []string{}},
		{"three overdue is off track", nil, "2025-03-15", ProgressOffTrack, 0, 0, 4, "kickoff", []string{}},
		{"more than a week late is off track", func(t *testing.T, f *fixture) {
			setStatusOf(t, f, f.seller(f.start), "review", StatusDone)
			setStatusOf(t, f, f.seller(f.start), "forecast", StatusDone)
			setStatusOf(t, f, f.seller(f.start), "questionnaire", StatusDone)
		}, "2025-03-17", ProgressOffTrack, 42, 33, 1, "kickoff", []string{}},
		{"skipped leave the denominator", func(t *testing.T, f *fixture) {
			setStatusOf(t, f, f.seller(f.start), "kickoff", StatusDone)
			setStatusOf(t, f, f.seller(f.start), "review", StatusSkipped)
			setStatusOf(t, f, f.seller(f.start), "forecast", StatusDone)
		}, "2025-03-08", ProgressOnTrack, 33, 20, 0, "questionnaire", []string{"Started"}},
		{"all closed is completed", func(t *testing.T, f *fixture) {
			for _, a := range f.plan.Actions() {
				setStatusOf(t, f, f.seller(f.start), a.Key, StatusDone)
			}
		}, "2025-06-01", ProgressCompleted, 100, 100, 0, "", []string{"Started", "Signed"}},
		{"closed plan is completed", func(t *testing.T, f *fixture) {
			if _, err := f.plan.Close(f.seller(f.start), "won"); err != nil {
				t.Fatal(err)
			}
		}, "2025-06-01", ProgressCompleted, 0, 0, 7, "kickoff", []string{}},
		{"cancelled plan", func(t *testing.T, f *fixture) {
			if _, err := f.plan.Cancel(f.seller(f.start), "lost"); err != nil {
				t.Fatal(err)
			}
		}, "2025-03-07", ProgressCancelled, 0, 0, 0, "kickoff", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			if tt.prepare != nil {
				tt.prepare(t, f)
			}
			pr := f.plan.Progress(f.day(t, tt.now, 12))
			if pr.Status != tt.status {
				t.Errorf("status: got %s, want %s", pr.Status, tt.status)
			}
			if pr.PercentComplete != tt.percent || pr.BuyerPercentComplete != tt.buyer {
				t.Errorf("percent: got %d (buyer %d), want %d (buyer %d)", pr.PercentComplete, pr.BuyerPercentComplete, tt.percent, tt.buyer)
			}
			if pr.OverdueCount != tt.overdue {
				t.Errorf("overdue: got %d, want %d", pr.OverdueCount, tt.overdue)
			}
			next := ""
			if a := f.plan.Action(pr.NextActionID); a != nil {
				next = a.Key
			}
			if next != tt.next {
				t.Errorf("next action: got %q, want %q", next, tt.next)
			}
			if !slices.Equal(pr.MilestonesReached, tt.reached) {
				t.Errorf("milestones reached: got %v, want %v", pr.MilestonesReached, tt.reached)
			}
		})
	}
}

func TestProgressMilestonesAndActivity(t *testing.T) {
	t.Parallel()
	f := setup(t)
	t1 := f.day(t, "2025-03-10", 9)
	t2 := f.day(t, "2025-03-11", 15)
	setStatusOf(t, f, f.seller(t2), "review", StatusDone)
	pr := f.plan.Progress(t2)
	if pr.MilestonesTotal != 2 || len(pr.MilestonesReached) != 0 || pr.Milestones[0].Reached {
		t.Errorf("half a milestone: got %+v, want Started not reached", pr.Milestones)
	}
	setStatusOf(t, f, f.buyer(t1), "kickoff", StatusDone)
	pr = f.plan.Progress(t2)
	if pr.LastMilestone != "Started" || pr.LastMilestoneAt == nil || !pr.LastMilestoneAt.Equal(t2) {
		t.Errorf("last milestone: got %q at %v, want Started at %v (the later completion)", pr.LastMilestone, pr.LastMilestoneAt, t2)
	}
	if pr.LastActivitySide != SideBuyer || !pr.LastActivityAt.Equal(t1) {
		t.Errorf("last activity: got %v %s, want %v buyer", pr.LastActivityAt, pr.LastActivitySide, t1)
	}
	if pr.NextActionTitle != "Forecast call" || !pr.NextActionInternal || pr.NextActionDue.String() != "2025-03-13" {
		t.Errorf("next: got %q internal %v due %s, want Forecast call internal 2025-03-13", pr.NextActionTitle, pr.NextActionInternal, pr.NextActionDue)
	}
	// Reopening an action un-reaches its milestone.
	setStatusOf(t, f, f.seller(t2), "kickoff", StatusInProgress)
	if pr := f.plan.Progress(t2); len(pr.MilestonesReached) != 0 {
		t.Errorf("after reopen: got %v reached, want none", pr.MilestonesReached)
	}
	b, err := json.Marshal(pr)
	if err != nil || !strings.Contains(string(b), `"percent_complete":`) || !strings.Contains(string(b), `"next_action_due":"2025-03-13"`) {
		t.Errorf("json: got %s, %v", b, err)
	}
}

func TestProgressOverdueIsLocalDay(t *testing.T) {
	t.Parallel()
	f := setup(t) // kickoff due Saturday 2025-03-08 in New York
	tests := []struct {
		name string
		now  time.Time
		want int
	}{
		{"last minute of the due day", time.Date(2025, 3, 8, 23, 59, 0, 0, f.loc), 0},
		{"same instant is already the 9th in utc", time.Date(2025, 3, 9, 4, 59, 0, 0, time.UTC), 0},
		{"first minute after", time.Date(2025, 3, 9, 0, 1, 0, 0, f.loc), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := f.plan.Progress(tt.now).OverdueCount; got != tt.want {
				t.Errorf("overdue: got %d, want %d", got, tt.want)
			}
		})
	}
}
