package mapping

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr/file"
	"gopkg.in/yaml.v3"

	"github.com/mapsync/mapsync/plans"
)

// issueSpec is the mapping of issue 11, as an admin writes it (NextStep quoted: YAML reads a
// plain ': ' as a key).
const issueSpec = `
object: deal
when: plan.status != "cancelled"
fields:
  MAP_Progress__c: plan.percent_complete
  MAP_Status__c: plan.status
  NextStep: 'plan.next_action == nil ? "" : truncate(plan.next_action.title + " (due " + date(plan.next_action.due) + ")", 255)'
  MAP_Security_Review_Date__c: {value: 'plan.milestones["Security review"].reached_at', if: empty}
  MAP_URL__c: plan.url
`

func TestSpecYAML(t *testing.T) {
	t.Parallel()
	s := parseSpec(t, issueSpec)
	if ps := s.Validate(); len(ps) > 0 {
		t.Fatalf("validate: %v", Problems(ps))
	}
	var names []string
	for _, f := range s.Fields {
		names = append(names, f.Name)
	}
	want := []string{"MAP_Progress__c", "MAP_Status__c", "NextStep", "MAP_Security_Review_Date__c", "MAP_URL__c"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("fields: got %v, want %v (in written order)", names, want)
	}
	sec := s.Fields[3]
	if sec.If != PolicyIfEmpty || sec.Value != `plan.milestones["Security review"].reached_at` || sec.Pos.Line != 8 {
		t.Errorf("security review field: got %+v", sec)
	}
	if s.WhenPos.Line != 3 {
		t.Errorf("when line: got %d, want 3", s.WhenPos.Line)
	}

	t.Run("marshals back to its source", func(t *testing.T) {
		t.Parallel()
		m := MustCompile(parseSpec(t, issueSpec))
		out, err := yaml.Marshal(m.Spec())
		if err != nil {
			t.Fatal(err)
		}
		again := parseSpec(t, string(out))
		if !reflect.DeepEqual(stripPos(again), stripPos(s)) {
			t.Errorf("round trip:\n%s\ngot  %+v\nwant %+v", out, again, s)
		}
	})
}

