package pull

import (
	"maps"
	"testing"
	"time"

	"github.com/mapsync/mapsync/connectors"
)

func TestPassCursorRoundTrip(t *testing.T) {
	t.Parallel()
	base := connectors.Cursor{Stamp: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), ID: "7", Extra: map[string]string{"seen": "7:1"}}
	start := time.Date(2026, 11, 2, 3, 4, 5, 123456789, time.UTC)
	greatest := connectors.Cursor{Stamp: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), ID: "a b:c"}
	at := map[string]string{"list_pass": "live", "list_after": "1234"}
	c := passCursor(base, start, greatest, at)
	if !c.Stamp.Equal(base.Stamp) || c.ID != base.ID {
		t.Fatalf("pass cursor moved the incremental cursor: %+v", c)
	}
	gotBase, ps, err := splitCursor(c)
	if err != nil || ps == nil {
		t.Fatalf("split: %v, %v", ps, err)
	}
	if !gotBase.Stamp.Equal(base.Stamp) || gotBase.ID != base.ID || !maps.Equal(gotBase.Extra, base.Extra) {
		t.Errorf("base: got %+v, want %+v", gotBase, base)
	}
	if !ps.start.Equal(start) || !ps.max.Stamp.Equal(greatest.Stamp) || ps.max.ID != greatest.ID || !maps.Equal(ps.at, at) {
		t.Errorf("pass: got %+v, want start %v, max %+v, at %v", ps, start, greatest, at)
	}
	if !pendingPass(c) || pendingPass(base) {
		t.Error("pendingPass does not tell a pass cursor from a plain one")
	}
	// A pass without a position cannot resume.
	delete(c.Extra, passAtPrefix+"list_pass")
	delete(c.Extra, passAtPrefix+"list_after")
	if _, ps, err := splitCursor(c); ps != nil || err == nil {
		t.Errorf("pass without a position: got %+v, %v; want an error", ps, err)
	}
}

// The resume point stored with a batch covers only the unbroken prefix of committed pages, even
// when writers commit out of order.
func TestPassTrackerPrefix(t *testing.T) {
	t.Parallel()
	tr := newPassTracker()
	for i := range 6 {
		tr.delivered(i, map[string]string{"after": string(rune('a' + i))})
	}
	// Pages 1 and 2 commit first: page 0 is not committed, nothing to resume after.
	if at := tr.resumeAfter([]int{1, 2}); at != nil {
		t.Fatalf("got %v, want no resume point while page 0 is missing", at)
	}
	tr.commit([]int{1, 2})
	// Page 0 completes the prefix 0..2.
	if at := tr.resumeAfter([]int{0}); at["after"] != "c" {
		t.Fatalf("got %v, want the position after page 2", at)
	}
	tr.commit([]int{0})
	// Page 4 before 3: still after page 2, already stored.
	if at := tr.resumeAfter([]int{4}); at != nil {
		t.Fatalf("got %v, want nothing new", at)
	}
	tr.commit([]int{4})
	if at := tr.resumeAfter([]int{3}); at["after"] != "e" {
		t.Fatalf("got %v, want the position after page 4", at)
	}
	tr.commit([]int{3})
	// A page without a position is not a resume point.
	tr.delivered(6, nil)
	if at := tr.resumeAfter([]int{5, 6}); at != nil {
		t.Fatalf("got %v, want none after a page without a position", at)
	}
	if tr.low != 5 || len(tr.at) > 3 {
		t.Errorf("tracker keeps low %d and %d positions, want 5 and few", tr.low, len(tr.at))
	}
}
