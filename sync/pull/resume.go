package pull

import (
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/mapsync/mapsync/connectors"
)

// A full pass (a first pull, or a --full reconcile) is resumable. With each committed batch of
// records it stores, in the same transaction, the object's cursor with the pass's state in
// Cursor.Extra under the keys below, next to the cursor the pass started from (Stamp, ID and the
// connector's own Extra stay as they were, so an interrupted reconcile never moves the incremental
// cursor):
//
//   - full.start: when the pass began (the store's clock). A resumed pass keeps it, so that its
//     reconcile (MarkUnseenDeleted) treats the records committed before the interruption, whose
//     synced_at is later, as seen.
//   - full.max_stamp, full.max_id: the greatest (stamp, id) the pass has stored; the final cursor
//     is built from it.
//   - full.at.*: where the connector's walk stands after the last page of an unbroken committed
//     prefix: the Cursor.Extra of that page, which the connector hands back to continue after it
//     (a Full PullRequest whose Since.Extra is that page's Cursor.Extra). A connector that puts
//     nothing there is not resumable, and its pass starts over.
//
// The next run of the object (incremental or full) finds the state and continues the pass instead
// of starting another; the pass's end replaces the state with the final cursor.
const (
	passStartKey    = "full.start"
	passMaxStampKey = "full.max_stamp"
	passMaxIDKey    = "full.max_id"
	passAtPrefix    = "full.at."
	passPrefix      = "full."
)

// pass is the stored state of an interrupted full pass.
type pass struct {
	start time.Time
	max   connectors.Cursor
	at    map[string]string
}

// splitCursor separates a stored cursor into the cursor the pass started from and the pass's
// state (nil when no pass is pending). A malformed state is reported and ignored: the pass starts
// over, which costs calls but loses nothing.
func splitCursor(stored connectors.Cursor) (connectors.Cursor, *pass, error) {
	base := connectors.Cursor{Stamp: stored.Stamp, ID: stored.ID}
	var state map[string]string
	for k, v := range stored.Extra {
		if strings.HasPrefix(k, passPrefix) {
			if state == nil {
				state = map[string]string{}
			}
			state[k] = v
			continue
		}
		if base.Extra == nil {
			base.Extra = map[string]string{}
		}
		base.Extra[k] = v
	}
	if state[passStartKey] == "" {
		return base, nil, nil
	}
	ps := &pass{at: map[string]string{}}
	var err error
	if ps.start, err = time.Parse(time.RFC3339Nano, state[passStartKey]); err != nil {
		return base, nil, fmt.Errorf("pending full pass: start: %w", err)
	}
	if s := state[passMaxStampKey]; s != "" {
		if ps.max.Stamp, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return base, nil, fmt.Errorf("pending full pass: greatest stamp: %w", err)
		}
		ps.max.ID = state[passMaxIDKey]
	}
	for k, v := range state {
		if at, ok := strings.CutPrefix(k, passAtPrefix); ok {
			ps.at[at] = v
		}
	}
	if len(ps.at) == 0 {
		return base, nil, fmt.Errorf("pending full pass: no position")
	}
	return base, ps, nil
}

// passCursor is the cursor stored with a batch of a full pass: base with the pass's state.
func passCursor(base connectors.Cursor, start time.Time, greatest connectors.Cursor, at map[string]string) connectors.Cursor {
	c := connectors.Cursor{Stamp: base.Stamp, ID: base.ID, Extra: make(map[string]string, len(base.Extra)+len(at)+3)}
	maps.Copy(c.Extra, base.Extra)
	c.Extra[passStartKey] = start.UTC().Format(time.RFC3339Nano)
	if !greatest.Stamp.IsZero() {
		c.Extra[passMaxStampKey] = greatest.Stamp.UTC().Format(time.RFC3339Nano)
		c.Extra[passMaxIDKey] = greatest.ID
	}
	for k, v := range at {
		c.Extra[passAtPrefix+k] = v
	}
	return c
}

// pendingPass reports whether a stored cursor holds the state of an interrupted full pass.
func pendingPass(stored connectors.Cursor) bool {
	_, ps, err := splitCursor(stored)
	return ps != nil && err == nil
}

// passTracker knows which pages of a full pass are committed. Pages are numbered in the order the
// connector delivered them; writers commit them out of order, so the resume point stored with a
// batch is the connector's position after the longest unbroken prefix of pages committed once
// that batch is. Guarded by the object's mutex.
type passTracker struct {
	low       int                       // every page numbered below low is committed
	committed map[int]bool              // pages at or above low that are committed
	at        map[int]map[string]string // the connector's position after each page not yet passed by low
	written   int                       // low as of the last resume point handed out
}

func newPassTracker() *passTracker {
	return &passTracker{committed: map[int]bool{}, at: map[int]map[string]string{}}
}

// delivered records the connector's position after page seq.
func (t *passTracker) delivered(seq int, at map[string]string) {
	t.at[seq] = at
}

// resumeAfter returns the connector's position after the unbroken prefix of pages committed once
// batch (page numbers, ascending) is, or nil when that prefix is no longer than the last one
// handed out, or when the connector gave no position for its last page.
func (t *passTracker) resumeAfter(batch []int) map[string]string {
	in := make(map[int]bool, len(batch))
	for _, s := range batch {
		in[s] = true
	}
	low := t.low
	for t.committed[low] || in[low] {
		low++
	}
	if low <= t.written {
		return nil
	}
	at := t.at[low-1]
	if len(at) == 0 {
		return nil
	}
	t.written = low
	return at
}

// commit marks batch committed and forgets the positions the prefix has passed.
func (t *passTracker) commit(batch []int) {
	for _, s := range batch {
		t.committed[s] = true
	}
	for t.committed[t.low] {
		delete(t.committed, t.low)
		if t.low > 0 {
			delete(t.at, t.low-1)
		}
		t.low++
	}
}
