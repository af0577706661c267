package config

import (
	"encoding"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/mapsync/mapsync/secrets"
)

// EnvDatabaseURL overrides database.url when set.
const EnvDatabaseURL = "MAPSYNC_DATABASE_URL"

// Problem is one thing wrong with a configuration, located by its YAML path and line.
type Problem struct {
	// Path is the YAML path, e.g. "connections[1].oauth.client_id".
	Path string
	// Line is the 1-based line in the file; 0 when the value is missing from the file.
	Line int
	// Message says what is wrong and, where it can, what to do.
	Message string
}

func (p Problem) String() string {
	s := p.Message
	if p.Path != "" {
		s = p.Path + ": " + s
	}
	if p.Line > 0 {
		s += fmt.Sprintf(" (line %d)", p.Line)
	}
	return s
}

// Error holds every problem found in one file.
type Error struct {
	// File is the configuration file's path.
	File string
	// Problems are sorted by line.
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "config %s: %d problem(s)", e.File, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// LoadFile reads, expands, strictly decodes and validates the configuration in path. Every
// problem is reported at once in an *Error.
func LoadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Load(path, data)
}

// Load does what LoadFile does on bytes already read; name is used in messages.
func Load(name string, data []byte) (*Config, error) {
	l := &loader{lines: map[string]int{}}
	cfg := &Config{}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{File: name, Problems: []Problem{syntaxProblem(err)}}
	}
	if len(doc.Content) > 0 {
		root := doc.Content[0]
		l.expand(root, "")
		// check reports each wrong value and blanks it in the tree (a duplicate key is dropped), so
		// the decode below succeeds with defaults in its place and validation reports only the
		// other problems: one problem, one line. (yaml.v3 stops decoding at the first value a
		// TextUnmarshaler refuses, which left later fields empty and made them look missing.)
		l.check(root, reflect.TypeOf(cfg).Elem(), "")
		if err := root.Decode(cfg); err != nil {
			l.add("", 0, "%s", err.Error())
		}
	}
	if v := os.Getenv(EnvDatabaseURL); v != "" {
		cfg.Database.URL = secrets.Secret(v)
	}
	cfg.applyDefaults()
	reported := map[string]bool{}
	for _, p := range l.problems {
		reported[p.Path] = true
	}
	for _, p := range cfg.validate() {
		if reported[p.Path] {
			continue // the value was wrong in the file already; one message is enough
		}
		if p.Line == 0 {
			p.Line = l.lineOf(p.Path)
		}
		l.problems = append(l.problems, p)
	}
	if len(l.problems) > 0 {
		sort.SliceStable(l.problems, func(i, j int) bool { return l.problems[i].Line < l.problems[j].Line })
		return nil, &Error{File: name, Problems: l.problems}
	}
	return cfg, nil
}

var yamlLine = regexp.MustCompile(`line (\d+):?\s*(.*)`)

func syntaxProblem(err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Problem{Line: line, Message: "invalid YAML: " + m[2]}
	}
	return Problem{Message: "invalid YAML: " + msg}
}

type loader struct {
	problems []Problem
	lines    map[string]int
}

func (l *loader) add(path string, line int, format string, args ...any) {
	l.problems = append(l.problems, Problem{Path: path, Line: line, Message: fmt.Sprintf(format, args...)})
}

// lineOf finds the line of path or of its nearest ancestor present in the file.
func (l *loader) lineOf(path string) int {
	for path != "" {
		if n, ok := l.lines[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

var envRef = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// expand replaces ${VAR} and ${VAR:-default} in scalar values (never keys), after parsing, so a
// value holding '#' or ': ' cannot change the document's structure. "$$" is a literal "$".
func (l *loader) expand(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			l.expand(n.Content[i+1], join(path, n.Content[i].Value))
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			l.expand(c, fmt.Sprintf("%s[%d]", path, i))
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") {
			return
		}
		out := envRef.ReplaceAllStringFunc(n.Value, func(m string) string {
			if m == "$$" {
				return "$"
			}
			sub := envRef.FindStringSubmatch(m)
			if v, ok := os.LookupEnv(sub[1]); ok && v != "" {
				return v
			}
			if strings.Contains(m, ":-") {
				return sub[2]
			}
			l.add(path, n.Line, "environment variable %s is not set (export it, or write ${%s:-default})", sub[1], sub[1])
			return ""
		})
		if out != n.Value {
			n.Value = out
			if n.Style == 0 {
				n.Tag = "" // a plain scalar is resolved again from its expanded text: ${PORT} can be an int
			}
		}
	}
}

var (
	textUnmarshaler = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
	yamlUnmarshaler = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
)

// check walks the node against the target type and reports unknown keys, duplicate keys and
// values of the wrong type, each with its path and line.
func (l *loader) check(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if _, ok := l.lines[path]; !ok {
		l.lines[path] = n.Line
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		l.checkScalar(n, t, path)
		return
	}
	if reflect.PointerTo(t).Implements(yamlUnmarshaler) {
		// The type decodes and validates itself (mapping.Spec); validate reports its problems.
		if n.Kind != yaml.MappingNode {
			l.add(path, n.Line, "want a mapping, got %s", describe(n))
			blank(n)
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			l.add(path, n.Line, "want a mapping of keys, got %s", describe(n))
			blank(n)
			return
		}
		fields := map[string]reflect.Type{}
		var names []string
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			fields[name] = f.Type
			names = append(names, name)
		}
		seen := map[string]bool{}
		kept := n.Content[:0:0]
		defer func() { n.Content = kept }()
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			if seen[k.Value] {
				l.add(p, k.Line, "duplicate key")
				continue // dropped: the first value stands
			}
			kept = append(kept, k, v)
			l.lines[p] = k.Line
			seen[k.Value] = true
			ft, ok := fields[k.Value]
			if !ok {
				msg := "unknown key"
				if s := closest(k.Value, names); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				l.add(p, k.Line, "%s", msg)
				continue
			}
			l.check(v, ft, p)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			l.add(path, n.Line, "want a list, got %s", describe(n))
			blank(n)
			return
		}
		for i, c := range n.Content {
			l.check(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			l.add(path, n.Line, "want a mapping, got %s", describe(n))
			blank(n)
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			l.check(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))
		}
	default:
		l.checkScalar(n, t, path)
	}
}

func (l *loader) checkScalar(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.ScalarNode {
		l.add(path, n.Line, "want %s, got %s", typeName(t), describe(n))
		blank(n)
		return
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		l.add(path, n.Line, "want %s, got %q", typeName(t), n.Value)
		blank(n)
	}
}

// blank turns a node whose problem is already reported into null, which decodes to the field's
// zero value (and then its default) instead of failing the whole decode.
func blank(n *yaml.Node) {
	*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
}

func typeName(t reflect.Type) string {
	switch {
	case t == reflect.TypeOf(Duration(0)):
		return "a duration such as 90s or 5m"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "a whole number"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.String:
		return "a string"
	}
	return "a " + t.String()
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

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// closest returns the known name nearest to s by edit distance, if it is near enough to be a typo.
func closest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := distance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// IsConfigError reports whether err holds configuration problems (as opposed to an I/O error).
func IsConfigError(err error) bool {
	var ce *Error
	return errors.As(err, &ce)
}
