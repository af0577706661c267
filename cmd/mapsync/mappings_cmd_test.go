package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/mapping"
	"github.com/mapsync/mapsync/plans"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata")

// TestMappingsPreviewGolden renders the preview of a fixed deal and plan through the whole pure
// path (NewEnv, Evaluate, CoerceAll, Diff) and compares it with testdata/mappings_preview.golden.
func TestMappingsPreviewGolden(t *testing.T) {
	t.Parallel()
	var doc struct {
		Push mapping.Spec `yaml:"push"`
	}
	if err := yaml.Unmarshal([]byte(sandboxPushSalesforce), &doc); err != nil {
		t.Fatal(err)
	}
	spec := doc.Push
	spec.Fields = append(spec.Fields,
		mapping.FieldSpec{Name: "NextStep", Value: `plan.next_action.title + " — " + plan.next_action.title`},
		mapping.FieldSpec{Name: "MAP_Review_Progress__c", Value: "plan.percent_complete", Plan: "security-review"})
	m, err := mapping.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	done := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	due, _ := plans.ParseDate("2026-12-10")
	main := &plans.Plan{ID: "pl_main", TemplateKey: "default", Status: plans.PlanActive, TimeZone: "Europe/Berlin",
		Phases: []plans.Phase{{Name: "Evaluate", Actions: []plans.Action{
			{ID: "a1", Title: "Security questionnaire", Status: plans.StatusDone, CompletedAt: &done, Milestone: "Security approved"},
			{ID: "a2", Title: "Order form signed", Status: plans.StatusInProgress, Due: due},
		}}}}
	meta := []connectors.FieldMeta{
		{Name: "MAP_Progress__c", Type: connectors.TypePercent, Updateable: true, Nillable: true},
		{Name: "MAP_Status__c", Type: connectors.TypePicklist, Options: []string{"On Track", "At Risk", "Off Track", "Completed", "Cancelled"}, Restricted: true, Updateable: true, Nillable: true},
		{Name: "MAP_Next_Step__c", Type: connectors.TypeString, Length: 20, Updateable: true, Nillable: true},
		{Name: "MAP_Security_Review_Date__c", Type: connectors.TypeDate, Updateable: true, Nillable: true},
		{Name: "MAP_Plan_URL__c", Type: connectors.TypeURL, Length: 255, Updateable: true, Nillable: true},
		{Name: "NextStep", Type: connectors.TypeString, Length: 30, Updateable: true, Nillable: true},
	}
	crm := map[string]any{"MAP_Progress__c": 50.0, "MAP_Status__c": "At Risk", "MAP_Security_Review_Date__c": "2026-11-30", "NextStep": "Call"}
	env := mapping.NewEnv(crm, main, map[string]*plans.Plan{"default": main}, now, "https://map.example.com")
	desired, _ := m.Evaluate(env)
	desired = mapping.CoerceAll(desired, meta)
	p := newMappingPreview("sandbox-salesforce", "006000000000001AAA", m, main, map[string]*plans.Plan{"default": main},
		desired, mapping.Diff(desired, nil, crm, m.KeepCRMEdits()), crm)
	var b strings.Builder
	if err := p.render(&b); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "mappings_preview.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("preview differs from %s (run with -update and review the diff):\ngot:\n%s\nwant:\n%s", golden, b.String(), want)
	}
}

