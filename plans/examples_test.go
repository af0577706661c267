package plans

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// loadExamples parses every template under examples/templates.
func loadExamples(t testing.TB) map[string]*Template {
	t.Helper()
	files, err := filepath.Glob("../examples/templates/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("glob examples: %v (%d files)", err, len(files))
	}
	out := map[string]*Template{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		tpl, err := Parse(data)
		if err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		out[filepath.Base(f)] = tpl
	}
	return out
}

func TestExampleTemplates(t *testing.T) {
	t.Parallel()
	ex := loadExamples(t)
	for _, name := range []string{"enterprise-new-business.yaml", "mid-market.yaml", "renewal.yaml", "default.yaml", "security-review.yaml"} {
		if ex[name] == nil {
			t.Errorf("got no %s, want it among the examples", name)
		}
	}
	if n := ex["enterprise-new-business.yaml"].ActionCount(); n < 38 || n > 45 {
		t.Errorf("enterprise actions: got %d, want about 40", n)
	}
	lowest := ex["default.yaml"].Selection.Priority
	for name, tpl := range ex {
		if tpl.Selection == nil {
			t.Errorf("%s: got no selection rule, want one", name)
			continue
		}
		if name != "default.yaml" && !tpl.Selection.Additive && tpl.Selection.Priority <= lowest {
			t.Errorf("%s: got priority %d, want above the default's %d", name, tpl.Selection.Priority, lowest)
		}
	}
}

func TestExampleTemplatesRoundTrip(t *testing.T) {
	t.Parallel()
	for name, tpl := range loadExamples(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, err := yaml.Marshal(tpl)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse(out)
			if err != nil {
				t.Fatalf("parse exported: %v", err)
			}
			if back.Hash() != tpl.Hash() {
				t.Errorf("hash: got %s after export and import, want %s", back.Hash(), tpl.Hash())
			}
		})
	}
}

// TestEveryOpenDemoDealGetsAPlan walks the open stages of the sandbox pipelines (mirroring
// sandbox/fakedata Pipelines, which plans may not import) and checks each deal type and a range of
// amounts gets a template, and that the plan can be made with and without contacts.
func TestEveryOpenDemoDealGetsAPlan(t *testing.T) {
	t.Parallel()
	var all []*Template
	for _, tpl := range loadExamples(t) {
		all = append(all, tpl)
	}
	sel, err := NewSelector(all)
	if err != nil {
		t.Fatal(err)
	}
	stages := map[string][]string{
		"default":  {"Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Proposal/Price Quote", "Negotiation/Review"},
		"renewals": {"Renewal Due", "Renewal Negotiation"},
	}
	now := time.Date(2025, 3, 7, 12, 0, 0, 0, time.UTC)
	for pipeline, names := range stages {
		for _, stage := range names {
			for _, typ := range []string{"New Business", "Existing Business", "Renewal"} {
				for _, amount := range []float64{5000, 99999, 100000, 2000000} {
					d := testDeal()
					d.Pipeline, d.Stage, d.Type, d.Amount = pipeline, stage, typ, amount
					if amount > 1e6 {
						d.Contacts, d.Owner, d.CloseDate = nil, nil, Date{}
					}
					chosen, err := sel.Choose(d, now)
					if err != nil {
						t.Errorf("%s/%s/%s/%v: got %v, want a template", pipeline, stage, typ, amount, err)
						continue
					}
					if chosen[0].Selection.Additive {
						t.Errorf("%s/%s/%s/%v: main template %s is additive", pipeline, stage, typ, amount, chosen[0].Key)
					}
					if review := len(chosen) == 2 && chosen[1].Key == "security-review"; review != (amount >= 500000) || len(chosen) > 2 {
						t.Errorf("%s/%s/%s/%v: chose %d templates, want the security review exactly for 500k and more", pipeline, stage, typ, amount, len(chosen))
					}
					for _, tpl := range chosen {
						if _, _, err := Instantiate(tpl, d, now, time.UTC); err != nil {
							t.Errorf("%s/%s/%s/%v: instantiate %s: %v", pipeline, stage, typ, amount, tpl.Key, err)
						}
					}
				}
			}
		}
	}
}

// TestTemplatesReadmeExample keeps the format shown in examples/templates/README.md valid.
func TestTemplatesReadmeExample(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../examples/templates/README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(data), "```yaml\n")
	block, _, _ = strings.Cut(block, "```")
	if !ok || block == "" {
		t.Fatal("got no yaml block in the README, want one")
	}
	if _, err := Parse([]byte(block)); err != nil {
		t.Errorf("README example: %v", err)
	}
}
