package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mapsync/mapsync/plans"
)

func init() {
	Register(Scenario{Name: "zz-test", Run: func(context.Context, *Env) (Result, error) { return Result{}, nil }})
}

// TestSelect: names choose scenarios in run order; unknown names are refused with the known ones.
func TestSelect(t *testing.T) {
	all, err := Select(nil)
	if err != nil || len(all) == 0 {
		t.Fatalf("all: %v %v", all, err)
	}
	got, err := Select([]string{"zz-test", "instantiate"})
	if err != nil || len(got) != 2 || got[0].Name != "instantiate" || got[1].Name != "zz-test" {
		t.Fatalf("got %v, %v; want instantiate (in the run order) then zz-test (unlisted: after)", got, err)
	}
	if _, err := Select([]string{"instantiate", "nope"}); err == nil || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), "instantiate") {
		t.Fatalf("unknown: %v", err)
	}
}

// TestFigureTargets: each bound judges the value and says what it is.
func TestFigureTargets(t *testing.T) {
	for _, tc := range []struct {
		f      Figure
		target string
		pass   bool
	}{
		{Figure{Value: 2000}.AtLeast(2000, "target"), "≥ 2000 (target)", true},
		{Figure{Value: 1999.5}.AtLeast(2000, "target"), "≥ 2000 (target)", false},
		{Figure{Value: 49.9}.Below(50, ""), "< 50", true},
		{Figure{Value: 50}.Below(50, ""), "< 50", false},
		{Figure{Value: 0}.AtMost(0, "none"), "≤ 0 (none)", true},
		{Figure{Value: 1}.AtMost(0, "none"), "≤ 0 (none)", false},
	} {
		if tc.f.Target != tc.target || tc.f.Pass == nil || *tc.f.Pass != tc.pass {
			t.Errorf("%v: got %q %v, want %q %v", tc.f.Value, tc.f.Target, *tc.f.Pass, tc.target, tc.pass)
		}
	}
	if f := (Figure{Value: 3}).Limit("minimum"); f.Pass != nil || f.Target != "minimum" {
		t.Errorf("Limit judged: %+v", f)
	}
}

// TestInstantiateTemplate: the scenario's template is valid and has the 40 actions it claims.
func TestInstantiateTemplate(t *testing.T) {
	tpl, err := plans.Parse(instantiateTemplate())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ph := range tpl.Phases {
		n += len(ph.Actions)
	}
	if n != instantiateActions {
		t.Fatalf("template has %d actions, want %d", n, instantiateActions)
	}
}

// TestWriteSVG: line and histogram charts come out as SVG documents with their title and labels.
func TestWriteSVG(t *testing.T) {
	dir := t.TempDir()
	for _, ch := range []Chart{
		{File: "line", Title: "records over time", XLabel: "seconds", YLabel: "records/s", Series: []Series{{Name: "pull", X: []float64{0, 1, 2}, Y: []float64{10, 30, 20}}}},
		{File: "hist", Title: "latency", XLabel: "ms", YLabel: "count", Kind: ChartHistogram, Series: []Series{{Name: "e2e", Y: []float64{1, 2, 2, 3, 3, 3, 40}}}},
	} {
		path := filepath.Join(dir, ch.File+".svg")
		if err := WriteSVG(path, ch); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if !strings.Contains(s, "<svg") || !strings.HasSuffix(strings.TrimSpace(s), "</svg>") {
			t.Fatalf("%s is not an SVG document: %.200s", ch.File, s)
		}
		for _, want := range []string{ch.Title, ch.XLabel, ch.YLabel, ch.Series[0].Name} {
			if !strings.Contains(s, want) {
				t.Errorf("%s lacks %q", ch.File, want)
			}
		}
	}
}
