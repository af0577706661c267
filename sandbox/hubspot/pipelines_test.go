package hubspot

import (
	"testing"
)

// The "default" pipeline is a fresh HubSpot portal's Sales Pipeline, stage for stage; renewals
// live in a further pipeline.
func TestPipelinesAreAFreshPortals(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 400, Seed: 3})
	r := b.do(t, "GET", "/crm/v3/pipelines/deals", nil)
	wantStatus(t, r, 200)
	results := r.json(t)["results"].([]any)
	type stage struct{ id, label, probability, isClosed string }
	want := map[string]struct {
		label  string
		order  float64
		stages []stage
	}{
		"default": {"Sales Pipeline", 0, []stage{
			{"appointmentscheduled", "Appointment Scheduled", "0.2", "false"},
			{"qualifiedtobuy", "Qualified To Buy", "0.4", "false"},
			{"presentationscheduled", "Presentation Scheduled", "0.6", "false"},
			{"decisionmakerboughtin", "Decision Maker Bought-In", "0.8", "false"},
			{"contractsent", "Contract Sent", "0.9", "false"},
			{"closedwon", "Closed Won", "1", "true"},
			{"closedlost", "Closed Lost", "0", "true"},
		}},
		"renewals": {"Renewals", 1, []stage{
			{"renewaldue", "Renewal Due", "0.6", "false"},
			{"renewalnegotiation", "Renewal Negotiation", "0.8", "false"},
			{"renewed", "Renewed", "1", "true"},
			{"churned", "Churned", "0", "true"},
		}},
	}
	if len(results) != len(want) {
		t.Fatalf("got %d pipelines, want %d", len(results), len(want))
	}
	for _, p := range results {
		id := dig(p, "id").(string)
		w, ok := want[id]
		if !ok {
			t.Errorf("unexpected pipeline %s", id)
			continue
		}
		if dig(p, "label") != w.label || dig(p, "displayOrder") != w.order {
			t.Errorf("pipeline %s: got label %v order %v, want %s %v", id, dig(p, "label"), dig(p, "displayOrder"), w.label, w.order)
		}
		stages := dig(p, "stages").([]any)
		if len(stages) != len(w.stages) {
			t.Fatalf("pipeline %s: got %d stages, want %d", id, len(stages), len(w.stages))
		}
		for i, st := range stages {
			got := stage{dig(st, "id").(string), dig(st, "label").(string), dig(st, "metadata", "probability").(string), dig(st, "metadata", "isClosed").(string)}
			if got != w.stages[i] || dig(st, "displayOrder") != float64(i) {
				t.Errorf("pipeline %s stage %d: got %+v at order %v, want %+v", id, i, got, dig(st, "displayOrder"), w.stages[i])
			}
		}
	}

	// Generated deals fill every stage of both pipelines, with the derived properties of their
	// stage.
	seen := map[string]int{}
	for _, id := range b.sb.IDs("deals") {
		p, _ := b.sb.Object("deals", id)
		seen[p["pipeline"]+"/"+p["dealstage"]]++
		closed := p["dealstage"] == "closedwon" || p["dealstage"] == "closedlost" || p["dealstage"] == "renewed" || p["dealstage"] == "churned"
		if p["hs_is_closed"] != map[bool]string{true: "true", false: "false"}[closed] {
			t.Errorf("deal %s in %s: hs_is_closed %s", id, p["dealstage"], p["hs_is_closed"])
		}
	}
	for pid, w := range want {
		for _, st := range w.stages {
			if seen[pid+"/"+st.id] == 0 {
				t.Errorf("no generated deal in %s/%s (got %v)", pid, st.id, seen)
			}
		}
	}
	if len(seen) != 11 {
		t.Errorf("deals in %d pipeline stages, want 11: %v", len(seen), seen)
	}
}
