package plans

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing wrong with a template document, at a path such as
// "phases[1].actions[2].due.after" (indexes count from 0) and, when the template was parsed from
// a document, its line.
type Problem struct {
	// Path locates the value at fault; "" is the document itself.
	Path string `json:"path"`
	// Line is the 1-based line in the document; 0 when unknown.
	Line int `json:"line,omitempty"`
	// Message says what is wrong, in lowercase.
	Message string `json:"message"`
}

// String formats the problem as `path: message (line N)`.
func (p Problem) String() string {
	var b strings.Builder
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if p.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", p.Line)
	}
	return b.String()
}

// ValidationError is every problem found in a template. It matches ErrInvalid with errors.Is.
type ValidationError struct {
	// Problems lists every problem, in document order.
	Problems []Problem
}

// Error lists the problems, one per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return "invalid template:\n" + strings.Join(lines, "\n")
}

// Is reports whether target is ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// problems collects Problems, attaching lines from a path-to-line map.
type problems struct {
	lines map[string]int
	list  []Problem
}

func (ps *problems) add(path, format string, args ...any) {
	ps.list = append(ps.list, Problem{Path: path, Line: lineOf(ps.lines, path), Message: fmt.Sprintf(format, args...)})
}

func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	slices.SortStableFunc(ps.list, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
	return &ValidationError{Problems: ps.list}
}

// lineOf returns the line of path, or of its nearest ancestor that has one.
func lineOf(lines map[string]int, path string) int {
	if lines == nil {
		return 0
	}
	for {
		if l, ok := lines[path]; ok {
			return l
		}
		if path == "" {
			return 0
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			path = ""
		} else {
			path = path[:i]
		}
	}
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func index(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}
