package store

import (
	"context"
	"testing"
	"time"
)

// TestTurnsUrgentFirst: with the turn held and ordinary callers waiting, an urgent caller that
// comes last gets the turn next; an urgent caller that gives up lets the ordinary ones go.
func TestTurnsUrgentFirst(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tr := newTurns()
	if err := tr.take(ctx, false); err != nil {
		t.Fatal(err)
	}
	order := make(chan string, 4)
	for _, name := range []string{"ordinary1", "ordinary2"} {
		go func() {
			if err := tr.take(ctx, false); err != nil {
				order <- "error: " + err.Error()
				return
			}
			order <- name
			tr.give()
		}()
	}
	urgentCtx, cancelUrgent := context.WithCancel(ctx)
	defer cancelUrgent()
	go func() {
		if err := tr.take(urgentCtx, true); err != nil {
			order <- "error: " + err.Error()
			return
		}
		order <- "urgent"
		tr.give()
	}()
	waitFor(t, func() bool { return waiting(tr) == 1 })
	tr.give()
	if got := <-order; got != "urgent" {
		t.Fatalf("first after the holder: got %s, want urgent", got)
	}
	for range 2 {
		if got := <-order; got != "ordinary1" && got != "ordinary2" {
			t.Fatalf("then: got %s, want the ordinary callers", got)
		}
	}

	// An urgent caller that gives up while waiting is no longer counted: ordinary callers go.
	if err := tr.take(ctx, false); err != nil {
		t.Fatal(err)
	}
	gaveUp := make(chan error, 1)
	urgent2, cancel2 := context.WithCancel(ctx)
	go func() { gaveUp <- tr.take(urgent2, true) }()
	waitFor(t, func() bool { return waiting(tr) == 1 })
	go func() {
		if err := tr.take(ctx, false); err != nil {
			order <- "error: " + err.Error()
			return
		}
		order <- "ordinary3"
		tr.give()
	}()
	cancel2()
	if err := <-gaveUp; err == nil {
		t.Fatal("urgent caller that gave up got the turn while it was held")
	}
	if n := waiting(tr); n != 0 {
		t.Fatalf("urgent callers counted after the only one gave up: %d", n)
	}
	tr.give()
	if got := <-order; got != "ordinary3" {
		t.Fatalf("after the urgent caller gave up: got %s, want ordinary3", got)
	}
}

func waiting(t *turns) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.urgent
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 30s")
		}
		time.Sleep(time.Millisecond)
	}
}
