package mapping

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/mapsync/mapsync/connectors"
)

// Policy says when a field is written.
type Policy string

// The write policies.
const (
	// PolicyAlways writes the field whenever its value changes (the default).
	PolicyAlways Policy = "always"
	// PolicyIfEmpty writes the field only while the CRM's value is empty (Census's "set if
	// empty"); written in YAML as `if: empty`.
	PolicyIfEmpty Policy = "if_empty"
)

// Conflict says what a push does with a field a person changed in the CRM since our last write.
type Conflict string

// The conflict modes.
const (
	// ConflictOverwrite writes the mapped value over a person's edit (the default).
	ConflictOverwrite Conflict = "overwrite"
	// ConflictKeepCRMEdits skips a field whose CRM value differs from what mapsync last pushed,
	// and records that it did (SkipCRMEdited).
	ConflictKeepCRMEdits Conflict = "keep_crm_edits"
)

// Spec is a connection's push mapping as written in the configuration (`connections[].push`):
//
//	push:
//	  object: deal
//	  when: plan.status != "cancelled"
//	  conflict: keep_crm_edits
//	  fields:
//	    MAP_Progress__c: plan.percent_complete
//	    NextStep: {value: 'plan.next_action?.title ?? ""', truncate: true}
//	    MAP_Security_Review_Date__c: {value: 'plan.milestones["Security review"].reached_at', if: empty}
//	    MAP_Review_Progress__c: {value: plan.percent_complete, plan: security-review}
//
// A field is `NAME: EXPR` or `NAME: {value: EXPR, if: empty, plan: TEMPLATE_KEY, truncate: true}`.
// Field order is kept. Its JSON form (for the API) has the same keys, fields as a list of
// {name, value, if, plan, truncate}. UnmarshalYAML records problems instead of failing, so that a configuration
// loader can report every problem at once: call Validate (Compile does) to see them.
type Spec struct {
	// Object is the kind of record written; only "deal" (the default) is supported.
	Object connectors.Object `json:"object,omitempty"`
	// When is a boolean expression; a record (for the plan a field reads) where it is false is
	// not written (SkipWhenFalse). Empty means always.
	When string `json:"when,omitempty"`
	// Conflict is overwrite (the default when empty) or keep_crm_edits.
	Conflict Conflict `json:"conflict,omitempty"`
	// Fields are the written fields in the order written.
	Fields []FieldSpec `json:"fields"`

	// WhenPos is where When is in the YAML source (zero when built in Go).
	WhenPos Pos `json:"-"`
	// problems found while decoding YAML; Validate reports them.
	problems []Problem
	// lines of the section ("") and of its keys, from YAML.
	lines map[string]int
}

// FieldSpec is one mapped CRM field.
type FieldSpec struct {
	// Name is the CRM's API name of the field (MAP_Progress__c, map_progress).
	Name string `json:"name"`
	// Value is the expr-lang expression computing the value.
	Value string `json:"value"`
	// If is the write policy; empty reads as PolicyAlways.
	If Policy `json:"if,omitempty"`
	// Plan is the template key of the plan the field reads; empty reads the deal's main plan.
	Plan string `json:"plan,omitempty"`
	// Truncate cuts a string longer than the CRM field's length instead of failing the record.
	Truncate bool `json:"truncate,omitempty"`
	// Pos is where the field's value is in the YAML source (zero when built in Go).
	Pos Pos `json:"-"`
}

// Pos is a position in a YAML source: 1-based line and column, zero when unknown.
type Pos struct {
	Line, Column int
}

// Problem is one thing wrong with a mapping, located by a path relative to the push section
// ("fields.MAP_Status__c.if") and, when it came from YAML, a line.
type Problem struct {
	// Connection names the connection; set by Check and by callers that know it.
	Connection string
	// Path is the location in the push section, e.g. "when" or "fields.MAP_Status__c".
	Path string
	// Field is the CRM field the problem is about; "" for connection-wide problems.
	Field string
	// Line is the 1-based line in the YAML source (0 when unknown).
	Line int
	// Message says what is wrong and, where it can, what to do.
	Message string
	// Err is the underlying error when there is one (an *plans.ExprError for expressions).
	Err error
}

