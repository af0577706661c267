package plans

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestTransitions(t *testing.T) {
	t.Parallel()
	allowed := map[[2]Status]bool{}
	for _, pair := range [][2]Status{
		{StatusNotStarted, StatusInProgress}, {StatusNotStarted, StatusDone}, {StatusNotStarted, StatusBlocked}, {StatusNotStarted, StatusSkipped},
		{StatusInProgress, StatusNotStarted}, {StatusInProgress, StatusDone}, {StatusInProgress, StatusBlocked}, {StatusInProgress, StatusSkipped},
		{StatusBlocked, StatusNotStarted}, {StatusBlocked, StatusInProgress}, {StatusBlocked, StatusSkipped},
		{StatusDone, StatusInProgress}, {StatusDone, StatusNotStarted},
		{StatusSkipped, StatusInProgress}, {StatusSkipped, StatusNotStarted},
	} {
		allowed[pair] = true
	}
	// path reaches each status from not_started through allowed moves.
	path := map[Status][]Status{
		StatusNotStarted: nil,
		StatusInProgress: {StatusInProgress},
		StatusDone:       {StatusDone},
		StatusBlocked:    {StatusBlocked},
		StatusSkipped:    {StatusSkipped},
	}
	for _, from := range Statuses {
		for _, to := range Statuses {
			if from == to {
				continue
			}
			t.Run(string(from)+" to "+string(to), func(t *testing.T) {
				t.Parallel()
				f := setup(t)
				for _, s := range path[from] {
					setStatusOf(t, f, f.seller(f.start), "kickoff", s)
				}
				a := f.action(t, "kickoff")
				before := a.Version
				events, err := f.plan.UpdateAction(f.seller(f.start), a.ID, ActionPatch{Version: a.Version, Status: ptr(to)})
				if allowed[[2]Status{from, to}] {
					if err != nil {
						t.Fatalf("got %v, want allowed", err)
					}
					if a.Status != to || a.Version != before+1 {
						t.Errorf("got status %s version %d, want %s version %d", a.Status, a.Version, to, before+1)
					}
					if events[0].Type != EventActionStatus || events[0].Before != from || events[0].After != to {
						t.Errorf("event: got %s %v -> %v, want %s %s -> %s", events[0].Type, events[0].Before, events[0].After, EventActionStatus, from, to)
					}
					if to.Closed() != (a.CompletedAt != nil) {
						t.Errorf("completed at: got %v for %s", a.CompletedAt, to)
					}
					return
				}
				var te *TransitionError
				if !errors.As(err, &te) || te.From != from || te.To != to || !errors.Is(err, ErrInvalid) {
					t.Fatalf("got %v, want a TransitionError from %s to %s", err, from, to)
				}
				if a.Status != from || a.Version != before || events != nil {
					t.Errorf("after refusal: got status %s version %d, want unchanged %s %d", a.Status, a.Version, from, before)
				}
			})
		}
	}
}

func TestUpdateActionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		patch func(f *fixture, a *Action) (Change, string, ActionPatch)
		is    error
		field string
	}{
		{"stale version", func(f *fixture, a *Action) (Change, string, ActionPatch) {
			return f.seller(f.start), a.ID, ActionPatch{Version: a.Version + 1, Title: ptr("x")}
		}, ErrConflict, ""},
		{"missing version", func(f *fixture, a *Action) (Change, string, ActionPatch) {
			return f.seller(f.start), a.ID, ActionPatch{Title: ptr("x")}
		}, ErrInvalid, "version"},
		{"unknown status", func(f *fixture, a *Action) (Change, string, ActionPatch) {
			return f.seller(f.start), a.ID, ActionPatch{Version: a.Version, Status: ptr(Status("finished"))}
		}, ErrInvalid, "status"},
		{"unknown action", func(f *fixture, a *Action) (Change, string, ActionPatch) {
			return f.seller(f.start), "nope", ActionPatch{Version: 1}
		}, ErrNotFound, ""},
		{"unknown member", func(f *fixture, a *Action) (Change, string, ActionPatch) {
			return f.seller(f.start), a.ID, ActionPatch{Version: a.Version, AssigneeID: ptr("nobody")}
		}, ErrNotFound, ""},
		{"empty title", func(f *fixture, a *Action) (Change, string, ActionPatch) {
			return f.seller(f.start), a.ID, ActionPatch{Version: a.Version, Title: ptr("  ")}
		}, ErrInvalid, "title"},
		{"buyer cannot see internal action", func(f *fixture, a *Action) (Change, string, ActionPatch) {
			fc := f.plan.ActionByKey("forecast")
			return f.buyer(f.start), fc.ID, ActionPatch{Version: fc.Version, Title: ptr("x")}
		}, ErrNotFound, ""},
		{"internal action to a buyer", func(f *fixture, a *Action) (Change, string, ActionPatch) {
			fc := f.plan.ActionByKey("forecast")
			return f.seller(f.start), fc.ID, ActionPatch{Version: fc.Version, AssigneeID: ptr(f.plan.ActionByKey("review").AssigneeID)}
		}, ErrInvalid, "assignee_id"},
		{"closed plan", func(f *fixture, a *Action) (Change, string, ActionPatch) {
			if _, err := f.plan.Close(f.seller(f.start), "won"); err != nil {
				panic(err)
			}
			return f.seller(f.start), a.ID, ActionPatch{Version: a.Version, Title: ptr("x")}
		}, ErrClosed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a := f.action(t, "kickoff")
			c, id, patch := tt.patch(f, a)
			before := f.plan.Clone()
			_, err := f.plan.UpdateAction(c, id, patch)
			if !errors.Is(err, tt.is) {
				t.Fatalf("got %v, want %v", err, tt.is)
			}
			var ie *InputError
			if tt.field != "" && (!errors.As(err, &ie) || ie.Field != tt.field) {
				t.Errorf("got %v, want an InputError on field %s", err, tt.field)
			}
			if tt.is != ErrClosed && f.plan.Version != before.Version {
				t.Errorf("plan version: got %d, want unchanged %d", f.plan.Version, before.Version)
			}
		})
	}
}

