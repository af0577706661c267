package connectors

import (
	"testing"
	"time"
)

func TestCompareIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"9", "10", -1},
		{"10000000042", "9999999999", 1},
		{"007", "7", 0},
		{"006A", "006B", -1},
		{"0068c00001PyfOFAAZ", "0068c00001PyfOEAAZ", 1},
		{"9", "9a", -1},
	}
	for _, tc := range tests {
		if got := CompareIDs(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareIDs(%q, %q): got %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	stamp := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := Cursor{Stamp: stamp, ID: "9"}
	if !c.After(stamp, "10") || c.After(stamp, "8") || c.After(stamp.Add(-time.Second), "99") || !c.After(stamp.Add(time.Second), "1") {
		t.Fatal("Cursor.After does not order by (stamp, numeric id)")
	}
}