func TestCompileErrorsKeepExprLocation(t *testing.T) {
	t.Parallel()
	s := parseSpec(t, `
fields:
  A__c: plan.percent_complete
  B__c: |
    plan.status +
      plan.nope
when: plan.percent_complete
`)
	_, err := Compile(s)
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 2 {
		t.Fatalf("got %v, want two problems", err)
	}
	var fe *file.Error
	if !errors.As(err, &fe) {
		t.Fatalf("expr's *file.Error not reachable from %v", err)
	}
	got := err.Error()
	for _, want := range []string{
		`fields.B__c: plan has no field nope (line 2, column 8) (plan has: id, template, name, status,`,
		`when: expected bool, but got int (line 7)`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("got %q, want it to contain %q", got, want)
		}
	}
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	m := MustCompile(parseSpec(t, issueSpec))
	p := testPlan()
	env := NewEnv(map[string]any{"StageName": "Negotiation"}, p, nil, now, "https://map.example.com/")
	ds, err := m.Evaluate(env)
	if err != nil {
		t.Fatal(err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	want := []Desired{
		{Field: "MAP_Progress__c", Value: 50, Policy: PolicyAlways},
		{Field: "MAP_Status__c", Value: "at_risk", Policy: PolicyAlways},
		{Field: "NextStep", Value: "MSA review (due 2025-03-06)", Policy: PolicyAlways},
		{Field: "MAP_Security_Review_Date__c", Value: time.Date(2025, 3, 5, 10, 30, 0, 0, paris), Policy: PolicyIfEmpty},
		{Field: "MAP_URL__c", Value: "https://map.example.com/plans/p1", Policy: PolicyAlways},
	}
	for i := range ds {
		ds[i].Expr = ""
		if tm, ok := ds[i].Value.(time.Time); ok {
			if !tm.Equal(want[i].Value.(time.Time)) || tm.Location().String() != "Europe/Paris" {
				t.Errorf("%s: got %v, want %v in Europe/Paris", ds[i].Field, tm, want[i].Value)
			}
			ds[i].Value = want[i].Value
		}
	}
	if !reflect.DeepEqual(ds, want) {
		t.Errorf("got  %+v\nwant %+v", ds, want)
	}

	t.Run("when false skips every field", func(t *testing.T) {
		t.Parallel()
		p := testPlan()
		p.Status = plans.PlanCancelled
		ds, err := m.Evaluate(NewEnv(nil, p, nil, now, ""))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.Skip != SkipWhenFalse || d.Value != nil {
				t.Errorf("%s: got skip %q value %v, want when_false and no value", d.Field, d.Skip, d.Value)
			}
		}
	})

	t.Run("a field reads its own plan; a missing plan skips it", func(t *testing.T) {
		t.Parallel()
		m := MustCompile(parseSpec(t, `
fields:
  Main__c: plan.percent_complete
  Sec__c: {value: plan.percent_complete, plan: security-review}
  Other__c: {value: plan.template, plan: nowhere}
`))
		sec := testPlan()
		sec.ID, sec.TemplateKey = "p2", "security-review"
		sec.Phases = sec.Phases[:1] // both done: 100 %
		main := testPlan()
		ds, err := m.Evaluate(NewEnv(nil, main, map[string]*plans.Plan{"security-review": sec, "default": main}, now, ""))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]any{}
		for _, d := range ds {
			got[d.Field] = d.Value
			if d.Skip != "" {
				got[d.Field] = d.Skip
			}
		}
		want := map[string]any{"Main__c": 50, "Sec__c": 100, "Other__c": SkipNoPlan}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
		ds, _ = m.Evaluate(NewEnv(nil, nil, map[string]*plans.Plan{"security-review": sec}, now, ""))
		if ds[0].Skip != SkipNoPlan || ds[1].Value != 100 {
			t.Errorf("without a main plan: got %+v, want Main__c no_plan and Sec__c 100", ds)
		}
	})

	t.Run("a runtime failure is a per-field error", func(t *testing.T) {
		t.Parallel()
		m := MustCompile(parseSpec(t, `
fields:
  Amount__c: deal.Amount * 2
  Ok__c: plan.overdue_count
`))
		ds, err := m.Evaluate(NewEnv(map[string]any{"Amount": "lots"}, testPlan(), nil, now, ""))
		if err == nil || !strings.Contains(err.Error(), "Amount__c: ") {
			t.Errorf("got error %v, want one naming Amount__c", err)
		}
		if ds[0].Skip != SkipInvalid || ds[0].Err == nil {
			t.Errorf("Amount__c: got %+v, want invalid with an error", ds[0])
		}
		if ds[1].Skip != "" || ds[1].Value != 1 {
			t.Errorf("Ok__c: got %+v, want 1", ds[1])
		}
	})
}

func TestPlanView(t *testing.T) {
	t.Parallel()
	v := NewPlanView(testPlan(), now, "https://map.example.com")
	if v.NextAction == nil || v.NextAction.Title != "MSA review" || v.NextAction.OwnerRole != "legal" || v.NextAction.Assignee != "lee@acme.test" {
		t.Errorf("next action: got %+v", v.NextAction)
	}
	if due := v.NextAction.Due; due == nil || due.Format(time.DateOnly) != "2025-03-06" || due.Location().String() != "Europe/Paris" {
		t.Errorf("next action due: got %v, want 2025-03-06 in Europe/Paris", due)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"status", v.Status, "at_risk"},
		{"state", v.State, "active"},
		{"percent_complete", v.PercentComplete, 50},
		{"buyer_percent", v.BuyerPercent, 33},
		{"overdue_count", v.OverdueCount, 1},
		{"current_phase", v.CurrentPhase, "Legal"},
		{"members_invited", v.MembersInvited, 2},
		{"members_accepted", v.MembersAccepted, 1},
		{"last_activity.side", v.LastActivity.Side, "buyer"},
		{"milestones legal reached", v.Milestones["Legal"].Reached, false},
		{"milestones security reached", v.Milestones["Security review"].Reached, true},
		{"last_milestone", v.LastMilestone, "Security review"},
		{"url", v.URL, "https://map.example.com/plans/p1"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}

	t.Run("nothing open", func(t *testing.T) {
		t.Parallel()
		p := testPlan()
		for _, a := range p.Actions() {
			a.Status, a.CompletedAt = plans.StatusDone, ptr(now)
		}
		v := NewPlanView(p, now, "")
		if v.NextAction != nil || v.CurrentPhase != "" || v.Status != "completed" || v.URL != "" {
			t.Errorf("got next %v, phase %q, status %q, url %q; want nil, empty, completed, empty", v.NextAction, v.CurrentPhase, v.Status, v.URL)
		}
	})
}