func TestUpdateActionFields(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.action(t, "review")
	carol := f.plan.Members[2] // champion, second member of the role
	at := f.day(t, "2025-03-10", 9)
	events, err := f.plan.UpdateAction(f.seller(at), a.ID, ActionPatch{
		Version: 1, Title: ptr("Review proposal"), Description: ptr("Go through it"), AssigneeID: &carol.ID,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []EventType{EventActionTitle, EventActionDescription, EventActionAssignee}
	if got := eventTypes(events); !slices.Equal(got, want) {
		t.Errorf("events: got %v, want %v", got, want)
	}
	if a.Version != 2 || a.Title != "Review proposal" || a.AssigneeID != carol.ID {
		t.Errorf("got version %d title %q assignee %s, want 2, Review proposal, %s", a.Version, a.Title, a.AssigneeID, carol.ID)
	}
	if f.plan.LastActivitySide != SideSeller || !f.plan.LastActivityAt.Equal(at) {
		t.Errorf("last activity: got %v %s, want %v seller", f.plan.LastActivityAt, f.plan.LastActivitySide, at)
	}
	// The same patch again changes nothing.
	events, err = f.plan.UpdateAction(f.seller(at), a.ID, ActionPatch{Version: 2, Title: ptr("Review proposal")})
	if err != nil || events != nil || a.Version != 2 {
		t.Errorf("no-op patch: got %v events, %v, version %d; want none, nil, 2", len(events), err, a.Version)
	}
}

func TestDueRecomputedOnCompletion(t *testing.T) {
	t.Parallel()
	f := setup(t)
	review := f.action(t, "review")
	forecast := f.action(t, "forecast")
	if review.Due.String() != "2025-03-12" || !review.DueProvisional {
		t.Fatalf("review: got %s provisional %v, want 2025-03-12 provisional", review.Due, review.DueProvisional)
	}
	// Kickoff done on Tuesday 2025-03-11 at 21:30 New York time (daylight saving since Sunday):
	// 01:30 UTC on Wednesday. The day that counts is the local Tuesday.
	doneAt := f.day(t, "2025-03-11", 21).Add(30 * time.Minute)
	events := setStatusOf(t, f, f.seller(doneAt), "kickoff", StatusDone)
	if review.Due.String() != "2025-03-14" || review.DueProvisional {
		t.Errorf("review after kickoff done: got %s provisional %v, want 2025-03-14 final", review.Due, review.DueProvisional)
	}
	if forecast.Due.String() != "2025-03-16" || !forecast.DueProvisional {
		t.Errorf("forecast: got %s provisional %v, want 2025-03-16 provisional", forecast.Due, forecast.DueProvisional)
	}
	want := []EventType{EventActionStatus, EventActionDueRecomputed, EventActionDueRecomputed}
	if got := eventTypes(events); !slices.Equal(got, want) {
		t.Errorf("events: got %v, want %v", got, want)
	}
	if review.Version != 2 {
		t.Errorf("review version: got %d, want 2", review.Version)
	}

	// Reopening kickoff makes review provisional again, from kickoff's due date.
	setStatusOf(t, f, f.seller(doneAt), "kickoff", StatusInProgress)
	if review.Due.String() != "2025-03-12" || !review.DueProvisional {
		t.Errorf("review after reopen: got %s provisional %v, want 2025-03-12 provisional", review.Due, review.DueProvisional)
	}

	// A due date set by hand is kept; actions due after it follow.
	kick := f.action(t, "kickoff")
	if _, err := f.plan.UpdateAction(f.seller(doneAt), kick.ID, ActionPatch{Version: kick.Version, Due: ptr(Date{2025, 3, 20})}); err != nil {
		t.Fatal(err)
	}
	if kick.DueRule != nil || review.Due.String() != "2025-03-25" {
		t.Errorf("manual due: got rule %v, review %s; want no rule, review 2025-03-25", kick.DueRule, review.Due)
	}
}

func TestMoveAction(t *testing.T) {
	t.Parallel()
	keys := func(ph Phase) []string {
		var out []string
		for i, a := range ph.Actions {
			if a.Position != i {
				out = append(out, "bad-position")
			}
			out = append(out, a.Key)
		}
		return out
	}
	tests := []struct {
		name     string
		action   string
		toPhase  int
		position int
		want     [2][]string // phases 0 and 1 after the move
		noop     bool
	}{
		{"down within a phase", "kickoff", 0, 2, [2][]string{{"review", "forecast", "kickoff"}, {"questionnaire", "redlines", "sign"}}, false},
		{"up within a phase", "forecast", 0, 0, [2][]string{{"forecast", "kickoff", "review"}, {"questionnaire", "redlines", "sign"}}, false},
		{"to another phase middle", "review", 1, 1, [2][]string{{"kickoff", "forecast"}, {"questionnaire", "review", "redlines", "sign"}}, false},
		{"past the end appends", "kickoff", 1, 99, [2][]string{{"review", "forecast"}, {"questionnaire", "redlines", "sign", "kickoff"}}, false},
		{"onto its own place", "review", 0, 1, [2][]string{{"kickoff", "review", "forecast"}, {"questionnaire", "redlines", "sign"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a := f.action(t, tt.action)
			id, v := a.ID, a.Version
			events, err := f.plan.MoveAction(f.seller(f.start), id, v, f.plan.Phases[tt.toPhase].ID, tt.position)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				if got := keys(f.plan.Phases[i]); !slices.Equal(got, tt.want[i]) {
					t.Errorf("phase %d: got %v, want %v", i, got, tt.want[i])
				}
			}
			moved := f.plan.Action(id)
			if tt.noop {
				if events != nil || moved.Version != v {
					t.Errorf("got %d events version %d, want none and %d", len(events), moved.Version, v)
				}
				return
			}
			if len(events) != 1 || events[0].Type != EventActionMoved || moved.Version != v+1 {
				t.Errorf("got events %v version %d, want one action.moved and version %d", eventTypes(events), moved.Version, v+1)
			}
		})
	}

	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		a := f.action(t, "kickoff")
		if _, err := f.plan.MoveAction(f.seller(f.start), a.ID, a.Version, "no-phase", 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown phase: got %v, want ErrNotFound", err)
		}
		if _, err := f.plan.MoveAction(f.seller(f.start), a.ID, a.Version+1, f.plan.Phases[1].ID, 0); !errors.Is(err, ErrConflict) {
			t.Errorf("stale version: got %v, want ErrConflict", err)
		}
		if _, err := f.plan.MoveAction(f.seller(f.start), a.ID, a.Version, f.plan.Phases[1].ID, -1); !errors.Is(err, ErrInvalid) {
			t.Errorf("negative position: got %v, want ErrInvalid", err)
		}
	})
}
