package plans

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr/file"
)

func TestSelectorMatch(t *testing.T) {
	t.Parallel()
	ex := loadExamples(t)
	var all []*Template
	for _, tpl := range ex {
		all = append(all, tpl)
	}
	sel, err := NewSelector(all)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 3, 7, 12, 0, 0, 0, time.UTC)
	deal := func(mod func(d *Deal)) Deal {
		d := Deal{ConnectionName: "sf", CRM: "salesforce", ID: "1", Pipeline: "default", Stage: "Needs Analysis", Type: "New Business", Amount: 50000}
		mod(&d)
		return d
	}
	tests := []struct {
		name string
		deal Deal
		want []string
	}{
		{"big new business", deal(func(d *Deal) { d.Amount = 250000 }), []string{"enterprise-new-business", "default"}},
		{"mid-market stage", deal(func(d *Deal) {}), []string{"mid-market", "default"}},
		{"prospecting falls to the default", deal(func(d *Deal) { d.Stage = "Prospecting" }), []string{"default"}},
		{"renewals pipeline", deal(func(d *Deal) { d.Pipeline, d.Stage, d.Type = "renewals", "Renewal Due", "Renewal" }), []string{"renewal", "default"}},
		{"renewal type in the default pipeline", deal(func(d *Deal) { d.Type = "Renewal" }), []string{"renewal", "mid-market", "default"}},
		{"existing business over 100k", deal(func(d *Deal) { d.Type, d.Amount = "Existing Business", 300000 }), []string{"default"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := sel.Match(tt.deal, now)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, tpl := range got {
				keys = append(keys, tpl.Key)
			}
			if !slices.Equal(keys, tt.want) {
				t.Errorf("got %v, want %v", keys, tt.want)
			}
		})
	}

	t.Run("closed deal matches nothing", func(t *testing.T) {
		t.Parallel()
		_, err := sel.Select(deal(func(d *Deal) { d.Stage, d.IsClosed = "Closed Won", true }), now)
		var nm *NoMatchError
		if !errors.Is(err, ErrNoTemplate) || !errors.As(err, &nm) || nm.DealID != "1" {
			t.Errorf("got %v, want a NoMatchError for deal 1", err)
		}
	})
}

func TestSelectorRules(t *testing.T) {
	t.Parallel()
	mk := func(key, rule string, prio int, conns ...string) *Template {
		return &Template{Key: key, Selection: &Selection{Rule: rule, Priority: prio, Connections: conns}}
	}
	now := time.Date(2025, 3, 7, 12, 0, 0, 0, time.UTC)
	d := Deal{ConnectionName: "hs", CRM: "hubspot", ID: "9", Amount: 10, CloseDate: Date{2025, 3, 20},
		Fields:   map[string]any{"Region__c": "EMEA", "Seats": 12.0},
		Contacts: []DealContact{{Role: "Champion"}}}
	tests := []struct {
		name  string
		t     *Template
		match bool
	}{
		{"custom field", mk("a", `deal.fields["Region__c"] == "EMEA"`, 1), true},
		{"custom number field", mk("a", `deal.fields["Seats"] > 10`, 1), true},
		{"missing field is nil", mk("a", `deal.fields["Nope"] == nil`, 1), true},
		{"crm and connection", mk("a", `crm == "hubspot" && connection == "hs"`, 1), true},
		{"close date within 30 days of now", mk("a", `deal.close_date - now < duration("720h")`, 1), true},
		{"contact roles", mk("a", `"Champion" in deal.contact_roles`, 1), true},
		{"other connection", mk("a", `true`, 1, "sf"), false},
		{"listed connection", mk("a", `true`, 1, "hs"), true},
		{"runtime error counts as no match", mk("a", `deal.fields["Region__c"] > 3`, 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sel, err := NewSelector([]*Template{tt.t})
			if err != nil {
				t.Fatal(err)
			}
			_, err = sel.Match(d, now)
			if got := err == nil; got != tt.match {
				t.Errorf("got match %v (%v), want %v", got, err, tt.match)
			}
		})
	}

	t.Run("priority then key", func(t *testing.T) {
		t.Parallel()
		sel, err := NewSelector([]*Template{mk("b", "true", 5), mk("a", "true", 5), mk("c", "true", 9), {Key: "manual"}})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := sel.Match(d, now)
		var keys []string
		for _, tpl := range got {
			keys = append(keys, tpl.Key)
		}
		if !slices.Equal(keys, []string{"c", "a", "b"}) {
			t.Errorf("got %v, want [c a b]", keys)
		}
	})

	t.Run("bad rule", func(t *testing.T) {
		t.Parallel()
		if _, err := NewSelector([]*Template{mk("x", "deal.amount +", 1)}); err == nil {
			t.Errorf("got nil, want a compile error")
		}
	})
}