// TestMappingsCommands runs validate and preview against the sandboxes over HTTP.
func TestMappingsCommands(t *testing.T) {
	cfg, sb := migratedSandbox(t, 20, nil)

	t.Run("validate passes on the written config and reuses the metadata", func(t *testing.T) {
		out := mustRun(t, "--config", cfg, "--log-level", "error", "mappings", "validate")
		for _, want := range []string{"connection sandbox-salesforce: 5 field(s) ok", "connection sandbox-hubspot: 5 field(s) ok"} {
			if !strings.Contains(out, want) {
				t.Errorf("got %q, want it to contain %q", out, want)
			}
		}
		before := sb.Salesforce.Requests("") + int64(sb.HubSpot.Requests(""))
		mustRun(t, "--config", cfg, "--log-level", "error", "mappings", "validate")
		if after := sb.Salesforce.Requests("") + int64(sb.HubSpot.Requests("")); after != before {
			t.Errorf("a second validate made %d CRM requests, want 0 (stored metadata)", after-before)
		}
		hs := sb.HubSpot.Requests("")
		mustRun(t, "--config", cfg, "--log-level", "error", "mappings", "validate", "--connection", "sandbox-hubspot", "--refresh")
		if sb.HubSpot.Requests("") == hs {
			t.Errorf("--refresh made no HubSpot request")
		}
	})

	t.Run("validate reports every problem and exits 1", func(t *testing.T) {
		data, _ := os.ReadFile(cfg)
		bad := strings.Replace(string(data), "        map_status: plan.status\n", "        map_status: '\"At Risk\"'\n        map_stage: plan.status\n        hs_object_id: plan.id\n        map_next_step: {value: plan.name, plan: no-such-template}\n", 1)
		bad = strings.Replace(bad, "        map_next_step: {value: 'plan.next_action?.title ?? \"\"', truncate: true}\n", "", 1)
		bad = strings.Replace(bad, "map_plan_url]", "map_plan_url, map_stage, hs_object_id]", 1)
		path := filepath.Join(t.TempDir(), "bad.yaml")
		os.WriteFile(path, []byte(bad), 0o600)
		code, out, errOut := runCLI(t, "--config", path, "--log-level", "error", "mappings", "validate", "--connection", "sandbox-hubspot")
		if code != 1 || !strings.Contains(errOut, "4 mapping problem(s)") {
			t.Fatalf("got exit %d, stdout %q, stderr %q; want 1 and four problems", code, out, errOut)
		}
		for _, want := range []string{
			`connection sandbox-hubspot: fields.map_status: "At Risk" (a constant) is not a value of the restricted picklist`,
			`connection sandbox-hubspot: fields.map_stage: no such field on the CRM's deal object (line `,
			`connection sandbox-hubspot: fields.hs_object_id: the CRM field is read-only (not updateable) (line `,
			`connection sandbox-hubspot: fields.map_next_step.plan: no template "no-such-template" has been imported (mapsync templates import), so no deal has its plan (line `,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("got %q, want it to contain %q", out, want)
			}
		}
	})

	t.Run("preview of a deal with a plan", func(t *testing.T) {
		mustRun(t, "--config", cfg, "--log-level", "error", "sync", "run", "--connection", "sandbox-hubspot")
		mustRun(t, "--config", cfg, "--log-level", "error", "templates", "import")
		dealID := firstOpenDeal(t, cfg)
		mustRun(t, "--config", cfg, "--log-level", "error", "plans", "create", "--connection", "sandbox-hubspot", "--deal", dealID, "--template", "default")
		out := mustRun(t, "--config", cfg, "--log-level", "error", "mappings", "preview", "--connection", "sandbox-hubspot", "--deal", dealID, "--output", "json")
		var p mappingPreview
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if len(p.Plans) != 1 || !p.Plans[0].Main || len(p.Fields) != 5 {
			t.Fatalf("got %+v, want one main plan and five fields", p)
		}
		byField := map[string]previewField{}
		for _, f := range p.Fields {
			byField[f.Field] = f
		}
		if f := byField["map_progress"]; f.Value != 0.0 || !f.Write {
			t.Errorf("map_progress: got %+v, want 0 to write", f)
		}
		if f := byField["map_status"]; f.Value != "on_track" || !f.Write {
			t.Errorf("map_status: got %+v, want on_track to write", f)
		}
		if f := byField["map_plan_url"]; f.Value != "http://127.0.0.1:8080/plans/"+p.Plans[0].ID {
			t.Errorf("map_plan_url: got %+v", f)
		}
		if f := byField["map_security_review_date"]; f.Value != nil || f.Write || f.Reason != string(mapping.SkipUnchanged) {
			t.Errorf("map_security_review_date: got %+v, want nothing to write (milestone not reached)", f)
		}
		text := mustRun(t, "--config", cfg, "--log-level", "error", "mappings", "preview", "--connection", "sandbox-hubspot", "--deal", dealID)
		if !strings.Contains(text, "FIELD") || !strings.Contains(text, `map_status`) || !strings.Contains(text, `"on_track"`) {
			t.Errorf("text preview: %s", text)
		}
	})

	t.Run("preview of a deal not pulled", func(t *testing.T) {
		code, _, errOut := runCLI(t, "--config", cfg, "--log-level", "error", "mappings", "preview", "--connection", "sandbox-salesforce", "--deal", "006000000000000AAA")
		if code != 1 || !strings.Contains(errOut, "is not in the database: pull it first") {
			t.Errorf("got %d %q", code, errOut)
		}
	})
}