func TestHelpers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, expr string
		want       any
	}{
		{"date of a time in its zone", `date(plan.milestones["Security review"].reached_at)`, "2025-03-05"},
		{"date of nil", `date(plan.milestones["Nope"].reached_at)`, ""},
		{"datetime in UTC", `datetime(plan.milestones["Security review"].reached_at)`, "2025-03-05T09:30:00.000Z"},
		{"date of a string", `date("2025-03-09T23:30:00Z")`, "2025-03-09"},
		{"truncate counts runes", `truncate("héllo wörld", 7)`, "héllo w"},
		{"truncate short", `truncate("hi", 7)`, "hi"},
		{"join skips empties", `join(["a", "", nil, "b"], ", ")`, "a, b"},
		{"coalesce", `coalesce(deal.Missing, "", deal.Name, "x")`, "Acme"},
		{"coalesce nothing", `coalesce(deal.Missing, "")`, nil},
		{"now is the plan's zone", `now.Location().String()`, "Europe/Paris"},
		{"deal fields", `deal.Amount > 1000`, true},
		{"optional chaining", `plan.next_action?.owner_role ?? "none"`, "legal"},
	}
	env := NewEnv(map[string]any{"Name": "Acme", "Amount": 5000.0}, testPlan(), nil, now, "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := Compile(Spec{Fields: []FieldSpec{{Name: "X__c", Value: tt.expr}}})
			if err != nil {
				t.Fatal(err)
			}
			ds, err := m.Evaluate(env)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ds[0].Value, tt.want) {
				t.Errorf("got %#v, want %#v", ds[0].Value, tt.want)
			}
		})
	}
}

// stripPos returns s without its YAML positions, to compare what it says.
func stripPos(s Spec) Spec {
	out := Spec{Object: s.Object, When: s.When, Conflict: s.Conflict}
	for _, f := range s.Fields {
		f.Pos = Pos{}
		out.Fields = append(out.Fields, f)
	}
	return out
}

// TestEvaluateConcurrently shares one Mapping between goroutines, as push workers do (run with
// -race).
func TestEvaluateConcurrently(t *testing.T) {
	t.Parallel()
	m := MustCompile(parseSpec(t, issueSpec))
	done := make(chan []Desired)
	for i := range 8 {
		go func() {
			p := testPlan()
			p.ID = fmt.Sprintf("p%d", i)
			ds, _ := m.Evaluate(NewEnv(map[string]any{"i": i}, p, nil, now, "https://map.example.com"))
			done <- ds
		}()
	}
	for range 8 {
		ds := <-done
		if len(ds) != 5 || ds[0].Value != 50 || !strings.HasPrefix(ds[4].Value.(string), "https://map.example.com/plans/p") {
			t.Errorf("got %+v", ds)
		}
	}
}

func TestSplitPlans(t *testing.T) {
	t.Parallel()
	mk := func(id, key string, ago time.Duration) *plans.Plan {
		return &plans.Plan{ID: id, TemplateKey: key, TemplateVersion: 1, CreatedAt: now.Add(-ago)}
	}
	sec, main, other := mk("p1", "security-review", 3*time.Hour), mk("p2", "default", 2*time.Hour), mk("p3", "renewal", time.Hour)
	additive := func(key string, _ int) bool { return key == "security-review" }
	got, byKey := SplitPlans([]*plans.Plan{sec, other, main}, additive)
	if got != main || len(byKey) != 3 || byKey["security-review"] != sec {
		t.Errorf("got main %v and %d plans, want p2 (the earliest non-additive) and 3", got, len(byKey))
	}
	if got, _ := SplitPlans([]*plans.Plan{sec}, additive); got != nil {
		t.Errorf("only additive plans: got main %v, want none", got)
	}
}