// Error formats the problem as "connection NAME: PATH: MESSAGE (line N)", leaving out the parts
// that are unknown.
func (p Problem) Error() string {
	var b strings.Builder
	if p.Connection != "" {
		fmt.Fprintf(&b, "connection %s: ", p.Connection)
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	if p.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", p.Line)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (p Problem) Unwrap() error { return p.Err }

// posOf returns where a scalar's text starts: a block scalar (| or >) starts on the next line.
func posOf(n *yaml.Node) Pos {
	if n.Kind == yaml.ScalarNode && (n.Style&(yaml.LiteralStyle|yaml.FoldedStyle)) != 0 {
		return Pos{n.Line + 1, 0}
	}
	return Pos{n.Line, n.Column}
}

// fieldName is what both CRMs accept as a field's API name.
var fieldName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,79}$`)

// templateKey is the shape of a template key (plans.Template.Key).
var templateKey = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

var specKeys = []string{"object", "when", "conflict", "fields"}
var fieldKeys = []string{"value", "if", "plan", "truncate"}

// UnmarshalYAML implements yaml.Unmarshaler. It fails only when the node is not a mapping; other
// problems (unknown keys, wrong shapes) are kept for Validate, with their lines.
func (s *Spec) UnmarshalYAML(n *yaml.Node) error {
	*s = Spec{lines: map[string]int{"": n.Line}}
	if n.Kind != yaml.MappingNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: push: want a mapping with object, when, conflict and fields", n.Line)}}
	}
	bad := func(path string, line int, format string, args ...any) {
		s.problems = append(s.problems, Problem{Path: path, Line: line, Message: fmt.Sprintf(format, args...)})
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			bad(k.Value, k.Line, "duplicate key")
			continue
		}
		seen[k.Value] = true
		s.lines[k.Value] = k.Line
		switch k.Value {
		case "object", "when", "conflict":
			if v.Kind != yaml.ScalarNode {
				bad(k.Value, v.Line, "want a string")
				continue
			}
			switch k.Value {
			case "object":
				s.Object = connectors.Object(v.Value)
			case "when":
				s.When, s.WhenPos = v.Value, posOf(v)
			case "conflict":
				s.Conflict = Conflict(v.Value)
			}
		case "fields":
			s.decodeFields(v, bad)
		default:
			bad(k.Value, k.Line, "unknown key (want one of %s)", strings.Join(specKeys, ", "))
		}
	}
	return nil
}

func (s *Spec) decodeFields(n *yaml.Node, bad func(string, int, string, ...any)) {
	if n.Kind != yaml.MappingNode {
		bad("fields", n.Line, "want a mapping of CRM field name to expression")
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f := FieldSpec{Name: k.Value, Pos: posOf(v)}
		path := "fields." + k.Value
		switch v.Kind {
		case yaml.ScalarNode:
			f.Value = v.Value
		case yaml.MappingNode:
			seen := map[string]bool{}
			for j := 0; j+1 < len(v.Content); j += 2 {
				fk, fv := v.Content[j], v.Content[j+1]
				if seen[fk.Value] {
					bad(path+"."+fk.Value, fk.Line, "duplicate key")
					continue
				}
				seen[fk.Value] = true
				if fv.Kind != yaml.ScalarNode {
					bad(path+"."+fk.Value, fv.Line, "want a scalar")
					continue
				}
				switch fk.Value {
				case "value":
					f.Value, f.Pos = fv.Value, posOf(fv)
				case "if":
					switch fv.Value {
					case "empty":
						f.If = PolicyIfEmpty
					case "always":
						f.If = PolicyAlways
					default:
						bad(path+".if", fv.Line, "want empty or always, got %q", fv.Value)
					}
				case "plan":
					f.Plan = fv.Value
				case "truncate":
					b, err := strconv.ParseBool(fv.Value)
					if err != nil {
						bad(path+".truncate", fv.Line, "want true or false, got %q", fv.Value)
					}
					f.Truncate = b
				default:
					bad(path+"."+fk.Value, fk.Line, "unknown key (want one of %s)", strings.Join(fieldKeys, ", "))
				}
			}
			if !seen["value"] {
				bad(path, v.Line, "value: required (the expression computing the field)")
			}
		default:
			bad(path, v.Line, "want an expression or a mapping with value, if, plan, truncate")
			continue
		}
		s.Fields = append(s.Fields, f)
	}
}

// MarshalYAML implements yaml.Marshaler: the spec as it would be written, a field in the short
// form when it has nothing but a value.
func (s Spec) MarshalYAML() (any, error) {
	root := &yaml.Node{Kind: yaml.MappingNode}
	add := func(m *yaml.Node, k string, v *yaml.Node) {
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, v)
	}
	str := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }
	if s.Object != "" {
		add(root, "object", str(string(s.Object)))
	}
	if s.When != "" {
		add(root, "when", str(s.When))
	}
	if s.Conflict != "" {
		add(root, "conflict", str(string(s.Conflict)))
	}
	fields := &yaml.Node{Kind: yaml.MappingNode}
	for _, f := range s.Fields {
		if (f.If == "" || f.If == PolicyAlways) && f.Plan == "" && !f.Truncate {
			add(fields, f.Name, str(f.Value))
			continue
		}
		m := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
		add(m, "value", str(f.Value))
		if f.If == PolicyIfEmpty {
			add(m, "if", str("empty"))
		}
		if f.Plan != "" {
			add(m, "plan", str(f.Plan))
		}
		if f.Truncate {
			add(m, "truncate", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
		}
		add(fields, f.Name, m)
	}
	add(root, "fields", fields)
	return root, nil
}

// Validate returns every problem of the spec's shape: those found while decoding YAML, an
// unsupported object or conflict mode, a missing or repeated field, a bad field name, policy or
// plan key. It does not compile expressions; Compile does both.
func (s *Spec) Validate() []Problem {
	ps := slices.Clone(s.problems)
	add := func(path string, line int, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Line: line, Message: fmt.Sprintf(format, args...)})
	}
	if s.Object != "" && s.Object != connectors.ObjectDeal {
		add("object", s.lines["object"], "want deal (the only object mappings write), got %q", s.Object)
	}
	switch s.Conflict {
	case "", ConflictOverwrite, ConflictKeepCRMEdits:
	default:
		add("conflict", s.lines["conflict"], "want overwrite or keep_crm_edits, got %q", s.Conflict)
	}
	if len(s.Fields) == 0 && !s.hasProblemAt("fields") {
		add("fields", s.lines[""], "required: at least one CRM field and its expression")
	}
	seen := map[string]bool{}
	for _, f := range s.Fields {
		path := "fields." + f.Name
		switch {
		case !fieldName.MatchString(f.Name):
			add(path, f.Pos.Line, "not a CRM field name (letters, digits and _, starting with a letter)")
		case seen[strings.ToLower(f.Name)]:
			add(path, f.Pos.Line, "mapped twice (CRM field names are case-insensitive)")
		}
		seen[strings.ToLower(f.Name)] = true
		if strings.TrimSpace(f.Value) == "" && !s.hasProblemAt(path) {
			add(path, f.Pos.Line, "empty expression")
		}
		switch f.If {
		case "", PolicyAlways, PolicyIfEmpty:
		default:
			add(path+".if", f.Pos.Line, "want empty or always, got %q", f.If)
		}
		if f.Plan != "" && !templateKey.MatchString(f.Plan) {
			add(path+".plan", f.Pos.Line, "not a template key (lowercase letters, digits, - and _), got %q", f.Plan)
		}
	}
	return ps
}

func (s *Spec) hasProblemAt(path string) bool {
	for _, p := range s.problems {
		if p.Path == path || strings.HasPrefix(p.Path, path+".") {
			return true
		}
	}
	return false
}

// policy returns the field's policy with the default applied.
func (f FieldSpec) policy() Policy {
	if f.If == "" {
		return PolicyAlways
	}
	return f.If
}
