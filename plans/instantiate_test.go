package plans

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestInstantiate(t *testing.T) {
	t.Parallel()
	f := setup(t)
	p := f.plan

	if got, want := p.ID, PlanID("sf", "006A", "test-plan"); got != want {
		t.Errorf("id: got %s, want %s", got, want)
	}
	if p.TemplateVersion != 3 || p.TemplateKey != "test-plan" {
		t.Errorf("template: got %s v%d, want test-plan v3", p.TemplateKey, p.TemplateVersion)
	}
	if got, want := p.Name, "Acme: Acme - Platform"; got != want {
		t.Errorf("name: got %q, want %q", got, want)
	}
	if got, want := p.WelcomeMessage, "Hi Bob, Sam here. Close: 2025-04-30. Tier Gold."; got != want {
		t.Errorf("welcome: got %q, want %q", got, want)
	}
	if p.TimeZone != "America/New_York" || p.StartDate.String() != "2025-03-07" {
		t.Errorf("zone and start: got %s %s, want America/New_York 2025-03-07", p.TimeZone, p.StartDate)
	}
	if len(p.Phases) != 3 || len(p.Phases[0].Actions) != 3 || p.Phases[1].Actions[2].Position != 2 {
		t.Errorf("phases: got %d phases, want 3 with positions from 0", len(p.Phases))
	}
	if got := f.action(t, "kickoff").SubTasks; len(got) != 2 || got[1].Title != "Recap" || got[0].ID == "" {
		t.Errorf("sub-tasks: got %+v, want Agenda and Recap with ids", got)
	}
	if got := f.action(t, "questionnaire").Questions; len(got) != 4 {
		t.Errorf("questions: got %d, want 4", len(got))
	}
	for _, a := range p.Actions() {
		if a.Version != 1 || a.Status != StatusNotStarted {
			t.Errorf("%s: got version %d status %s, want 1 not_started", a.Key, a.Version, a.Status)
		}
	}

	t.Run("members by role", func(t *testing.T) {
		got := map[string][]string{}
		for _, m := range p.Members {
			got[m.Role] = append(got[m.Role], m.Name)
		}
		want := map[string][]string{
			"owner": {"Sam Seller"}, "champion": {"Alice Ames", "Carol Cole"}, "primary": {"Bob Brown"},
		}
		for role, names := range want {
			if !slices.Equal(got[role], names) {
				t.Errorf("role %s: got %v, want %v", role, got[role], names)
			}
		}
		if len(got["legal"]) != 0 {
			t.Errorf("legal: got %v, want nobody", got["legal"])
		}
	})

	t.Run("assignees", func(t *testing.T) {
		tests := map[string]string{"kickoff": "Sam Seller", "review": "Alice Ames", "questionnaire": "Bob Brown", "redlines": ""}
		for key, want := range tests {
			a := f.action(t, key)
			got := ""
			if m := p.Member(a.AssigneeID); m != nil {
				got = m.Name
			}
			if got != want {
				t.Errorf("%s: got assignee %q, want %q", key, got, want)
			}
		}
		if got := f.action(t, "redlines").OwnerRole; got != "legal" {
			t.Errorf("redlines owner role: got %q, want legal", got)
		}
	})

	t.Run("events", func(t *testing.T) {
		if got := eventTypes(f.events); !slices.Equal(got, []EventType{EventPlanCreated, EventRoleUnfilled}) {
			t.Fatalf("events: got %v, want plan.created, role.unfilled", got)
		}
		w := f.events[1]
		if w.Level != LevelWarning || !strings.Contains(w.Message, `role "legal" (Buyer Legal) has nobody`) {
			t.Errorf("warning: got %s %q, want a warning naming role legal", w.Level, w.Message)
		}
		for _, e := range f.events {
			if e.PlanID != p.ID || e.ID == "" || !e.At.Equal(f.start) {
				t.Errorf("event %s: got plan %s id %q at %v, want stamped", e.Type, e.PlanID, e.ID, e.At)
			}
		}
	})
}

func TestInstantiateDueDates(t *testing.T) {
	t.Parallel()
	ny := mustLoc(t, "America/New_York")
	tokyo := mustLoc(t, "Asia/Tokyo")
	// Friday 2025-03-07 22:00 in New York is already Saturday in UTC and Tokyo.
	friNight := time.Date(2025, 3, 7, 22, 0, 0, 0, ny)
	tests := []struct {
		name  string
		now   time.Time
		loc   *time.Location
		close Date
		want  map[string]string // action key -> due ("" none); "~" suffix marks provisional
	}{
		{
			name: "new york friday night", now: friNight, loc: ny, close: Date{2025, 4, 30},
			want: map[string]string{
				"kickoff": "2025-03-08", "review": "2025-03-12~", "forecast": "2025-03-14~",
				"questionnaire": "2025-03-14", "redlines": "2025-04-23", "sign": "2025-04-30",
				"onboarding": "2025-05-01~",
			},
		},
		{
			name: "same instant in tokyo is saturday", now: friNight, loc: tokyo, close: Date{2025, 4, 30},
			want: map[string]string{"kickoff": "2025-03-09", "review": "2025-03-12~", "questionnaire": "2025-03-14"},
		},
		{
			name: "close date on a sunday counts business days back", now: friNight, loc: ny, close: Date{2025, 5, 4},
			want: map[string]string{"redlines": "2025-04-28", "sign": "2025-05-04", "onboarding": "2025-05-05~"},
		},
		{
			name: "no close date leaves close-anchored actions undated", now: friNight, loc: ny, close: Date{},
			want: map[string]string{"redlines": "", "sign": "", "onboarding": "", "kickoff": "2025-03-08"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			deal := testDeal()
			deal.CloseDate = tt.close
			p, events, err := Instantiate(testTemplate(t), deal, tt.now, tt.loc)
			if err != nil {
				t.Fatal(err)
			}
			for key, want := range tt.want {
				a := p.ActionByKey(key)
				got := a.Due.String()
				if a.DueProvisional {
					got += "~"
				}
				if got != want {
					t.Errorf("%s: got due %q, want %q", key, got, want)
				}
			}
			if tt.close.IsZero() {
				n := 0
				for _, e := range events {
					if e.Type == EventDueUnresolved && e.Level == LevelWarning {
						n++
					}
				}
				if n != 3 {
					t.Errorf("due warnings: got %d, want 3 (redlines, sign, onboarding)", n)
				}
			}
		})
	}
}

func TestInstantiateBadInput(t *testing.T) {
	t.Parallel()
	tpl := testTemplate(t)
	cyclic := testTemplate(t)
	cyclic.Phases[0].Actions[0].Due = &DueRule{After: "review"}
	tests := []struct {
		name string
		tpl  *Template
		deal Deal
		want string
	}{
		{"no template", nil, testDeal(), "template: required"},
		{"no deal id", tpl, Deal{}, "deal.id: required"},
		{"due cycle", cyclic, testDeal(), "due rules form a cycle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := Instantiate(tt.tpl, tt.deal, time.Now(), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
