package plans

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestChooseAdditiveTemplates(t *testing.T) {
	t.Parallel()
	mk := func(key, rule string, prio int, additive bool) *Template {
		return &Template{Key: key, Selection: &Selection{Rule: rule, Priority: prio, Additive: additive}}
	}
	sel, err := NewSelector([]*Template{
		mk("default", "!deal.is_closed", 0, false),
		mk("enterprise", "!deal.is_closed && deal.amount >= 100000", 100, false),
		mk("security-review", "!deal.is_closed && deal.amount >= 250000", 200, true), // above the main ones: still additive
		mk("legal", `!deal.is_closed && deal.type == "New Business"`, 10, true),
		mk("win-review", "deal.is_won", 5, true),
	})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 3, 7, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		deal Deal
		want []string // main first
	}{
		{"small", Deal{ID: "1", Amount: 5000}, []string{"default"}},
		{"large", Deal{ID: "2", Amount: 300000}, []string{"enterprise", "security-review"}},
		{"large new business", Deal{ID: "3", Amount: 300000, Type: "New Business"}, []string{"enterprise", "security-review", "legal"}},
		{"only additive matches", Deal{ID: "4", IsClosed: true, IsWon: true}, []string{"win-review"}},
	}
	for _, tc := range tests {
		got, err := sel.Choose(tc.deal, now)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var keys []string
		for _, tpl := range got {
			keys = append(keys, tpl.Key)
		}
		if !slices.Equal(keys, tc.want) {
			t.Errorf("%s: chose %v, want %v", tc.name, keys, tc.want)
		}
		if main, _ := sel.Select(tc.deal, now); main.Key != tc.want[0] {
			t.Errorf("%s: Select = %s, want the main template %s", tc.name, main.Key, tc.want[0])
		}
	}
	if _, err := sel.Choose(Deal{ID: "5", IsClosed: true}, now); !errors.Is(err, ErrNoTemplate) {
		t.Errorf("closed lost deal: got %v, want ErrNoTemplate", err)
	}
}
