// Package bench is `mapsync bench`: named scenarios that measure mapsync's own code on the CRM
// sandboxes and a real database, each figure printed with its unit and the limit or target it is
// held against. Every figure is measured in the run that prints it, on the machine that runs it;
// nothing here is a constant to be quoted.
//
// # Adding a scenario
//
// A scenario lives in a file of its own in this package (pull.go, push.go, e2e.go, webhooks.go,
// ...) and registers itself in an init function:
//
//	func init() {
//		bench.Register(bench.Scenario{
//			Name: "pull",
//			Doc:  "a full pull of both sandboxes: records/s against PostgreSQL's COPY of the same rows",
//			Run:  runPull,
//		})
//	}
//
//	func runPull(ctx context.Context, env *bench.Env) (bench.Result, error) {
//		st, err := env.Stack(ctx, bench.StackOptions{Deals: env.Scaled(100_000)})
//		if err != nil {
//			return bench.Result{}, err
//		}
//		defer st.Close()
//		env.Progressf("pull: %d deals", ...)          // progress goes to stderr
//		...
//		var r bench.Result
//		r.Add(bench.Figure{Key: "records_per_s", Value: rps, Unit: "records/s"}.AtLeast(0.8*copyRPS, "0.8 × COPY"))
//		r.Add(bench.Figure{Key: "peak_rss_mb", Value: mb, Unit: "MB"}.Below(200, "target"))
//		return r, nil
//	}
//
// Rules:
//   - Key is the figure's JSON name under the scenario's name (`mapsync bench --json` prints
//     {"pull": {"records_per_s": ...}, ...}); keep the names issue #13 gives.
//   - Size the work with env.Scaled(n) so --scale shrinks it, and start CRMs with env.Stack, which
//     applies --crm-latency, gives the scenario a fresh database (its own PostgreSQL schema or
//     SQLite file, dropped when the stack closes) and the runtime `mapsync serve` and `sync run`
//     use (Stack's methods). A wiring the interface lacks is one more method on Stack here and on
//     the benchStack in cmd/mapsync (put it in a file of your own there, e.g. bench_push.go).
//   - Say what takes long on stderr with env.Progressf; never print to stdout.
//   - A limit the machine sets (PostgreSQL's COPY of the same rows) is measured in the same run,
//     not written down: a figure's target is either a constant of the issue (2,000 req/s) or a
//     measured figure times a factor.
//   - Pictures: put the series in Result.Charts; with --out the command writes each as
//     DIR/<File>.svg.
package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"
)

// Scenario is one named measurement.
type Scenario struct {
	// Name is what the command line and the JSON output call it (lower case, no spaces).
	Name string
	// Doc says in one line what it measures (shown by `mapsync bench --help`).
	Doc string
	// Run measures; it returns the figures, or an error when it could not measure.
	Run func(ctx context.Context, env *Env) (Result, error)
}

var (
	regMu     sync.Mutex
	scenarios = map[string]Scenario{}
)

// order is the order scenarios run and print in; registered scenarios not named here follow,
// by name.
var order = []string{"pull", "push", "webhooks", "e2e", "instantiate", "ratelimit"}

// Register adds a scenario; it panics on a duplicate or empty name (a programming error, found at
// start-up).
func Register(s Scenario) {
	regMu.Lock()
	defer regMu.Unlock()
	if s.Name == "" || s.Run == nil {
		panic("bench: scenario needs a name and a Run")
	}
	if _, dup := scenarios[s.Name]; dup {
		panic("bench: scenario " + s.Name + " registered twice")
	}
	scenarios[s.Name] = s
}

