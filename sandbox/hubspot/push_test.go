package hubspot

import (
	"strings"
	"testing"
)

// TestBatchUpdatePushRefusals checks what a push of mapped deal properties meets in one batch
// update: a value HubSpot refuses fails the whole batch (400 VALIDATION_ERROR naming the property)
// and writes nothing; an archived or unknown deal is a 207 with OBJECT_NOT_FOUND while the others
// are written.
func TestBatchUpdatePushRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 4, CustomProperties: DefaultCustomProperties()})
	ids := b.sb.IDs("deals")
	update := func(t *testing.T, inputs ...map[string]any) response {
		t.Helper()
		in := make([]any, len(inputs))
		for i, x := range inputs {
			in[i] = x
		}
		return b.do(t, "POST", "/crm/v3/objects/deals/batch/update", map[string]any{"inputs": in})
	}
	input := func(id string, props map[string]any) map[string]any {
		return map[string]any{"id": id, "properties": props}
	}

	t.Run("mapped properties are written", func(t *testing.T) {
		r := update(t, input(ids[0], map[string]any{"map_status": "cancelled", "map_progress": "40", "map_security_review_date": "2026-11-20",
			"map_plan_url": "https://map.example.com/plans/p1"}))
		wantStatus(t, r, 200)
		p, _ := b.sb.Object("deals", ids[0])
		if p["map_status"] != "cancelled" || p["map_progress"] != "40" || !strings.HasPrefix(p["map_security_review_date"], "2026-11-20") {
			t.Errorf("got %v", p)
		}
	})
	for name, tc := range map[string]struct {
		props map[string]any
		code  string
	}{
		"not an option": {map[string]any{"map_status": "At Risk"}, "INVALID_OPTION"},
		"too long":      {map[string]any{"map_next_step": strings.Repeat("x", MaxValueLength+1)}, "INVALID_LENGTH"},
		"read-only":     {map[string]any{"hs_object_id": "1"}, "READ_ONLY_VALUE"},
	} {
		t.Run(name, func(t *testing.T) {
			before, _ := b.sb.Object("deals", ids[1])
			r := update(t, input(ids[1], map[string]any{"map_next_step": "fine"}), input(ids[2], tc.props))
			wantStatus(t, r, 400)
			m := r.json(t)
			msg, _ := m["message"].(string)
			if m["category"] != "VALIDATION_ERROR" || !strings.Contains(msg, `"error":"`+tc.code+`"`) {
				t.Errorf("got %s, want VALIDATION_ERROR with %s", r.body, tc.code)
			}
			if after, _ := b.sb.Object("deals", ids[1]); after["map_next_step"] != before["map_next_step"] {
				t.Errorf("the valid input of a refused batch was written")
			}
		})
	}
	t.Run("more than 100 inputs", func(t *testing.T) {
		var in []map[string]any
		for range 101 {
			in = append(in, input(ids[0], map[string]any{"map_progress": "1"}))
		}
		r := update(t, in...)
		wantStatus(t, r, 400)
		if m := r.json(t); m["category"] != "VALIDATION_ERROR" {
			t.Errorf("got %s", r.body)
		}
	})
	t.Run("archived deal", func(t *testing.T) {
		if err := b.sb.ArchiveObject("deals", ids[3]); err != nil {
			t.Fatal(err)
		}
		r := update(t, input(ids[1], map[string]any{"map_progress": "75"}), input(ids[3], map[string]any{"map_progress": "75"}))
		wantStatus(t, r, 207)
		m := r.json(t)
		if dig(m, "errors", 0, "category") != "OBJECT_NOT_FOUND" || dig(m, "errors", 0, "context", "ids", 0) != ids[3] {
			t.Errorf("got %s, want OBJECT_NOT_FOUND for %s", r.body, ids[3])
		}
		if p, _ := b.sb.Object("deals", ids[1]); p["map_progress"] != "75" {
			t.Errorf("the live deal was not written: %v", p["map_progress"])
		}
	})
}
