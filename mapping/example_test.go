package mapping_test

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/mapping"
	"github.com/mapsync/mapsync/plans"
)

// Example shows the whole path of one deal: compile the connection's mapping once, then evaluate,
// coerce to the CRM's field types and diff against what the CRM holds.
func Example() {
	var spec mapping.Spec
	_ = yaml.Unmarshal([]byte(`
when: plan.state != "cancelled"
fields:
  MAP_Progress__c: plan.percent_complete
  MAP_Status__c: '{"on_track": "On Track", "at_risk": "At Risk"}[plan.status]'
  MAP_Next_Step__c: {value: 'plan.next_action?.title ?? ""', truncate: true}
`), &spec)
	m, err := mapping.Compile(spec)
	if err != nil {
		fmt.Println(err)
		return
	}
	meta := []connectors.FieldMeta{
		{Name: "MAP_Progress__c", Type: connectors.TypePercent, Updateable: true, Nillable: true},
		{Name: "MAP_Status__c", Type: connectors.TypePicklist, Options: []string{"On Track", "At Risk"}, Restricted: true, Updateable: true, Nillable: true},
		{Name: "MAP_Next_Step__c", Type: connectors.TypeString, Length: 10, Updateable: true, Nillable: true},
	}
	fmt.Println("problems:", len(mapping.Check(m, meta)))

	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	plan := &plans.Plan{ID: "p1", TemplateKey: "default", Status: plans.PlanActive, Phases: []plans.Phase{{Name: "Close", Actions: []plans.Action{
		{ID: "a1", Title: "Kickoff", Status: plans.StatusDone, CompletedAt: &now},
		{ID: "a2", Title: "Sign the order form", Status: plans.StatusNotStarted},
	}}}}
	crm := map[string]any{"MAP_Progress__c": "50", "MAP_Status__c": nil} // as pulled
	desired, _ := m.Evaluate(mapping.NewEnv(crm, plan, nil, now, "https://map.example.com"))
	desired = mapping.CoerceAll(desired, meta)
	for _, d := range mapping.Diff(desired, nil, crm, m.KeepCRMEdits()) {
		if d.Write {
			fmt.Printf("%s = %#v: write\n", d.Field, d.Value)
		} else {
			fmt.Printf("%s = %#v: skip, %s\n", d.Field, d.Value, d.Reason)
		}
	}
	// Output:
	// problems: 0
	// MAP_Progress__c = 50: skip, unchanged
	// MAP_Status__c = "On Track": write
	// MAP_Next_Step__c = "Sign the o": write
}
