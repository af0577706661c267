package plans

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestOutlookMatchesProgress: for plans in many states, in zones with daylight-saving changes,
// the outlook gives the status Progress computes, at every hour over two months.
func TestOutlookMatchesProgress(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	statuses := []Status{StatusNotStarted, StatusInProgress, StatusBlocked, StatusDone, StatusSkipped}
	for i := range 40 {
		f := setup(t)
		if i%3 == 0 {
			f.plan.TimeZone = "Australia/Lord_Howe" // half-hour daylight-saving shifts
		}
		for _, a := range f.plan.Actions() {
			a.Status = statuses[rng.IntN(len(statuses))]
			if rng.IntN(4) == 0 {
				a.Due = Date{}
			} else {
				a.Due = Date{2025, time.March, 1}.AddDays(rng.IntN(40))
			}
		}
		switch i % 20 {
		case 0:
			f.plan.Status = PlanCancelled
		case 1:
			f.plan.Status = PlanClosed
		}
		o := f.plan.Outlook()
		for now := time.Date(2025, 2, 25, 0, 30, 0, 0, time.UTC); now.Before(time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)); now = now.Add(time.Hour) {
			if got, want := o.StatusAt(now), f.plan.Progress(now).Status; got != want {
				t.Fatalf("plan %d at %v: outlook says %s, progress %s (outlook %+v)", i, now, got, want, o)
			}
		}
	}
}
