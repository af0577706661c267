package mapping

import (
	"github.com/mapsync/mapsync/connectors"
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

// FuzzCRMValues feeds CRM-side strings (as pulled, or as an expression produced them) through
// Equal and Coerce: Equal is reflexive and symmetric, and a value Coerce accepts for a field is
// Equal to what it became (so what we pushed is recognised when it comes back).
func FuzzCRMValues(f *testing.F) {
	for _, s := range [][2]string{
		{"45", "45.0"}, {"2025-03-05T09:30:00.000+0000", "2025-03-05T09:30:00.000Z"}, {"true", "TRUE"},
		{"", " "}, {"On Track", "on track"}, {"2025-03-05", "2025-03-05T00:00:00Z"}, {"1e400", "NaN"},
	} {
		f.Add(s[0], s[1])
	}
	metas := []connectors.FieldMeta{
		{Name: "N", Type: connectors.TypeNumber, Updateable: true, Nillable: true},
		{Name: "D", Type: connectors.TypeDate, Updateable: true, Nillable: true},
		{Name: "T", Type: connectors.TypeDateTime, Updateable: true, Nillable: true},
		{Name: "B", Type: connectors.TypeBool, Updateable: true, Nillable: true},
		{Name: "S", Type: connectors.TypeString, Length: 20, Updateable: true, Nillable: true},
		{Name: "P", Type: connectors.TypePicklist, Options: []string{"On Track", "45"}, Restricted: true, Updateable: true, Nillable: true},
		{Name: "M", Type: connectors.TypeMultiPicklist, Options: []string{"a", "b"}, Restricted: true, Updateable: true, Nillable: true},
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if !Equal(a, a) {
			t.Fatalf("Equal(%q, %q) is false", a, a)
		}
		if Equal(a, b) != Equal(b, a) {
			t.Fatalf("Equal(%q, %q) is not symmetric", a, b)
		}
		for _, m := range metas {
			v, err := Coerce(m, a)
			if err != nil {
				continue
			}
			if m.Type == connectors.TypeDate || m.Type == connectors.TypeDateTime {
				continue // a datetime written to a date field keeps only its day
			}
			if m.Type == connectors.TypeBool && a == "" {
				continue // an empty checkbox is false
			}
			if !Equal(a, v) {
				t.Fatalf("%s: Coerce(%q) = %#v, which Equal does not match with its input", m.Type, a, v)
			}
		}
	})
}
