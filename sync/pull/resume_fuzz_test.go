package pull

import (
	"encoding/json"
	"maps"
	"testing"

	"github.com/mapsync/mapsync/connectors"
)

// FuzzStoredCursor feeds arbitrary stored cursors (the JSON text of sync_cursors.cursor, as the
// store decodes it) through splitCursor: no panic; a pass state it accepts has a start and a
// position; and the cursor passCursor stores splits back into the same base and pass.
func FuzzStoredCursor(f *testing.F) {
	for _, s := range []string{
		`{"stamp":"2026-11-01T10:00:00Z","id":"5"}`,
		`{"stamp":"2026-11-01T10:00:00Z","extra":{"full.start":"2026-11-01T11:00:00.5Z","full.max_stamp":"2026-11-01T10:30:00Z","full.max_id":"9","full.at.after":"200","seen":"x:1"}}`,
		`{"stamp":"0001-01-01T00:00:00Z","extra":{"full.start":"not a time","full.at.after":"1"}}`,
		`{"extra":{"full.start":"2026-11-01T11:00:00Z"}}`, `{"extra":{"full.max_stamp":"x"}}`, `{"extra":null}`, `null`, `{"stamp":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var stored connectors.Cursor
		if json.Unmarshal(raw, &stored) != nil {
			return // the store reports an undecodable cursor as an error
		}
		base, ps, err := splitCursor(stored)
		for k := range base.Extra {
			if len(k) >= len(passPrefix) && k[:len(passPrefix)] == passPrefix {
				t.Fatalf("base cursor keeps pass state %q", k)
			}
		}
		if err != nil || ps == nil {
			return
		}
		if len(ps.at) == 0 {
			t.Fatalf("accepted a pass without a position: %+v", ps)
		}
		again := passCursor(base, ps.start, ps.max, ps.at)
		b2, ps2, err := splitCursor(again)
		if err != nil || ps2 == nil || !ps2.start.Equal(ps.start) || !maps.Equal(ps2.at, ps.at) || !b2.Stamp.Equal(base.Stamp) || b2.ID != base.ID {
			t.Fatalf("round trip: %+v %+v -> %+v %+v, %v", base, ps, b2, ps2, err)
		}
		if !ps.max.Stamp.IsZero() && (!ps2.max.Stamp.Equal(ps.max.Stamp) || ps2.max.ID != ps.max.ID) {
			t.Fatalf("round trip lost the greatest stamp: %+v -> %+v", ps.max, ps2.max)
		}
	})
}
