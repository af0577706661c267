package plans

import (
	"testing"
	"time"
)

// FuzzParseMeetingTime checks that any meeting time either parses to a time in the plan's zone
// that reads back the same, or is refused with an error, never a panic.
func FuzzParseMeetingTime(f *testing.F) {
	for _, s := range []string{
		"2026-03-05T10:00", "2026-03-05T10:00:30", "2026-03-05T10:00:00+01:00", "2026-03-05T09:00:00Z",
		"2026-03-29T02:30", "next tuesday", "", "2026-13-01T10:00", "2026-03-05 10:00",
	} {
		f.Add(s)
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseMeetingTime(s, paris)
		if err != nil {
			return
		}
		if got.Location() != paris {
			t.Fatalf("%q: got zone %s, want Europe/Paris", s, got.Location())
		}
		back, err := ParseMeetingTime(got.Format(time.RFC3339Nano), paris)
		if err != nil || !back.Equal(got) {
			t.Fatalf("%q: %s does not read back (%v, %v)", s, got.Format(time.RFC3339Nano), back, err)
		}
	})
}

func TestParseMeetingTime(t *testing.T) {
	t.Parallel()
	paris := mustLoc(t, "Europe/Paris")
	tests := map[string]struct {
		in   string
		want time.Time
		ok   bool
	}{
		"local":       {"2026-03-05T10:00", time.Date(2026, 3, 5, 10, 0, 0, 0, paris), true},
		"with offset": {"2026-03-05T10:00:00-05:00", time.Date(2026, 3, 5, 16, 0, 0, 0, paris), true},
		"utc":         {"2026-07-05T08:00:00Z", time.Date(2026, 7, 5, 10, 0, 0, 0, paris), true},
		"words":       {"next tuesday", time.Time{}, false},
		"date only":   {"2026-03-05", time.Time{}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseMeetingTime(tc.in, paris)
			if (err == nil) != tc.ok || (tc.ok && !got.Equal(tc.want)) {
				t.Errorf("got %v, %v; want %v ok=%v", got, err, tc.want, tc.ok)
			}
		})
	}
}