// TestNoMatchSaysWhy: a deal no template matches gets, for each template tried, the first term of
// its rule that is false and the values that term read.
func TestNoMatchSaysWhy(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 7, 12, 0, 0, 0, time.UTC)
	tpl := func(key, rule string, priority int, connections ...string) *Template {
		return &Template{Key: key, Selection: &Selection{Rule: rule, Priority: priority, Connections: connections}}
	}
	big := tpl("big", `deal.pipeline == "default" && !deal.is_closed && deal.amount >= 100000`, 100)
	mid := tpl("mid", "!deal.is_closed and deal.stage in [\"qualification\", \"proposal\"]", 50)
	open := tpl("open", "!deal.is_closed", 0)
	custom := tpl("custom", `deal.fields["Tier__c"] == "gold" || deal.amount > 1000000`, 10)
	elsewhere := tpl("elsewhere", "true", 5, "hs", "hs2")
	tests := []struct {
		name      string
		templates []*Template
		deal      Deal
		want      []Miss
	}{
		{
			name:      "open deal too small and too early",
			templates: []*Template{big, mid},
			deal:      Deal{ConnectionName: "sf", ID: "7", Pipeline: "default", Stage: "prospecting", Amount: 50000},
			want: []Miss{
				{"big", "deal.amount >= 100000 is false (deal.amount = 50000)"},
				{"mid", `deal.stage in ["qualification", "proposal"] is false (deal.stage = "prospecting")`},
			},
		},
		{
			name:      "closed deal",
			templates: []*Template{open, big},
			deal:      Deal{ConnectionName: "sf", ID: "8", Pipeline: "default", Stage: "closedwon", IsClosed: true, Amount: 200000},
			want: []Miss{
				{"big", "!deal.is_closed is false (deal.is_closed = true)"},
				{"open", "!deal.is_closed is false (deal.is_closed = true)"},
			},
		},
		{
			name:      "a rule that is not a conjunction, and one for other connections",
			templates: []*Template{custom, elsewhere},
			deal:      Deal{ConnectionName: "sf", ID: "9", Amount: 10, Fields: map[string]any{"Tier__c": "silver"}},
			want: []Miss{
				{"custom", `deal.fields.Tier__c == "gold" || deal.amount > 1000000 is false (deal.fields.Tier__c = "silver", deal.amount = 10)`},
				{"elsewhere", "only for connections hs, hs2"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sel, err := NewSelector(tt.templates)
			if err != nil {
				t.Fatal(err)
			}
			_, err = sel.Match(tt.deal, now)
			var nm *NoMatchError
			if !errors.As(err, &nm) {
				t.Fatalf("got %v, want a *NoMatchError", err)
			}
			if !slices.Equal(nm.Misses(), tt.want) {
				t.Errorf("misses:\n got %q\nwant %q", nm.Misses(), tt.want)
			}
			for _, m := range tt.want {
				if !strings.Contains(err.Error(), m.Template+": "+m.Reason) {
					t.Errorf("message %q lacks %q", err, m.Template+": "+m.Reason)
				}
			}
		})
	}
}

// TestCompileRuleKeepsPosition: a rule that does not compile keeps expr's *file.Error reachable,
// so its line and column can be shown.
func TestCompileRuleKeepsPosition(t *testing.T) {
	t.Parallel()
	_, err := CompileRule("deal.amount > 10 &&\n  deal.nope")
	var fe *file.Error
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want expr's *file.Error reachable", err)
	}
	if fe.Line != 2 {
		t.Errorf("line: got %d, want 2", fe.Line)
	}
	var ee *ExprError
	if !errors.As(err, &ee) || ee.Line != 2 || ee.Column == 0 {
		t.Errorf("got %#v, want an *ExprError at line 2 with a column", ee)
	}
}
