package plans

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// Parse decodes a template from a YAML or JSON document and validates it. Unknown fields, values
// of the wrong type and every problem Validate finds are reported together in a *ValidationError,
// each with its path and line. On success the template's selection rule is compiled.
func Parse(data []byte) (*Template, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, &ValidationError{Problems: []Problem{{Message: "parse: " + err.Error()}}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &ValidationError{Problems: []Problem{{Line: extra.Line, Message: "more than one document"}}}
	}
	ps := &problems{lines: map[string]int{}}
	walk(root, reflect.TypeFor[Template](), "", ps)
	if len(ps.list) > 0 {
		return nil, ps.err()
	}
	t := &Template{}
	if err := root.Decode(t); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, msg := range te.Errors {
				ps.list = append(ps.list, Problem{Message: msg})
			}
			return nil, ps.err()
		}
		return nil, fmt.Errorf("decode template: %w", err)
	}
	t.lines = ps.lines
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// walk records the line of every value under path and reports unknown fields and values whose
// YAML kind does not fit the Go type.
func walk(n *yaml.Node, t reflect.Type, path string, ps *problems) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if _, seen := ps.lines[path]; !seen {
		ps.lines[path] = n.Line
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			ps.add(path, "want a mapping, got %s", describe(n))
			return
		}
		fields := yamlFields(t)
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			if first, dup := seen[k.Value]; dup {
				ps.list = append(ps.list, Problem{Path: p, Line: k.Line, Message: fmt.Sprintf("duplicate field (first at line %d)", first)})
				continue
			}
			seen[k.Value] = k.Line
			ps.lines[p] = k.Line
			f, ok := fields[k.Value]
			if !ok {
				ps.list = append(ps.list, Problem{Path: p, Line: k.Line, Message: "unknown field"})
				continue
			}
			walk(v, f, p, ps)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			ps.add(path, "want a list, got %s", describe(n))
			return
		}
		for i, c := range n.Content {
			walk(c, t.Elem(), index(path, i), ps)
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			ps.add(path, "want a string, got %s", describe(n))
		}
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			ps.add(path, "want an integer, got %s", describe(n))
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			ps.add(path, "want true or false, got %s", describe(n))
		}
	}
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

// yamlFields maps the YAML names of t's fields to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := make(map[string]reflect.Type, t.NumField())
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f.Type
	}
	return m
}
