package plans

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
)

// CompileRule compiles a selection rule against RuleEnv with CompileExpr (the expr setup mappings
// share); the rule must return a bool. A problem wraps an *ExprError.
func CompileRule(rule string) (*vm.Program, error) {
	prog, err := CompileExpr(rule, RuleEnv{}, expr.AsBool())
	if err != nil {
		return nil, fmt.Errorf("compile rule: %w", err)
	}
	return prog, nil
}

// Selector picks templates for deals by their selection rules. Build it once per set of templates
// with NewSelector; it is safe for concurrent use.
type Selector struct {
	entries []selectorEntry
}

type selectorEntry struct {
	t    *Template
	prog *vm.Program
	// parts are the rule's top-level && terms, compiled one by one to say which one a deal
	// fails (Miss); nil when they do not compile alone.
	parts []rulePart
}

// rulePart is one term of a rule's top-level conjunction, with the deal values it reads.
type rulePart struct {
	src    string
	prog   *vm.Program
	values []ruleValue
}

// ruleValue is a value a term reads, such as deal.amount, shown when the term is false.
type ruleValue struct {
	src  string
	prog *vm.Program
}

// NewSelector compiles the selection rules of templates. Templates without a Selection are kept
// out (they are used only when asked for by key). A rule that does not compile is an error naming
// its template.
func NewSelector(templates []*Template) (*Selector, error) {
	s := &Selector{}
	var errs []error
	for _, t := range templates {
		if t.Selection == nil {
			continue
		}
		prog, err := CompileRule(t.Selection.Rule)
		if err != nil {
			errs = append(errs, fmt.Errorf("template %s: %w", t.Key, err))
			continue
		}
		s.entries = append(s.entries, selectorEntry{t: t, prog: prog, parts: ruleParts(t.Selection.Rule)})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortStableFunc(s.entries, func(a, b selectorEntry) int {
		if c := cmp.Compare(b.t.Selection.Priority, a.t.Selection.Priority); c != 0 {
			return c
		}
		return cmp.Compare(a.t.Key, b.t.Key)
	})
	return s, nil
}

// Match returns the templates whose rule matches deal at now, highest priority first (ties by
// key). A template limited to other connections does not match. A rule that fails to evaluate for
// the deal (e.g. comparing a missing custom field with a number) counts as no match. When nothing
// matches the error is a *NoMatchError (errors.Is ErrNoTemplate) saying, for each template tried,
// why it did not match.
func (s *Selector) Match(deal Deal, now time.Time) ([]*Template, error) {
	env := NewRuleEnv(deal, now)
	var (
		out  []*Template
		errs []error
	)
	for _, e := range s.entries {
		if c := e.t.Selection.Connections; len(c) > 0 && !slices.Contains(c, deal.ConnectionName) {
			continue
		}
		v, err := RunExpr(e.prog, env)
		if err != nil {
			errs = append(errs, fmt.Errorf("template %s: %w", e.t.Key, err))
			continue
		}
		if ok, _ := v.(bool); ok {
			out = append(out, e.t)
		}
	}
	if len(out) == 0 {
		return nil, &NoMatchError{Connection: deal.ConnectionName, DealID: deal.ID, RuleErrors: errs, explain: func() []Miss {
			misses := make([]Miss, 0, len(s.entries))
			for _, e := range s.entries {
				misses = append(misses, Miss{Template: e.t.Key, Reason: e.why(env, deal.ConnectionName)})
			}
			return misses
		}}
	}
	return out, nil
}

// why says why the entry's rule does not match: the connections it is limited to, the first
// term of its conjunction that is false (with the values that term reads), or the rule's error.
func (e selectorEntry) why(env RuleEnv, connection string) string {
	if c := e.t.Selection.Connections; len(c) > 0 && !slices.Contains(c, connection) {
		return "only for connections " + strings.Join(c, ", ")
	}
	if _, err := RunExpr(e.prog, env); err != nil {
		return "rule failed: " + err.Error()
	}
	for _, p := range e.parts {
		v, err := RunExpr(p.prog, env)
		if ok, _ := v.(bool); ok && err == nil {
			continue
		}
		var vals []string
		for _, rv := range p.values {
			if x, err := RunExpr(rv.prog, env); err == nil {
				vals = append(vals, rv.src+" = "+showValue(x))
			}
		}
		why := p.src + " is false"
		if len(vals) > 0 {
			why += " (" + strings.Join(vals, ", ") + ")"
		}
		return why
	}
	return "rule is false"
}

// ruleParts splits a rule at its top-level && into terms compiled one by one, each with the
// member values it reads (deal.amount, deal.fields.X); nil when a term does not compile alone.
func ruleParts(rule string) []rulePart {
	tree, err := parser.Parse(rule)
	if err != nil {
		return nil
	}
	var terms []ast.Node
	var split func(n ast.Node)
	split = func(n ast.Node) {
		if b, ok := n.(*ast.BinaryNode); ok && (b.Operator == "&&" || b.Operator == "and") {
			split(b.Left)
			split(b.Right)
			return
		}
		terms = append(terms, n)
	}
	split(tree.Node)
	parts := make([]rulePart, 0, len(terms))
	for _, n := range terms {
		src := n.String()
		prog, err := CompileExpr(src, RuleEnv{}, expr.AsBool())
		if err != nil {
			return nil
		}
		part := rulePart{src: src, prog: prog}
		var mv memberVisitor
		ast.Walk(&n, &mv)
		for _, m := range mv.members {
			if slices.ContainsFunc(mv.members, func(o string) bool { return strings.HasPrefix(o, m+".") }) {
				continue // deal.fields when deal.fields.X is read
			}
			if vp, err := CompileExpr(m, RuleEnv{}); err == nil && len(part.values) < 4 {
				part.values = append(part.values, ruleValue{src: m, prog: vp})
			}
		}
		parts = append(parts, part)
	}
	return parts
}

// memberVisitor collects the distinct member reads (deal.amount) of an expression.
type memberVisitor struct{ members []string }

func (v *memberVisitor) Visit(n *ast.Node) {
	if m, ok := (*n).(*ast.MemberNode); ok && !m.Method {
		if s := m.String(); !slices.Contains(v.members, s) {
			v.members = append(v.members, s)
		}
	}
}

// showValue prints a rule value as a rule would write it: strings quoted, nil as nil.
func showValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case string:
		return strconv.Quote(x)
	}
	return fmt.Sprint(v)
}

// Select returns the deal's main template: the highest-priority matching template that is not
// additive, or, when only additive templates match, the first of them.
func (s *Selector) Select(deal Deal, now time.Time) (*Template, error) {
	c, err := s.Choose(deal, now)
	if err != nil {
		return nil, err
	}
	return c[0], nil
}

// Choose returns every template the deal gets a plan from: the main one (see Select) first, then
// each matching additive template by priority.
func (s *Selector) Choose(deal Deal, now time.Time) ([]*Template, error) {
	m, err := s.Match(deal, now)
	if err != nil {
		return nil, err
	}
	out := make([]*Template, 0, 1)
	for _, t := range m {
		if !t.Selection.Additive {
			out = append(out, t)
			break
		}
	}
	for _, t := range m {
		if t.Selection.Additive {
			out = append(out, t)
		}
	}
	return out, nil
}
