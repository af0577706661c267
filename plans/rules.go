package plans

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/expr-lang/expr"
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
		s.entries = append(s.entries, selectorEntry{t: t, prog: prog})
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
// matches the error is a *NoMatchError (errors.Is ErrNoTemplate) carrying those rule errors.
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
		return nil, &NoMatchError{Connection: deal.ConnectionName, DealID: deal.ID, RuleErrors: errs}
	}
	return out, nil
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
