package mapping

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/mapsync/mapsync/plans"
)

// Mapping is a compiled Spec: every expression checked against Env and compiled once. It is
// immutable and safe for concurrent use.
type Mapping struct {
	spec   Spec
	when   *vm.Program
	fields []field
}

type field struct {
	FieldSpec
	prog *vm.Program
}

// Problems is every problem of a mapping; it is the error Compile and Check results come in.
type Problems []Problem

// Error lists the problems, one a line.
func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap returns the problems as errors, so errors.As finds an *plans.ExprError (and through it
// expr's *file.Error) in any of them.
func (ps Problems) Unwrap() []error {
	out := make([]error, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

// Compile validates spec (Spec.Validate) and compiles its expressions with plans.CompileExpr
// against Env: `when` must be a bool, every field's value any type (Check matches types against
// the CRM's fields). On failure the error is Problems, every problem found; an expression's
// problem wraps a *plans.ExprError with its line (of the YAML source when the spec came from
// YAML) and column.
func Compile(spec Spec) (*Mapping, error) {
	ps := Problems(spec.Validate())
	m := &Mapping{spec: spec}
	if strings.TrimSpace(spec.When) != "" {
		prog, err := plans.CompileExpr(spec.When, Env{}, expr.AsBool())
		if err != nil {
			ps = append(ps, exprProblem("when", "", spec.WhenPos, err))
		}
		m.when = prog
	}
	for _, f := range spec.Fields {
		if strings.TrimSpace(f.Value) == "" {
			continue // reported by Validate
		}
		prog, err := plans.CompileExpr(f.Value, Env{})
		if err != nil {
			ps = append(ps, exprProblem("fields."+f.Name, f.Name, f.Pos, err))
			continue
		}
		m.fields = append(m.fields, field{FieldSpec: f, prog: prog})
	}
	if len(ps) > 0 {
		slices.SortStableFunc(ps, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
		return nil, ps
	}
	return m, nil
}

// MustCompile is Compile that panics; for tests and examples.
func MustCompile(spec Spec) *Mapping {
	m, err := Compile(spec)
	if err != nil {
		panic(err)
	}
	return m
}

func exprProblem(path, fieldName string, pos Pos, err error) Problem {
	line := pos.Line
	var ee *plans.ExprError
	if errors.As(err, &ee) && line > 0 && ee.Line > 1 {
		line += ee.Line - 1
	}
	return Problem{Path: path, Field: fieldName, Line: line, Message: exprWords(err.Error()), Err: err}
}

// envTypes are the Go names of Env's types as expr words them, and how an admin knows them.
var envTypes = strings.NewReplacer(
	"type mapping.PlanView", "plan", "mapping.PlanView", "plan",
	"type *mapping.NextAction", "plan.next_action", "type mapping.NextAction", "plan.next_action",
	"type mapping.MilestoneView", "a milestone", "type *mapping.Activity", "plan.last_activity",
	"type mapping.Activity", "plan.last_activity", "type mapping.Env", "the mapping",
)

// exprWords rewrites expr's message in the names an admin writes, and lists plan's names when
// the expression named one it lacks.
func exprWords(msg string) string {
	out := envTypes.Replace(msg)
	if strings.HasPrefix(out, "plan has no field ") {
		out += " (plan has: " + strings.Join(exprNames(reflect.TypeOf(PlanView{})), ", ") + ")"
	}
	return out
}

// exprNames lists the expr tags of a struct's fields.
func exprNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("expr"); tag != "" {
			out = append(out, tag)
		}
	}
	return out
}

// Spec returns the spec the mapping was compiled from (it marshals back to its YAML).
func (m *Mapping) Spec() Spec { return m.spec }

// Conflict returns the spec's conflict mode with the default applied.
func (m *Mapping) Conflict() Conflict {
	if m.spec.Conflict == "" {
		return ConflictOverwrite
	}
	return m.spec.Conflict
}

// KeepCRMEdits reports whether the conflict mode is keep_crm_edits (Diff's keepCRMEdits).
func (m *Mapping) KeepCRMEdits() bool { return m.Conflict() == ConflictKeepCRMEdits }

// Fields returns the mapped CRM field names in spec order.
func (m *Mapping) Fields() []string {
	out := make([]string, len(m.fields))
	for i, f := range m.fields {
		out[i] = f.Name
	}
	return out
}

// Reason says why a field is not written.
type Reason string

// The reasons a field is not written. Evaluate sets the first three; Coerce sets SkipInvalid;
// Diff adds the others.
const (
	// SkipWhenFalse: the spec's when expression is false for the plan the field reads.
	SkipWhenFalse Reason = "when_false"
	// SkipNoPlan: the deal has no plan from the field's template (or no main plan).
	SkipNoPlan Reason = "no_plan"
	// SkipInvalid: the expression failed for this record, or its value does not fit the CRM
	// field (Desired.Err says why). A per-record error, not a write.
	SkipInvalid Reason = "invalid"
	// SkipUnchanged: the CRM already holds the value (or, when its value is unknown, the value
	// equals what was last pushed).
	SkipUnchanged Reason = "unchanged"
	// SkipCRMNotEmpty: policy if_empty and the CRM field has a value.
	SkipCRMNotEmpty Reason = "crm_not_empty"
	// SkipCRMEdited: conflict keep_crm_edits and the CRM value differs from what was last
	// pushed: a person changed it.
	SkipCRMEdited Reason = "crm_edited"
)

// Desired is one mapped field's value for one record.
type Desired struct {
	// Field is the CRM field name.
	Field string
	// Expr is the field's expression (for previews and logs).
	Expr string
	// Value is the computed value: nil, string, bool, an int or float64, time.Time (pointers are
	// dereferenced; a nil pointer is nil), or whatever else the expression returned. After
	// Coerce / CoerceAll it is the CRM's form: nil, string, float64 or bool.
	Value any
	// Policy is the field's write policy.
	Policy Policy
	// Plan is the template key of the plan read; "" for the main plan.
	Plan string
	// Truncate is the field's truncate setting (used by Desired.Coerce).
	Truncate bool
	// Skip is set when the field must not be written whatever the CRM holds (SkipWhenFalse,
	// SkipNoPlan, SkipInvalid); "" otherwise.
	Skip Reason
	// Err says why, for SkipInvalid.
	Err error
}

// Evaluate computes every mapped field for the deal and plans in env, one Desired per field in
// spec order. A field is evaluated against the plan it reads (Env.PlanFor): when the deal has no
// such plan it is SkipNoPlan; when the spec's `when` is false for that plan, SkipWhenFalse; when
// the expression fails (e.g. a CRM field of an unexpected type), SkipInvalid with Err. The
// error joins the failures (each naming its field), for callers that treat any as fatal; the
// slice is complete either way. Evaluate is pure and safe for concurrent use.
func (m *Mapping) Evaluate(env *Env) ([]Desired, error) {
	out := make([]Desired, 0, len(m.fields))
	type whenResult struct {
		ok  bool
		err error
	}
	whens := map[string]whenResult{}
	var errs []error
	for _, f := range m.fields {
		d := Desired{Field: f.Name, Expr: f.Value, Policy: f.policy(), Plan: f.Plan, Truncate: f.Truncate}
		p := env.PlanFor(f.Plan)
		if p == nil {
			d.Skip = SkipNoPlan
			out = append(out, d)
			continue
		}
		e := env.with(p)
		if m.when != nil {
			w, ok := whens[f.Plan]
			if !ok {
				v, err := plans.RunExpr(m.when, e)
				b, _ := v.(bool)
				w = whenResult{ok: b, err: err}
				whens[f.Plan] = w
			}
			if w.err != nil {
				d.Skip, d.Err = SkipInvalid, fmt.Errorf("when: %w", w.err)
				errs = append(errs, fmt.Errorf("%s: %w", f.Name, d.Err))
				out = append(out, d)
				continue
			}
			if !w.ok {
				d.Skip = SkipWhenFalse
				out = append(out, d)
				continue
			}
		}
		v, err := plans.RunExpr(f.prog, e)
		if err != nil {
			d.Skip, d.Err = SkipInvalid, err
			errs = append(errs, fmt.Errorf("%s: %w", f.Name, err))
		} else {
			d.Value = normalize(v)
		}
		out = append(out, d)
	}
	return out, errors.Join(errs...)
}

// normalize dereferences pointers (nil becomes nil) so values compare and print plainly.
func normalize(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int, float64, time.Time:
		return v
	case *time.Time:
		if x == nil {
			return nil
		}
		return *x
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		return normalize(rv.Elem().Interface())
	}
	return v
}
