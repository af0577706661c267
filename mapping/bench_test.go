package mapping

import (
	"testing"

	"github.com/mapsync/mapsync/connectors"
)

// BenchmarkPushPath measures the mapping layer's share of a push for one deal: the plan read
// model, evaluation of the five fields, coercion against field metadata and the diff.
func BenchmarkPushPath(b *testing.B) {
	m := MustCompile(Spec{When: `plan.status != "cancelled"`, Fields: []FieldSpec{
		{Name: "MAP_Progress__c", Value: "plan.percent_complete"},
		{Name: "MAP_Status__c", Value: "plan.status"},
		{Name: "NextStep", Value: `plan.next_action == nil ? "" : truncate(plan.next_action.title + " (due " + date(plan.next_action.due) + ")", 255)`},
		{Name: "MAP_Security_Review_Date__c", Value: `plan.milestones["Security review"].reached_at`, If: PolicyIfEmpty},
		{Name: "MAP_URL__c", Value: "plan.url"},
	}})
	meta := append([]connectors.FieldMeta(nil), opportunity...)
	for i := range 150 { // a real Opportunity describes about 150 fields
		meta = append(meta, connectors.FieldMeta{Name: "Other_" + string(rune('A'+i%26)) + string(rune('a'+i/26)) + "__c", Type: connectors.TypeString})
	}
	meta = append(meta, connectors.FieldMeta{Name: "MAP_URL__c", Type: connectors.TypeURL, Length: 255, Updateable: true, Nillable: true})
	idx := MetaIndex(meta)
	p := testPlan()
	deal := map[string]any{"MAP_Progress__c": 50.0, "MAP_Status__c": "at_risk", "StageName": "Negotiation"}
	last := map[string]any{"MAP_Progress__c": 50.0}
	b.ReportAllocs()
	for b.Loop() {
		ds, _ := m.Evaluate(NewEnv(deal, p, nil, now, "https://map.example.com"))
		ds = idx.CoerceAll(ds)
		_ = Diff(ds, last, deal, false).Changes()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deals/s")
}
