package mapping

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/plans"
)

// knownValues are the values some plan fields can take, so Check can hold them against a
// picklist like constants.
var knownValues = map[string][]string{
	"status": {string(plans.ProgressOnTrack), string(plans.ProgressAtRisk), string(plans.ProgressOffTrack), string(plans.ProgressCompleted), string(plans.ProgressCancelled)},
	"state":  {string(plans.PlanActive), string(plans.PlanClosed), string(plans.PlanCancelled)},
	"side":   {string(plans.SideBuyer), string(plans.SideSeller)},
}

// Check holds a compiled mapping against the CRM's field metadata (from Describe) and returns
// every problem, in spec order, each naming its field (Problem.Field) and path:
//
//   - the field exists on the object (names compare case-insensitively) and is updateable;
//   - the expression's static type fits the field's type: a number for number, currency and
//     percent; a time or a date string (date(), datetime()) for date and datetime; a bool for
//     bool; text (or a number or bool, written as text) for text types and picklists; expressions
//     of unknown type (deal.X) pass and are checked per record by Coerce;
//   - a restricted picklist allows every string the expression can produce: constants in
//     result positions (branches of ?: and ??, coalesce arguments, the values of a map literal
//     indexed, as in {"on_track": "On Track"}[plan.status]) and the known values of
//     plan.status, plan.state and plan.last_activity.side;
//   - such a constant fits the field's length (unless the field truncates).
//
// Values the spec's `when` rules out are not held against a picklist: with `when: plan.status !=
// "cancelled"` (or plan.state != "cancelled", its equivalent), plan.status never writes
// "cancelled". when is read for conjunctions of !=, ==, in and not in against constants.
//
// Problem.Connection is empty; set it with Problems.For.
func Check(m *Mapping, meta []connectors.FieldMeta) Problems {
	idx := MetaIndex(meta)
	excluded := whenExcludes(m.spec.When)
	var ps Problems
	for _, f := range m.fields {
		add := func(format string, args ...any) {
			ps = append(ps, Problem{Path: "fields." + f.Name, Field: f.Name, Line: f.Pos.Line, Message: fmt.Sprintf(format, args...)})
		}
		fm, ok := idx.Lookup(f.Name)
		if !ok {
			msg := "no such field on the CRM's " + string(objectOf(m.spec)) + " object"
			if s := closestField(f.Name, meta); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			add("%s", msg)
			continue
		}
		if !fm.Updateable || fm.Type == connectors.TypeID {
			add("the CRM field is read-only (not updateable)")
			continue
		}
		node := f.prog.Node()
		if got := kindOf(node.Type()); !fits(got, fm.Type) {
			hint := ""
			if got == kindTime {
				hint = " (write date(...) or datetime(...) for its text)"
			}
			add("the expression gives %s; the field is %s%s", got, describeField(fm), hint)
			continue
		}
		consts, _ := resultStrings(node, excluded)
		if (fm.Type == connectors.TypePicklist || fm.Type == connectors.TypeMultiPicklist) && fm.Restricted {
			for _, c := range consts {
				if c.value == "" || slices.Contains(fm.Options, c.value) {
					continue
				}
				add("%s (%s) is not a value of the restricted picklist (allowed: %s)", strconv.Quote(c.value), c.from, options(fm))
			}
		}
		if fm.Length > 0 && !f.Truncate && textual(fm.Type) {
			for _, c := range consts {
				if n := utf8.RuneCountInString(c.value); n > fm.Length {
					add("%s is %d characters; the field holds %d (set truncate: true to cut)", strconv.Quote(plans.TruncateRunes(c.value, 40)), n, fm.Length)
				}
			}
		}
	}
	return ps
}

// For returns the problems with Connection set to name.
func (ps Problems) For(name string) Problems {
	out := slices.Clone(ps)
	for i := range out {
		out[i].Connection = name
	}
	return out
}

func objectOf(s Spec) connectors.Object {
	if s.Object == "" {
		return connectors.ObjectDeal
	}
	return s.Object
}

// A value kind, as Check names it in messages.
const (
	kindUnknown = "a value of unknown type"
	kindText    = "text"
	kindNumber  = "a number"
	kindBool    = "a bool"
	kindTime    = "a time"
	kindList    = "a list"
	kindNil     = "nothing"
)

