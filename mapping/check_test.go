package mapping

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mapsync/mapsync/connectors"
)

// opportunity is field metadata as the Salesforce sandbox describes its Opportunity, trimmed
// to what the tests map.
var opportunity = []connectors.FieldMeta{
	{Name: "Id", Type: connectors.TypeID},
	{Name: "IsClosed", Type: connectors.TypeBool},
	{Name: "NextStep", Type: connectors.TypeString, Length: 255, Updateable: true, Nillable: true},
	{Name: "MAP_Progress__c", Type: connectors.TypePercent, Updateable: true, Nillable: true, Custom: true},
	{Name: "MAP_Status__c", Type: connectors.TypePicklist, Options: []string{"on_track", "at_risk", "off_track", "completed"}, Restricted: true, Updateable: true, Nillable: true, Custom: true},
	{Name: "MAP_Next_Step__c", Type: connectors.TypeString, Length: 255, Updateable: true, Nillable: true, Custom: true},
	{Name: "MAP_Security_Review_Date__c", Type: connectors.TypeDate, Updateable: true, Nillable: true, Custom: true},
	{Name: "MAP_URL__c", Type: connectors.TypeURL, Length: 255, Updateable: true, Nillable: true, Custom: true},
	{Name: "MAP_At_Risk__c", Type: connectors.TypeBool, Updateable: true, Custom: true},
}

// checkFile compiles and checks one push section against opportunity, returning every problem.
func checkFile(t *testing.T, path string) Problems {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Compile(parseSpec(t, string(data)))
	if err != nil {
		return err.(Problems).For("sf")
	}
	return Check(m, opportunity).For("sf")
}

// TestBadMappings pairs every testdata/bad file with the exact problems it must produce.
func TestBadMappings(t *testing.T) {
	t.Parallel()
	want := map[string][]string{
		"bad_policy": {
			"connection sf: conflict: want overwrite or keep_crm_edits, got \"keep_edits\" (line 1)",
			"connection sf: fields.MAP_Progress__c.if: want empty or always, got \"blank\" (line 3)",
			"connection sf: fields.MAP_Progress__c.truncate: want true or false, got \"maybe\" (line 3)",
		},
		"bool_field_text": {
			"connection sf: fields.MAP_At_Risk__c: the expression gives text; the field is a bool (line 2)",
		},
		"coalesce_not_in_picklist": {
			"connection sf: fields.MAP_Status__c: \"paused\" (a constant) is not a value of the restricted picklist (allowed: \"on_track\", \"at_risk\", \"off_track\", \"completed\") (line 2)",
		},
		"constant_not_in_picklist": {
			"connection sf: fields.MAP_Status__c: \"late\" (a constant) is not a value of the restricted picklist (allowed: \"on_track\", \"at_risk\", \"off_track\", \"completed\") (line 2)",
		},
		"constant_too_long": {
			"connection sf: fields.MAP_Next_Step__c: \"There is nothing left to do on this plan\" is 299 characters; the field holds 255 (set truncate: true to cut) (line 2)",
		},
		"duplicate_field": {
			"connection sf: fields.map_progress__c: mapped twice (CRM field names are case-insensitive) (line 3)",
		},
		"list_to_number": {
			"connection sf: fields.MAP_Progress__c: the expression gives a list; the field is a percent (a number, 45 for 45 %) (line 2)",
		},
		"map_value_not_in_picklist": {
			"connection sf: fields.MAP_Status__c: \"At Risk\" (a constant) is not a value of the restricted picklist (allowed: \"on_track\", \"at_risk\", \"off_track\", \"completed\") (line 2)",
		},
		"missing_value": {
			"connection sf: fields.MAP_Progress__c: value: required (the expression computing the field) (line 2)",
			"connection sf: fields.MAP_Status__c.plan: not a template key (lowercase letters, digits, - and _), got \"Security Review\" (line 3)",
		},
		"near_name": {
			"connection sf: fields.MAP_Progress: no such field on the CRM's deal object (did you mean MAP_Progress__c?) (line 2)",
		},
		"no_fields": {
			"connection sf: object: want deal (the only object mappings write), got \"contact\" (line 1)",
			"connection sf: fields: required: at least one CRM field and its expression (line 1)",
		},
		"number_to_date": {
			"connection sf: fields.MAP_Security_Review_Date__c: the expression gives a number; the field is a date (a time, or date(...)) (line 2)",
		},
		"read_only": {
			"connection sf: fields.IsClosed: the CRM field is read-only (not updateable) (line 2)",
		},
		"status_not_in_picklist": {
			"connection sf: fields.MAP_Status__c: \"cancelled\" (a value of plan.status) is not a value of the restricted picklist (allowed: \"on_track\", \"at_risk\", \"off_track\", \"completed\") (line 2)",
		},
		"syntax": {
			"connection sf: fields.MAP_Progress__c: unexpected token EOF (column 23) (line 2)",
		},
		"text_to_percent": {
			"connection sf: fields.MAP_Progress__c: the expression gives text; the field is a percent (a number, 45 for 45 %) (line 2)",
		},
		"time_to_text": {
			"connection sf: fields.MAP_Next_Step__c: the expression gives a time; the field is text (string) (write date(...) or datetime(...) for its text) (line 2)",
		},
		"unknown_field": {
			"connection sf: fields.map_stat: no such field on the CRM's deal object (line 3)",
		},
		"unknown_key": {
			"connection sf: fields.MAP_Progress__c.when: unknown key (want one of value, if, plan, truncate) (line 3)",
			"connection sf: conflicts: unknown key (want one of object, when, conflict, fields) (line 4)",
		},
		"unknown_name": {
			"connection sf: fields.MAP_Progress__c: plan has no field percent (column 6) (plan has: id, template, name, status, state, percent_complete, buyer_percent, next_action, overdue_count, blocked_count, actions_total, actions_done, current_phase, milestones, last_milestone, last_activity, members_invited, members_accepted, members, url, created_at, closed_at) (line 2)",
		},
		"when_not_bool": {
			"connection sf: when: expected bool, but got string (line 1)",
		},
	}
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w, ok := want[name]
			if !ok {
				t.Fatalf("no expected problems for %s", f)
			}
			var got []string
			for _, p := range checkFile(t, f) {
				got = append(got, p.Error())
			}
			if !slices.Equal(got, w) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(w, "\n  "))
			}
		})
	}
}

