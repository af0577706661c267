package plans

import (
	"encoding/json"
	"testing"
	"time"
)

func mustDate(t testing.TB, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("time zone %s not available: %v", name, err)
	}
	return loc
}

func TestAddBusinessDays(t *testing.T) {
	t.Parallel()
	// 2025-03-07 is a Friday.
	tests := []struct {
		name  string
		start string
		n     int
		want  string
	}{
		{"friday plus one is monday", "2025-03-07", 1, "2025-03-10"},
		{"thursday plus two is monday", "2025-03-06", 2, "2025-03-10"},
		{"friday plus five is next friday", "2025-03-07", 5, "2025-03-14"},
		{"saturday plus one is monday", "2025-03-08", 1, "2025-03-10"},
		{"sunday plus one is monday", "2025-03-09", 1, "2025-03-10"},
		{"monday minus one is friday", "2025-03-10", -1, "2025-03-07"},
		{"sunday minus one is friday", "2025-03-09", -1, "2025-03-07"},
		{"wednesday minus ten crosses two weekends", "2025-03-19", -10, "2025-03-05"},
		{"zero on a weekday stays", "2025-03-07", 0, "2025-03-07"},
		{"zero on saturday rolls to monday", "2025-03-08", 0, "2025-03-10"},
		{"across a month and year end", "2025-12-31", 3, "2026-01-05"},
		{"twenty from monday is four weeks", "2025-03-03", 20, "2025-03-31"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := mustDate(t, tt.start).AddBusinessDays(tt.n)
			if got.String() != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDateInTimeZones(t *testing.T) {
	t.Parallel()
	ny := mustLoc(t, "America/New_York")
	tokyo := mustLoc(t, "Asia/Tokyo")
	tests := []struct {
		name string
		at   time.Time
		loc  *time.Location
		want string
	}{
		{"utc early morning is the previous day in new york", time.Date(2025, 3, 10, 3, 30, 0, 0, time.UTC), ny, "2025-03-09"},
		{"utc evening is the next day in tokyo", time.Date(2025, 3, 10, 16, 0, 0, 0, time.UTC), tokyo, "2025-03-11"},
		{"nil location is utc", time.Date(2025, 3, 10, 23, 59, 0, 0, time.UTC), nil, "2025-03-10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := DateOf(tt.at, tt.loc).String(); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDateEndAcrossDST(t *testing.T) {
	t.Parallel()
	ny := mustLoc(t, "America/New_York")
	tests := []struct {
		name  string
		day   string
		hours float64
	}{
		{"spring forward day has 23 hours", "2025-03-09", 23},
		{"fall back day has 25 hours", "2025-11-02", 25},
		{"ordinary day has 24 hours", "2025-03-11", 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := mustDate(t, tt.day)
			if got := d.End(ny).Sub(d.In(ny)).Hours(); got != tt.hours {
				t.Errorf("got %v hours, want %v", got, tt.hours)
			}
		})
	}
}

func TestDateEncoding(t *testing.T) {
	t.Parallel()
	type doc struct {
		Due Date `json:"due"`
	}
	b, err := json.Marshal(doc{Due: mustDate(t, "2025-03-07")})
	if err != nil || string(b) != `{"due":"2025-03-07"}` {
		t.Errorf("marshal: got %s, %v; want {\"due\":\"2025-03-07\"}", b, err)
	}
	b, _ = json.Marshal(doc{})
	if string(b) != `{"due":null}` {
		t.Errorf("marshal zero: got %s, want {\"due\":null}", b)
	}
	var d doc
	if err := json.Unmarshal([]byte(`{"due":"2024-02-29"}`), &d); err != nil || d.Due.String() != "2024-02-29" {
		t.Errorf("unmarshal: got %v, %v; want 2024-02-29", d.Due, err)
	}
	if err := json.Unmarshal([]byte(`{"due":"2025-02-29"}`), &d); err == nil {
		t.Errorf("unmarshal 2025-02-29: got nil error, want one")
	}
	var s Date
	if err := s.Scan(time.Date(2025, 3, 7, 0, 0, 0, 0, time.UTC)); err != nil || s.String() != "2025-03-07" {
		t.Errorf("scan time: got %v, %v; want 2025-03-07", s, err)
	}
}

// TestAddBusinessDaysAgainstStepping checks the week-jumping arithmetic against counting one day
// at a time, for every start weekday and offsets up to six weeks either way.
func TestAddBusinessDaysAgainstStepping(t *testing.T) {
	t.Parallel()
	naive := func(d Date, n int) Date {
		step := 1
		if n < 0 {
			step, n = -1, -n
		}
		if n == 0 {
			for !d.IsBusinessDay() {
				d = d.AddDays(1)
			}
		}
		for n > 0 {
			d = d.AddDays(step)
			if d.IsBusinessDay() {
				n--
			}
		}
		return d
	}
	start := Date{2025, time.March, 1}
	for i := range 14 {
		d := start.AddDays(i)
		for n := -30; n <= 30; n++ {
			if got, want := d.AddBusinessDays(n), naive(d, n); got != want {
				t.Errorf("%s (%s) %+d: got %s, want %s", d, d.Weekday(), n, got, want)
			}
		}
	}
}