// TestMappingsRoundTrip writes what the preview says to write, through each connector, pulls the
// deal back and previews again: every field is then unchanged. This is the mapping layer's side of
// "a second push writes nothing": each coerced value is accepted by the CRM and Equal to what the
// pull returns (HubSpot strings, Salesforce dates and percents).
func TestMappingsRoundTrip(t *testing.T) {
	cfg, _ := migratedSandbox(t, 20, nil)
	mustRun(t, "--config", cfg, "--log-level", "error", "templates", "import")
	ctx := t.Context()
	withRuntime := func(fn func(rt *runtime)) {
		t.Helper()
		a := &app{stdout: &strings.Builder{}, stderr: &strings.Builder{}, configPath: cfg}
		rt, err := a.newRuntime(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Close()
		fn(rt)
	}
	for _, name := range []string{"sandbox-salesforce", "sandbox-hubspot"} {
		t.Run(name, func(t *testing.T) {
			mustRun(t, "--config", cfg, "--log-level", "error", "sync", "run", "--connection", name)
			var dealID string
			withRuntime(func(rt *runtime) {
				sums, _, err := rt.store.ListPlans(ctx, plans.PlanFilter{Connection: name, Limit: 1})
				if err != nil || len(sums) == 0 {
					t.Fatalf("no plan made for %s: %v", name, err)
				}
				dealID = sums[0].DealID
				p, err := rt.previewMapping(ctx, name, dealID, false, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				ch := connectors.Change{ID: dealID, Fields: map[string]any{}}
				for _, f := range p.Fields {
					if f.Error != "" {
						t.Fatalf("%s: %s", f.Field, f.Error)
					}
					if f.Write {
						ch.Fields[f.Field] = f.Value
					}
				}
				if len(ch.Fields) < 3 {
					t.Fatalf("got %v to write, want at least progress, status and URL", ch.Fields)
				}
				cn, _ := rt.cfg.Connection(name)
				conn, err := rt.connector(ctx, cn)
				if err != nil {
					t.Fatal(err)
				}
				res, err := conn.Update(ctx, connectors.ObjectDeal, []connectors.Change{ch})
				if err != nil || len(res) != 1 || !res[0].OK {
					t.Fatalf("update %v: %v %+v", ch.Fields, err, res)
				}
			})
			mustRun(t, "--config", cfg, "--log-level", "error", "sync", "run", "--connection", name)
			withRuntime(func(rt *runtime) {
				p, err := rt.previewMapping(ctx, name, dealID, false, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range p.Fields {
					if f.Write || f.Reason != string(mapping.SkipUnchanged) {
						t.Errorf("%s after the write and a pull: got write %v (%s), value %#v, CRM %#v; want unchanged", f.Field, f.Write, f.Reason, f.Value, f.CRM)
					}
				}
			})
		})
	}
}
