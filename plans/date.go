package plans

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// Date is a calendar day without a time or a zone, the unit of due dates. It is read in the plan's
// time zone: a due date is met while it is that day (or earlier) there. Its text form is
// "2006-01-02" in JSON, YAML and SQL; the zero Date is "no date" and encodes as null / NULL.
type Date struct {
	// Year is the year, e.g. 2025.
	Year int
	// Month is the month of the year.
	Month time.Month
	// Day is the day of the month, from 1.
	Day int
}

// DateOf returns the calendar day that t falls on in loc (UTC when loc is nil).
func DateOf(t time.Time, loc *time.Location) Date {
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := t.In(loc).Date()
	return Date{Year: y, Month: m, Day: d}
}

// ParseDate parses a "2006-01-02" date.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("parse date %q: %w", s, err)
	}
	return DateOf(t, time.UTC), nil
}

// IsZero reports whether d is the zero Date (no date).
func (d Date) IsZero() bool { return d == Date{} }

// String returns d as "2006-01-02", or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// In returns the first instant of d in loc (UTC when loc is nil). On a day that starts inside a
// daylight-saving gap it is the first instant that exists.
func (d Date) In(loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// End returns the instant d ends in loc: the first instant of the next day. The day can be 23 or 25
// hours long across a daylight-saving change.
func (d Date) End(loc *time.Location) time.Time {
	return d.AddDays(1).In(loc)
}

// AddDays returns d moved by n calendar days (n may be negative).
func (d Date) AddDays(n int) Date {
	return DateOf(d.In(time.UTC).AddDate(0, 0, n), time.UTC)
}

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday { return d.In(time.UTC).Weekday() }

// IsBusinessDay reports whether d is Monday to Friday. Holidays are not known to mapsync.
func (d Date) IsBusinessDay() bool {
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// AddBusinessDays returns d moved by n business days (Monday to Friday). Moving forward from a
// Friday or a weekend by one lands on the next Monday; moving backward by one from a Monday or a
// weekend lands on the previous Friday. With n = 0 a weekend day rolls forward to Monday.
func (d Date) AddBusinessDays(n int) Date {
	step := 1
	if n < 0 {
		step, n = -1, -n
	}
	if n == 0 {
		for !d.IsBusinessDay() {
			d = d.AddDays(1)
		}
		return d
	}
	// Any 7 consecutive days hold exactly 5 business days: jump whole weeks, then step the
	// last 1 to 5 days so that the count ends on a business day.
	weeks := (n - 1) / 5
	t := d.In(time.UTC).AddDate(0, 0, step*7*weeks)
	for n -= 5 * weeks; n > 0; {
		t = t.AddDate(0, 0, step)
		if wd := t.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return DateOf(t, time.UTC)
}

// Before reports whether d is an earlier day than e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmpInt(d.Year, e.Year)
	case d.Month != e.Month:
		return cmpInt(int(d.Month), int(e.Month))
	default:
		return cmpInt(d.Day, e.Day)
	}
}

// DaysUntil returns the number of calendar days from d to e (negative when e is earlier).
func (d Date) DaysUntil(e Date) int {
	return int(e.In(time.UTC).Sub(d.In(time.UTC)).Hours() / 24)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// MarshalText encodes d as "2006-01-02" ("" for the zero Date).
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText decodes "2006-01-02"; the empty string is the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalJSON encodes d as a "2006-01-02" string, or null for the zero Date.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + d.String() + `"`), nil
}

// UnmarshalJSON decodes a "2006-01-02" string or null.
func (d *Date) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		*d = Date{}
		return nil
	}
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return fmt.Errorf("decode date %s: want a \"YYYY-MM-DD\" string", s)
	}
	return d.UnmarshalText([]byte(s[1 : len(s)-1]))
}

// Value stores d as a "2006-01-02" string, or NULL for the zero Date.
func (d Date) Value() (driver.Value, error) {
	if d.IsZero() {
		return nil, nil
	}
	return d.String(), nil
}

// Scan reads a date stored as text, bytes or a time (nil is the zero Date).
func (d *Date) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d = Date{}
		return nil
	case string:
		return d.UnmarshalText([]byte(firstN(v, 10)))
	case []byte:
		return d.UnmarshalText([]byte(firstN(string(v), 10)))
	case time.Time:
		*d = DateOf(v, v.Location())
		return nil
	}
	return fmt.Errorf("scan date: unsupported type %T", src)
}

func firstN(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