// Scenarios returns every registered scenario in run order.
func Scenarios() []Scenario {
	regMu.Lock()
	defer regMu.Unlock()
	var out []Scenario
	for _, n := range order {
		if s, ok := scenarios[n]; ok {
			out = append(out, s)
		}
	}
	var rest []string
	for n := range scenarios {
		if !slices.Contains(order, n) {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	for _, n := range rest {
		out = append(out, scenarios[n])
	}
	return out
}

// Select returns the named scenarios in run order (all when names is empty), or an error naming
// the unknown ones and the known ones.
func Select(names []string) ([]Scenario, error) {
	all := Scenarios()
	if len(names) == 0 {
		return all, nil
	}
	known := map[string]bool{}
	var list []string
	for _, s := range all {
		known[s.Name] = true
		list = append(list, s.Name)
	}
	want := map[string]bool{}
	var unknown []string
	for _, n := range names {
		if !known[n] {
			unknown = append(unknown, n)
		}
		want[n] = true
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("unknown scenario %q: known scenarios are %v", unknown, list)
	}
	var out []Scenario
	for _, s := range all {
		if want[s.Name] {
			out = append(out, s)
		}
	}
	return out, nil
}

// Figure is one measured value.
type Figure struct {
	// Key is the JSON name under the scenario ("records_per_s").
	Key string
	// Value is what was measured.
	Value float64
	// Unit says what Value counts ("records/s", "ms", "%").
	Unit string
	// Target describes the limit or target it is held against ("≥ 2000 (target)"); empty: none.
	Target string
	// Pass is whether Value meets Target; nil when there is no target.
	Pass *bool
}

// AtLeast holds f against a lower bound; what says where the bound comes from ("target",
// "0.8 × COPY").
func (f Figure) AtLeast(bound float64, what string) Figure {
	ok := f.Value >= bound
	f.Target, f.Pass = "≥ "+FormatValue(bound)+targetWhat(what), &ok
	return f
}

// Below holds f against an exclusive upper bound.
func (f Figure) Below(bound float64, what string) Figure {
	ok := f.Value < bound
	f.Target, f.Pass = "< "+FormatValue(bound)+targetWhat(what), &ok
	return f
}

// AtMost holds f against an inclusive upper bound (AtMost(0) for "none").
func (f Figure) AtMost(bound float64, what string) Figure {
	ok := f.Value <= bound
	f.Target, f.Pass = "≤ "+FormatValue(bound)+targetWhat(what), &ok
	return f
}

// Limit shows the limit a figure is measured against, without judging it (e.g. the COPY rate
// itself, or the minimum API calls).
func (f Figure) Limit(what string) Figure {
	f.Target = what
	return f
}

func targetWhat(what string) string {
	if what == "" {
		return ""
	}
	return " (" + what + ")"
}

// FormatValue prints a figure compactly: integers as integers, others with three significant
// digits after the point where small.
func FormatValue(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Sprint(v)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

// Result is what a scenario measured.
type Result struct {
	Figures []Figure
	// Notes are printed under the table (what was measured how, what is missing).
	Notes []string
	// Charts are written as SVG with --out.
	Charts []Chart
	// Took is the scenario's wall time, set by Run.
	Took time.Duration
}

// Add appends figures.
func (r *Result) Add(fs ...Figure) { r.Figures = append(r.Figures, fs...) }

// Notef appends a note.
func (r *Result) Notef(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// Chart is a picture of a scenario's series.
type Chart struct {
	// File is the SVG's name without extension (docs/bench/<File>.svg).
	File   string
	Title  string
	XLabel string
	YLabel string
	// Kind is how the series are drawn.
	Kind ChartKind
	// Series are lines (ChartLine: X and Y) or samples (ChartHistogram: Y only, binned).
	Series []Series
}

// ChartKind is how a chart draws its series.
type ChartKind int

const (
	// ChartLine draws each series as a line through its (X, Y) points.
	ChartLine ChartKind = iota
	// ChartHistogram bins each series' Y values and draws the counts.
	ChartHistogram
)

// Series is one line or sample set of a chart.
type Series struct {
	Name string
	X, Y []float64
}

// Outcome is one scenario's run: its result or the error that stopped it.
type Outcome struct {
	Scenario string
	Result   Result
	Err      error
}
