package mapping

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/plans"
)

// The codes of a ValueError.
const (
	// CodeWrongType: the value cannot be read as the field's type.
	CodeWrongType = "wrong_type"
	// CodeTooLong: a string longer than the field's length (and the mapping does not truncate).
	CodeTooLong = "too_long"
	// CodeNotAnOption: a value a restricted picklist / enumeration does not allow.
	CodeNotAnOption = "not_an_option"
	// CodeRequired: an empty value for a field that cannot be empty.
	CodeRequired = "required"
	// CodeReadOnly: the field cannot be written (not updateable, or unknown to the CRM).
	CodeReadOnly = "read_only"
)

// ValueError is a value that does not fit its CRM field: a per-record error, never a silent bad
// write. Code is one of the Code constants.
type ValueError struct {
	// Field is the CRM field.
	Field string
	// Code says what is wrong (CodeTooLong, CodeNotAnOption, ...).
	Code string
	// Message says it in words, with the value (cut to 60 characters).
	Message string
}

func (e *ValueError) Error() string { return e.Field + ": " + e.Message }

// Date and datetime layouts Coerce writes.
const (
	// DateLayout is a date field's form: YYYY-MM-DD.
	DateLayout = "2006-01-02"
	// DateTimeLayout is a datetime field's form: RFC 3339 in UTC with milliseconds, accepted by
	// Salesforce and HubSpot.
	DateTimeLayout = "2006-01-02T15:04:05.000Z"
)

// Coerce converts v (an evaluated value) to what the CRM field described by meta takes, in a
// JSON-stable form (nil, string, float64 or bool), so it can be stored as the value last pushed and
// compared with Equal:
//
//   - number, currency, percent: float64, from any Go number or a numeric string (percent is
//     0-100 as the CRMs store it: 45 means 45 %);
//   - date: "YYYY-MM-DD", a time's date in its own location (Env times are in the plan's zone);
//   - datetime: DateTimeLayout in UTC;
//   - bool: true or false, from a bool or "true"/"false"; nil is false;
//   - picklist: the string, which a restricted picklist must list in Options (CodeNotAnOption);
//     multipicklist: a list or a ';'-joined string, every value listed, joined with ';';
//   - string, text, url, email, phone, reference: the text (numbers in plain decimal, times as
//     DateTimeLayout), at most meta.Length characters (CodeTooLong);
//   - nil or "" clears the field (nil), except a field that is not Nillable (CodeRequired);
//   - a field that is not Updateable, or an id, is CodeReadOnly.
//
// Every failure is a *ValueError.
func Coerce(meta connectors.FieldMeta, v any) (any, error) {
	fail := func(code, format string, args ...any) (any, error) {
		return nil, &ValueError{Field: meta.Name, Code: code, Message: fmt.Sprintf(format, args...)}
	}
	if !meta.Updateable || meta.Type == connectors.TypeID {
		return fail(CodeReadOnly, "the field is read-only")
	}
	v = normalize(v)
	if plans.IsEmptyValue(v) {
		if meta.Type == connectors.TypeBool {
			return false, nil
		}
		if !meta.Nillable {
			return fail(CodeRequired, "the field cannot be empty")
		}
		return nil, nil
	}
	switch meta.Type {
	case connectors.TypeNumber, connectors.TypeCurrency, connectors.TypePercent:
		f, ok := toFloat(v)
		if !ok {
			return fail(CodeWrongType, "want a number, got %s", show(v))
		}
		return f, nil
	case connectors.TypeDate, connectors.TypeDateTime:
		t, ok := toTime(v)
		if !ok {
			return fail(CodeWrongType, "want a date or time, got %s", show(v))
		}
		if meta.Type == connectors.TypeDate {
			return t.Format(DateLayout), nil
		}
		return t.UTC().Format(DateTimeLayout), nil
	case connectors.TypeBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return b, nil
			}
		}
		return fail(CodeWrongType, "want true or false, got %s", show(v))
	case connectors.TypeMultiPicklist:
		vals, ok := toList(v)
		if !ok {
			return fail(CodeWrongType, "want a list of values, got %s", show(v))
		}
		for _, x := range vals {
			if meta.Restricted && !slices.Contains(meta.Options, x) {
				return fail(CodeNotAnOption, "%s is not one of the values allowed (%s)", show(x), options(meta))
			}
		}
		return lengthCheck(meta, strings.Join(vals, ";"))
	default:
		s, ok := toText(v)
		if !ok {
			return fail(CodeWrongType, "want text, got %s", show(v))
		}
		if meta.Type == connectors.TypePicklist && meta.Restricted && !slices.Contains(meta.Options, s) {
			return fail(CodeNotAnOption, "%s is not one of the values allowed (%s)", show(s), options(meta))
		}
		return lengthCheck(meta, s)
	}
}

