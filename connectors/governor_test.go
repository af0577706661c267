package connectors

import (
	"sync"
	"testing"
	"time"
)

// TestGovernorWindow: once the CRM reports a rolling window, the governor lets through at most
// the window's maximum less its headroom in any interval (plus the pad), counting the requests
// sent before the window was known, and frees each slot as its request ages out.
func TestGovernorWindow(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	g := NewGovernors(GovernorOptions{Rate: 1000, Burst: 1000, Now: clock}).For("hs")

	// Ten requests before any reply reported the window.
	for range 10 {
		if w := g.takeWindowSlot(); w != 0 {
			t.Fatalf("before a window is known: wait %s, want none", w)
		}
		advance(100 * time.Millisecond)
	}
	g.ObserveWindow(100, 90, 10*time.Second)
	limit := 100 - windowHeadroom(100)
	if limit != 98 {
		t.Fatalf("limit: got %d a window, want 98", limit)
	}
	// 88 more fit in the window (98 with the 10 before), the 99th waits.
	for i := range limit - 10 {
		if w := g.takeWindowSlot(); w != 0 {
			t.Fatalf("request %d of the window: wait %s, want none", 11+i, w)
		}
	}
	// The first request was 1 s ago: it ages out after 10 s and the pad.
	w := g.takeWindowSlot()
	if want := 10*time.Second + windowPad - time.Second; w != want {
		t.Fatalf("full window: wait %s, want %s (until the oldest request ages out)", w, want)
	}
	advance(w)
	if w := g.takeWindowSlot(); w != 0 {
		t.Fatalf("after the oldest aged out: wait %s, want none", w)
	}
	// One slot freed, one taken: full again until the second oldest ages out, 100 ms later.
	if w := g.takeWindowSlot(); w != 100*time.Millisecond {
		t.Fatalf("full again: wait %s, want 100ms", w)
	}

	// In any interval (+pad) the governor never let more than the limit through.
	g2 := NewGovernors(GovernorOptions{Now: clock}).For("hs2")
	g2.ObserveWindow(100, 100, 10*time.Second)
	var sent []time.Time
	for len(sent) < 1000 {
		if w := g2.takeWindowSlot(); w > 0 {
			advance(w)
			continue
		}
		sent = append(sent, clock())
		advance(7 * time.Millisecond)
	}
	for i := range sent {
		j := i
		for j < len(sent) && sent[j].Sub(sent[i]) < 10*time.Second+windowPad {
			j++
		}
		if j-i > limit {
			t.Fatalf("%d requests within one interval from request %d, want at most %d", j-i, i, limit)
		}
	}
	if span := sent[len(sent)-1].Sub(sent[0]); span > 110*time.Second {
		t.Errorf("1000 requests took %s of clock: the window is under-used (want about 1000/98 intervals)", span)
	}
}