var timeType = reflect.TypeOf(time.Time{})

func kindOf(t reflect.Type) string {
	if t == nil {
		return kindNil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType || t == reflect.TypeOf(plans.Date{}) {
		return kindTime
	}
	switch t.Kind() {
	case reflect.Interface:
		return kindUnknown
	case reflect.String:
		return kindText
	case reflect.Bool:
		return kindBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return kindNumber
	case reflect.Slice, reflect.Array:
		return kindList
	}
	return t.String()
}

func fits(kind string, ft connectors.FieldType) bool {
	if kind == kindUnknown || kind == kindNil {
		return true
	}
	switch ft {
	case connectors.TypeNumber, connectors.TypeCurrency, connectors.TypePercent:
		return kind == kindNumber
	case connectors.TypeDate, connectors.TypeDateTime:
		return kind == kindTime || kind == kindText
	case connectors.TypeBool:
		return kind == kindBool
	case connectors.TypeMultiPicklist:
		return kind == kindText || kind == kindList
	case connectors.TypeReference:
		return kind == kindText
	}
	return kind == kindText || kind == kindNumber || kind == kindBool
}

func describeField(fm connectors.FieldMeta) string {
	switch fm.Type {
	case connectors.TypeNumber:
		return "a number"
	case connectors.TypeCurrency:
		return "a currency amount (a number)"
	case connectors.TypePercent:
		return "a percent (a number, 45 for 45 %)"
	case connectors.TypeDate:
		return "a date (a time, or date(...))"
	case connectors.TypeDateTime:
		return "a datetime (a time, or datetime(...))"
	case connectors.TypeBool:
		return "a bool"
	case connectors.TypeMultiPicklist:
		return "a multi-select picklist (a list or a ';'-joined text)"
	case connectors.TypeReference:
		return "a reference (a record id as text)"
	}
	return fmt.Sprintf("text (%s)", fm.Type)
}

// resultString is a string the expression can produce, and where it comes from.
type resultString struct {
	value, from string
}

// resultStrings returns the strings an expression can produce that are visible in its source:
// constants in result positions and known plan values. complete is true when those are all it
// can produce (apart from nil).
func resultStrings(n ast.Node, excluded map[string]map[string]bool) (out []resultString, complete bool) {
	switch x := n.(type) {
	case *ast.StringNode:
		return []resultString{{x.Value, "a constant"}}, true
	case *ast.NilNode:
		return nil, true
	case *ast.ConstantNode:
		if s, ok := x.Value.(string); ok {
			return []resultString{{s, "a constant"}}, true
		}
		return nil, x.Value == nil
	case *ast.ConditionalNode:
		a, ca := resultStrings(x.Exp1, excluded)
		b, cb := resultStrings(x.Exp2, excluded)
		return append(a, b...), ca && cb
	case *ast.BinaryNode:
		if x.Operator == "??" {
			a, ca := resultStrings(x.Left, excluded)
			b, cb := resultStrings(x.Right, excluded)
			return append(a, b...), ca && cb
		}
	case *ast.ChainNode:
		return resultStrings(x.Node, excluded)
	case *ast.SequenceNode:
		if len(x.Nodes) > 0 {
			return resultStrings(x.Nodes[len(x.Nodes)-1], excluded)
		}
	case *ast.VariableDeclaratorNode:
		return resultStrings(x.Expr, excluded)
	case *ast.CallNode:
		if id, ok := x.Callee.(*ast.IdentifierNode); ok && id.Value == "coalesce" {
			complete = true
			for _, a := range x.Arguments {
				s, c := resultStrings(a, excluded)
				out, complete = append(out, s...), complete && c
			}
			return out, complete
		}
	case *ast.MemberNode:
		if mp, ok := x.Node.(*ast.MapNode); ok {
			// {"on_track": "On Track", ...}[plan.status]: the map's values (a missing key is nil).
			complete = true
			for _, pn := range mp.Pairs {
				if pair, ok := pn.(*ast.PairNode); ok {
					s, c := resultStrings(pair.Value, excluded)
					out, complete = append(out, s...), complete && c
				}
			}
			return out, complete
		}
		if prop, ok := x.Property.(*ast.StringNode); ok && isPlanMember(x.Node) {
			if vals, ok := knownValues[prop.Value]; ok {
				path := memberPath(x)
				for _, v := range vals {
					if !excluded[path][v] {
						out = append(out, resultString{v, "a value of plan." + path})
					}
				}
				return out, true
			}
		}
	}
	return nil, false
}

// isPlanMember reports whether n is plan or a member path under it (plan.last_activity).
func isPlanMember(n ast.Node) bool {
	switch x := n.(type) {
	case *ast.IdentifierNode:
		return x.Value == "plan"
	case *ast.MemberNode:
		return isPlanMember(x.Node)
	case *ast.ChainNode:
		return isPlanMember(x.Node)
	}
	return false
}

func memberPath(n ast.Node) string {
	switch x := n.(type) {
	case *ast.MemberNode:
		p := memberPath(x.Node)
		if s, ok := x.Property.(*ast.StringNode); ok {
			if p == "" {
				return s.Value
			}
			return p + "." + s.Value
		}
		return p
	case *ast.ChainNode:
		return memberPath(x.Node)
	}
	return ""
}

// closestField suggests a field whose name differs from name only in case, underscores or a
// __c suffix.
func closestField(name string, meta []connectors.FieldMeta) string {
	norm := func(s string) string {
		s = strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(s, "__c"), "__C"))
		return strings.ReplaceAll(s, "_", "")
	}
	want := norm(name)
	for _, m := range meta {
		if norm(m.Name) == want {
			return m.Name
		}
	}
	return ""
}

