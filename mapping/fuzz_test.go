package mapping

import (
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzSpec feeds arbitrary push sections through decoding, Compile, Check and Evaluate: none may
// panic, a failed Compile must say why, and a compiled spec must marshal to YAML that compiles
// again to the same spec.
func FuzzSpec(f *testing.F) {
	for _, seed := range []string{
		issueSpec,
		"fields:\n  A__c: plan.percent_complete\n",
		"when: 'true'\nconflict: keep_crm_edits\nfields:\n  A__c: {value: plan.status, if: empty, plan: sec, truncate: true}\n",
		"fields:\n  A__c: 'coalesce(deal.X, \"a\") + join([\"b\"], \",\")'\n",
		"fields: [1, 2]\n",
		"fields:\n  A__c: {value: [x]}\n",
		"- a\n",
		"fields:\n  A__c: 'let x = plan.url; x + \"?\"'\n",
	} {
		f.Add(seed)
	}
	env := NewEnv(map[string]any{"X": 1.0, "Name": "Acme"}, testPlan(), nil, now, "https://map.example.com")
	f.Fuzz(func(t *testing.T, src string) {
		var s Spec
		if err := yaml.Unmarshal([]byte(src), &s); err != nil {
			return
		}
		m, err := Compile(s)
		if err != nil {
			ps, ok := err.(Problems)
			if !ok || len(ps) == 0 {
				t.Fatalf("Compile failed without problems: %v", err)
			}
			for _, p := range ps {
				if p.Message == "" {
					t.Fatalf("problem without a message: %+v", p)
				}
			}
			return
		}
		_ = Check(m, opportunity)
		ds, _ := m.Evaluate(env)
		CoerceAll(ds, opportunity)
		out, err := yaml.Marshal(m.Spec())
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var again Spec
		if err := yaml.Unmarshal(out, &again); err != nil {
			t.Fatalf("unmarshal own output %q: %v", out, err)
		}
		if _, err := Compile(again); err != nil {
			t.Fatalf("own output %q does not compile: %v", out, err)
		}
	})
}