func TestCheckGood(t *testing.T) {
	t.Parallel()
	meta := slices.Clone(opportunity)
	for i := range meta {
		if meta[i].Name == "MAP_Status__c" {
			meta[i].Options = append(slices.Clone(meta[i].Options), "cancelled")
		}
	}
	for name, src := range map[string]string{
		"issue mapping": issueSpec,
		"unknown types pass": `
fields:
  MAP_Progress__c: deal.Probability
  MAP_Status__c: 'deal.IsWon == true ? "completed" : plan.status'
  MAP_Security_Review_Date__c: date(plan.created_at)
  MAP_Next_Step__c: {value: 'plan.next_action?.title ?? ""', truncate: true}
  MAP_At_Risk__c: plan.overdue_count > 0
  nextstep: plan.current_phase
`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m, err := Compile(parseSpec(t, src))
			if err != nil {
				t.Fatal(err)
			}
			if ps := Check(m, meta); len(ps) > 0 {
				t.Errorf("got problems:\n%v", ps)
			}
		})
	}

	t.Run("when rules cancelled out", func(t *testing.T) {
		t.Parallel()
		// The issue's mapping writes plan.status only while it is not cancelled: a picklist
		// without "cancelled" is fine.
		if ps := Check(MustCompile(parseSpec(t, issueSpec)), opportunity); len(ps) > 0 {
			t.Errorf("got %v, want none", ps)
		}
		s := parseSpec(t, issueSpec)
		s.When = ""
		ps := Check(MustCompile(s), opportunity)
		if len(ps) != 1 || ps[0].Field != "MAP_Status__c" || !strings.Contains(ps[0].Message, `"cancelled" (a value of plan.status)`) {
			t.Errorf("without when: got %v, want one problem on MAP_Status__c naming cancelled", ps)
		}
	})
}

func TestWhenExcludes(t *testing.T) {
	t.Parallel()
	tests := map[string]map[string][]string{
		``:                           {},
		`plan.status != "cancelled"`: {"status": {"cancelled"}, "state": {"cancelled"}},
		`plan.state != "cancelled"`:  {"status": {"cancelled"}, "state": {"cancelled"}},
		`"closed" != plan.state`:     {"state": {"closed"}},
		`plan.state == "active"`:     {"state": {"closed", "cancelled"}, "status": {"cancelled"}},
		`plan.status in ["on_track", "at_risk"] and deal.Amount > 0`:   {"status": {"off_track", "completed", "cancelled"}, "state": {"cancelled"}},
		`not (plan.status in ["off_track"])`:                           {"status": {"off_track"}},
		`plan.status not in ["off_track"]`:                             {"status": {"off_track"}},
		`!(plan.status == "completed") && plan.percent_complete < 100`: {"status": {"completed"}},
		`plan.status != "cancelled" or deal.IsWon`:                     {},
		`not (plan.status != "x" and plan.state != "y")`:               {},
	}
	for when, want := range tests {
		t.Run(when, func(t *testing.T) {
			t.Parallel()
			got := map[string][]string{}
			for path, vals := range whenExcludes(when) {
				for v := range vals {
					got[path] = append(got[path], v)
				}
				slices.Sort(got[path])
			}
			for path := range want {
				slices.Sort(want[path])
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}
