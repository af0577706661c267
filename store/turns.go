package store

import (
	"context"
	"sync"
)

// turns orders the write transactions of one process on SQLite, whose single connection
// (SetMaxOpenConns(1)) serialises every statement anyway. database/sql hands a freed connection
// to a random waiter, so with a pull's several writers queued on it, one waiter can wait for
// many transactions in a row; the run lock's renewal was that waiter, and a long pull lost its
// lease ("run lock could not be renewed in time"). Here a transaction first takes a turn: one at
// a time, so at most one transaction waits on the connection pool, and urgent callers (the run
// lock's statements) go before every ordinary one. An urgent caller therefore waits for at most
// the transaction under way. No library offers a mutex with a priority lane
// (golang.org/x/sync/semaphore is FIFO only), hence these few lines.
//
// On PostgreSQL the pool has several connections and turns is nil: every method is a no-op.
type turns struct {
	mu     sync.Mutex
	held   bool
	urgent int           // urgent callers waiting
	freed  chan struct{} // closed (and replaced) whenever the turn is freed or an urgent caller gives up
}

func newTurns() *turns { return &turns{freed: make(chan struct{})} }

// take waits for the turn; an urgent caller goes before every ordinary one waiting. It returns
// ctx's error if ctx ends first. Each successful take must be followed by one give.
func (t *turns) take(ctx context.Context, urgent bool) error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	if urgent {
		t.urgent++
	}
	for t.held || (!urgent && t.urgent > 0) {
		ch := t.freed
		t.mu.Unlock()
		select {
		case <-ch:
			t.mu.Lock()
		case <-ctx.Done():
			t.mu.Lock()
			if urgent {
				t.urgent--
				t.wakeLocked() // ordinary callers may go now
			}
			t.mu.Unlock()
			return ctx.Err()
		}
	}
	if urgent {
		t.urgent--
	}
	t.held = true
	t.mu.Unlock()
	return nil
}

// give frees the turn.
func (t *turns) give() {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.held = false
	t.wakeLocked()
	t.mu.Unlock()
}

func (t *turns) wakeLocked() {
	close(t.freed)
	t.freed = make(chan struct{})
}
