package plans

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseTemplate feeds arbitrary template documents (YAML or JSON, as `templates import` and
// the API read them) through Parse: no panic; a refusal is a *ValidationError whose every problem
// says something; an accepted template validates again and its rule compiled.
func FuzzParseTemplate(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "examples", "templates", "*.yaml"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"", "key: x\n", "---\nkey: a\n---\nkey: b\n", "{\"key\": \"x\", \"phases\": []}", "key: [1\n",
		"key: t\nname: T\nselection: {rule: 'deal.amount >'}\nphases: [{name: P, actions: [{title: A}]}]\n",
		"key: t\nname: T\nphases: [{name: P, actions: [{title: A, due: {days: -1e309}}]}]\n",
		"a: &a [*a, *a]\n", "key: t\nname: T\nphases: [{name: P, actions: [{title: '{{deal.name | }}'}]}]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tpl, err := Parse(data)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				return // a decode error with its cause (fmt.Errorf("decode template: %w"))
			}
			if len(ve.Problems) == 0 {
				t.Fatalf("refused without a problem: %v", err)
			}
			for _, p := range ve.Problems {
				if p.Message == "" {
					t.Fatalf("problem without a message: %+v", p)
				}
			}
			return
		}
		if tpl == nil {
			t.Fatal("accepted without a template")
		}
		if err := tpl.Validate(); err != nil {
			t.Fatalf("accepted template fails Validate: %v", err)
		}
	})
}