// whenExcludes returns, per plan member path (status, state), the known values the when
// expression rules out. It reads conjunctions (and, &&) of `plan.X != "v"`, `plan.X == "v"`,
// `plan.X in [...]` and their negations; anything else rules nothing out.
func whenExcludes(when string) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	if strings.TrimSpace(when) == "" {
		return out
	}
	tree, err := parser.Parse(when)
	if err != nil {
		return out
	}
	exclude := func(path string, keep func(v string) bool) {
		for _, v := range knownValues[path] {
			if !keep(v) {
				if out[path] == nil {
					out[path] = map[string]bool{}
				}
				out[path][v] = true
			}
		}
	}
	var walk func(n ast.Node, negated bool)
	walk = func(n ast.Node, negated bool) {
		switch x := n.(type) {
		case *ast.UnaryNode:
			if x.Operator == "not" || x.Operator == "!" {
				walk(x.Node, !negated)
			}
		case *ast.BinaryNode:
			switch x.Operator {
			case "and", "&&":
				if !negated {
					walk(x.Left, false)
					walk(x.Right, false)
				}
			case "==", "!=":
				path, val, ok := memberAndConstant(x.Left, x.Right)
				if !ok {
					return
				}
				if (x.Operator == "!=") != negated {
					exclude(path, func(v string) bool { return v != val })
				} else {
					exclude(path, func(v string) bool { return v == val })
				}
			case "in":
				arr, ok := x.Right.(*ast.ArrayNode)
				path := memberPath(x.Left)
				if !ok || !isPlanMember(x.Left) {
					return
				}
				set := map[string]bool{}
				for _, e := range arr.Nodes {
					sn, ok := e.(*ast.StringNode)
					if !ok {
						return
					}
					set[sn.Value] = true
				}
				exclude(path, func(v string) bool { return set[v] != negated })
			}
		}
	}
	walk(tree.Node, false)
	// A plan's status is cancelled exactly when its state is.
	if out["state"]["cancelled"] || out["status"]["cancelled"] {
		exclude("status", func(v string) bool { return v != "cancelled" })
		exclude("state", func(v string) bool { return v != "cancelled" })
	}
	return out
}

// memberAndConstant matches `plan.X` against a string constant, in either order.
func memberAndConstant(a, b ast.Node) (path, value string, ok bool) {
	if _, isStr := a.(*ast.StringNode); isStr {
		a, b = b, a
	}
	sn, isStr := b.(*ast.StringNode)
	if !isStr || !isPlanMember(a) {
		return "", "", false
	}
	return memberPath(a), sn.Value, true
}