// Coerce is the package's Coerce for d's value, cutting a string to meta.Length first when the
// field says truncate.
func (d Desired) Coerce(meta connectors.FieldMeta) (any, error) {
	v := d.Value
	if d.Truncate && meta.Length > 0 && textual(meta.Type) {
		if s, ok := toText(normalize(v)); ok {
			v = plans.TruncateRunes(s, meta.Length)
		}
	}
	return Coerce(meta, v)
}

// CoerceAll coerces every Desired not already skipped to its CRM field, in place: Value becomes
// the CRM's form, or Skip becomes SkipInvalid with Err a *ValueError (a field missing from meta is
// CodeReadOnly: the CRM does not have it). meta is looked up by name, case-insensitively. It returns
// ds. For many records, index meta once (MetaIndex) and call Metas.CoerceAll.
func CoerceAll(ds []Desired, meta []connectors.FieldMeta) []Desired {
	return MetaIndex(meta).CoerceAll(ds)
}

// Metas is field metadata indexed by name; build it once with MetaIndex and share it (it is
// read-only, so safe for concurrent use).
type Metas struct {
	exact, lower map[string]connectors.FieldMeta
}

// MetaIndex indexes meta by name.
func MetaIndex(meta []connectors.FieldMeta) Metas {
	idx := Metas{exact: make(map[string]connectors.FieldMeta, len(meta)), lower: make(map[string]connectors.FieldMeta, len(meta))}
	for _, m := range meta {
		idx.exact[m.Name] = m
		if _, dup := idx.lower[strings.ToLower(m.Name)]; !dup {
			idx.lower[strings.ToLower(m.Name)] = m
		}
	}
	return idx
}

// Lookup finds a field by its exact name, else case-insensitively (Salesforce names are).
func (idx Metas) Lookup(name string) (connectors.FieldMeta, bool) {
	if m, ok := idx.exact[name]; ok {
		return m, true
	}
	m, ok := idx.lower[strings.ToLower(name)]
	return m, ok
}

// CoerceAll is the package's CoerceAll with metadata already indexed.
func (idx Metas) CoerceAll(ds []Desired) []Desired {
	for i := range ds {
		d := &ds[i]
		if d.Skip != "" {
			continue
		}
		fm, ok := idx.Lookup(d.Field)
		if !ok {
			d.Skip, d.Err = SkipInvalid, &ValueError{Field: d.Field, Code: CodeReadOnly, Message: "the CRM has no such field"}
			continue
		}
		v, err := d.Coerce(fm)
		if err != nil {
			d.Skip, d.Err = SkipInvalid, err
			continue
		}
		d.Value = v
	}
	return ds
}

func textual(t connectors.FieldType) bool {
	switch t {
	case connectors.TypeString, connectors.TypeText, connectors.TypeURL, connectors.TypeEmail, connectors.TypePhone, connectors.TypePicklist:
		return true
	}
	return false
}

