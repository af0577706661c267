package plans

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// CompileExpr is the one expr-lang setup of mapsync: template selection rules (CompileRule) and
// push mappings (package mapping) compile with it. It checks src statically against env (a
// struct whose expr tags name the variables), disables the builtin now() (expressions read the
// clock from a `now` variable the caller passes in, so evaluation is pure), and adds the helpers:
//
//   - date(t) string: t (a time.Time, *time.Time, Date or a "2006-01-02..." string) as YYYY-MM-DD
//     in t's own location; "" for nil or the zero time.
//   - datetime(t) string: t as RFC 3339 in UTC with milliseconds ("2026-03-07T09:30:00.000Z");
//     "" for nil or the zero time.
//   - truncate(s, n) string: s cut to at most n characters (runes, not bytes).
//   - join(list, sep) string: the list's non-empty elements as text, joined with sep.
//   - coalesce(a, b, ...) any: the first argument that is neither nil nor "".
//
// opts are added after these (e.g. expr.AsBool()). A problem is an *ExprError that keeps expr's
// *file.Error (line and column) reachable through errors.As.
func CompileExpr(src string, env any, opts ...expr.Option) (*vm.Program, error) {
	all := append([]expr.Option{expr.Env(env), expr.DisableBuiltin("now")}, exprHelpers...)
	all = append(all, opts...)
	prog, err := expr.Compile(src, all...)
	if err != nil {
		return nil, newExprError(err)
	}
	return prog, nil
}

// ExprError is an expression that does not compile or fails to run. Its message is one line
// (expr's own message, with the line when the source has several, and the column); Unwrap
// returns expr's *file.Error, which also carries the source snippet.
type ExprError struct {
	// Message is expr's message without location or snippet.
	Message string
	// Line is the 1-based line of the problem in the expression's source (0 when unknown).
	Line int
	// Column is the 1-based column of the problem (0 when unknown).
	Column int
	err    error
}

func newExprError(err error) *ExprError {
	var fe *file.Error
	if errors.As(err, &fe) {
		return &ExprError{Message: fe.Message, Line: fe.Line, Column: fe.Column + 1, err: fe}
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return &ExprError{Message: msg, err: err}
}

// Error returns "message (column C)", or "message (line L, column C)" past the first line.
func (e *ExprError) Error() string {
	switch {
	case e.Column == 0:
		return e.Message
	case e.Line > 1:
		return fmt.Sprintf("%s (line %d, column %d)", e.Message, e.Line, e.Column)
	}
	return fmt.Sprintf("%s (column %d)", e.Message, e.Column)
}

// Unwrap returns expr's error (a *file.Error when expr located the problem).
func (e *ExprError) Unwrap() error { return e.err }

// RunExpr runs a program compiled by CompileExpr against env (a value of the type it was compiled
// with). A runtime failure is an *ExprError.
func RunExpr(prog *vm.Program, env any) (any, error) {
	v, err := expr.Run(prog, env)
	if err != nil {
		return nil, newExprError(err)
	}
	return v, nil
}

var exprHelpers = []expr.Option{
	expr.Function("date", func(p ...any) (any, error) { return formatTime(p[0], "2006-01-02", false) },
		new(func(any) string)),
	expr.Function("datetime", func(p ...any) (any, error) { return formatTime(p[0], "2006-01-02T15:04:05.000Z", true) },
		new(func(any) string)),
	expr.Function("truncate", func(p ...any) (any, error) {
		return TruncateRunes(p[0].(string), p[1].(int)), nil
	}, new(func(string, int) string)),
	expr.Function("join", func(p ...any) (any, error) { return joinAny(p[0], p[1].(string)) },
		new(func(any, string) string)),
	expr.Function("coalesce", func(p ...any) (any, error) {
		for _, v := range p {
			if !IsEmptyValue(v) {
				return v, nil
			}
		}
		return nil, nil
	}),
}

// IsEmptyValue reports whether v is nil, a nil pointer, "" or the zero time: what coalesce skips
// and what a CRM shows as an empty field.
func IsEmptyValue(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case time.Time:
		return x.IsZero()
	case *time.Time:
		return x == nil || x.IsZero()
	case Date:
		return x.IsZero()
	}
	rv := reflect.ValueOf(v)
	return (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Map || rv.Kind() == reflect.Slice) && rv.IsNil()
}

// TruncateRunes returns s cut to at most n runes (n < 0 reads as 0).
func TruncateRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

func formatTime(v any, layout string, utc bool) (string, error) {
	var t time.Time
	switch x := v.(type) {
	case nil:
		return "", nil
	case time.Time:
		t = x
	case *time.Time:
		if x == nil {
			return "", nil
		}
		t = *x
	case Date:
		if x.IsZero() {
			return "", nil
		}
		t = x.In(time.UTC)
	case string:
		if x == "" {
			return "", nil
		}
		var err error
		if t, err = ParseTime(x); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("want a time, a date or a string, got %T", v)
	}
	if t.IsZero() {
		return "", nil
	}
	if utc {
		t = t.UTC()
	}
	return t.Format(layout), nil
}

// ParseTime reads a CRM or expression time: RFC 3339 (with or without fractional seconds),
// Salesforce's "2006-01-02T15:04:05.000+0000", or a bare YYYY-MM-DD date (midnight UTC).
func ParseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("want a date (YYYY-MM-DD) or an RFC 3339 time, got %q", firstN(s, 40))
}

func joinAny(list any, sep string) (string, error) {
	if list == nil {
		return "", nil
	}
	rv := reflect.ValueOf(list)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return "", fmt.Errorf("join: want a list, got %T", list)
	}
	parts := make([]string, 0, rv.Len())
	for i := 0; i < rv.Len(); i++ {
		e := rv.Index(i).Interface()
		if IsEmptyValue(e) {
			continue
		}
		parts = append(parts, fmt.Sprint(e))
	}
	return strings.Join(parts, sep), nil
}
