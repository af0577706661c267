package plans

import (
	"os"
	"path/filepath"
	"testing"
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
	for _, name := range []string{"enterprise-new-business.yaml", "mid-market.yaml", "renewal.yaml", "default.yaml"} {
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
		if name != "default.yaml" && tpl.Selection.Priority <= lowest {
			t.Errorf("%s: got priority %d, want above the default's %d", name, tpl.Selection.Priority, lowest)
		}
	}
}