func lengthCheck(meta connectors.FieldMeta, s string) (any, error) {
	if meta.Length > 0 {
		if n := utf8.RuneCountInString(s); n > meta.Length {
			return nil, &ValueError{Field: meta.Name, Code: CodeTooLong, Message: fmt.Sprintf("%d characters, the field holds %d (set truncate: true to cut)", n, meta.Length)}
		}
	}
	if s == "" && !meta.Nillable {
		return nil, &ValueError{Field: meta.Name, Code: CodeRequired, Message: "the field cannot be empty"}
	}
	if s == "" {
		return nil, nil
	}
	return s, nil
}

func options(meta connectors.FieldMeta) string {
	if len(meta.Options) == 0 {
		return "none"
	}
	q := make([]string, len(meta.Options))
	for i, o := range meta.Options {
		q[i] = strconv.Quote(o)
	}
	return strings.Join(q, ", ")
}

// show renders a value for a message, cut to 60 characters.
func show(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(plans.TruncateRunes(x, 60))
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("%s %v", typeName(v), v)
}

func typeName(v any) string {
	switch v.(type) {
	case bool:
		return "bool"
	case time.Time:
		return "time"
	}
	if _, ok := toFloat(v); ok {
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

func toFloat(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case int32:
		f = float64(x)
	case uint, uint32, uint64, int8, int16, uint8, uint16:
		f = reflect.ValueOf(x).Convert(reflect.TypeOf(f)).Float()
	case json.Number:
		g, err := x.Float64()
		if err != nil {
			return 0, false
		}
		f = g
	case string:
		g, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, false
		}
		f = g
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

func toTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, !x.IsZero()
	case plans.Date:
		return x.In(time.UTC), !x.IsZero()
	case string:
		t, err := plans.ParseTime(strings.TrimSpace(x))
		return t, err == nil
	}
	return time.Time{}, false
}

func toText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case time.Time:
		return x.UTC().Format(DateTimeLayout), true
	case plans.Date:
		return x.String(), true
	}
	if f, ok := toFloat(v); ok {
		return strconv.FormatFloat(f, 'f', -1, 64), true
	}
	return "", false
}

func toList(v any) ([]string, bool) {
	if s, ok := v.(string); ok {
		return strings.Split(s, ";"), true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, false
	}
	out := make([]string, 0, rv.Len())
	for i := 0; i < rv.Len(); i++ {
		e := normalize(rv.Index(i).Interface())
		if plans.IsEmptyValue(e) {
			continue
		}
		s, ok := toText(e)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// Equal reports whether two field values mean the same to a CRM, whatever their Go form: nil
// and "" (and the zero time) are equal; numbers compare by value, also as numeric strings
// (HubSpot returns every property as a string: "45" equals 45.0); booleans equal "true"/"false";
// times and dates compare as instants when both read as times ("2026-03-07T10:00:00.000+0000"
// equals "2026-03-07T10:00:00.000Z"); anything else compares as text.
func Equal(a, b any) bool {
	a, b = normalize(a), normalize(b)
	ea, eb := plans.IsEmptyValue(a), plans.IsEmptyValue(b)
	if ea || eb {
		return ea && eb
	}
	if fa, ok := toFloat(a); ok {
		if fb, ok := toFloat(b); ok {
			return fa == fb
		}
	}
	ba, aIsBool := a.(bool)
	bb, bIsBool := b.(bool)
	switch {
	case aIsBool && bIsBool:
		return ba == bb
	case aIsBool:
		x, err := strconv.ParseBool(fmt.Sprint(b))
		return err == nil && x == ba
	case bIsBool:
		x, err := strconv.ParseBool(fmt.Sprint(a))
		return err == nil && x == bb
	}
	if ta, ok := toTime(a); ok {
		if tb, ok := toTime(b); ok {
			return ta.Equal(tb)
		}
	}
	sa, oka := toText(a)
	sb, okb := toText(b)
	if oka && okb {
		return sa == sb
	}
	return reflect.DeepEqual(a, b)
}
