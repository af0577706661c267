package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/store"
)

// hookStore is an in-memory WebhookStore: events deduplicated by key, each call one
// all-or-nothing "transaction". With gated set, every call first announces itself on calls and
// waits for the test to release it (nil: proceed; an error: fail with it).
type hookStore struct {
	gated bool
	calls chan *hookCall
	// refuse fails every call that carries an event with this key (as a database refuses a row).
	refuse string

	mu    sync.Mutex
	ids   map[string]int64
	sizes []int // events per call that committed
}

type hookCall struct {
	ctx     context.Context
	events  []store.NewWebhookEvent
	release chan error
}

var errRefused = errors.New("event refused by the database")

// stuck bounds how long a test waits for something that should happen (a store call, an answer):
// a guard, so that a broken committer fails the test instead of hanging it, not a timing
// assertion.
const stuck = 30 * time.Second

func newHookStore(gated bool) *hookStore {
	return &hookStore{gated: gated, calls: make(chan *hookCall), ids: map[string]int64{}}
}

func (s *hookStore) StoreWebhookEventIDs(ctx context.Context, events []store.NewWebhookEvent, onStored store.OnWebhookEventsStored) ([]int64, error) {
	if s.gated {
		c := &hookCall{ctx: ctx, events: events, release: make(chan error)}
		s.calls <- c
		if err := <-c.release; err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	each := make([]int64, len(events))
	added := map[string]int64{}
	var ids []int64
	for i, e := range events {
		if e.Key == s.refuse {
			return nil, fmt.Errorf("store event %s: %w", e.Key, errRefused)
		}
		if _, ok := s.ids[e.Key]; ok {
			continue
		}
		if _, ok := added[e.Key]; ok {
			continue
		}
		id := int64(len(s.ids) + len(added) + 1)
		added[e.Key], each[i] = id, id
		ids = append(ids, id)
	}
	if onStored != nil && len(ids) > 0 {
		if err := onStored(ctx, nil, ids); err != nil {
			return nil, err
		}
	}
	for k, id := range added {
		s.ids[k] = id
	}
	s.sizes = append(s.sizes, len(events))
	return each, nil
}

// next is the next call to the store, gated: the test releases it.
func (s *hookStore) next(t *testing.T) *hookCall {
	t.Helper()
	select {
	case c := <-s.calls:
		return c
	case <-time.After(stuck):
		t.Fatalf("no store call in %s", stuck)
		return nil
	}
}

func (s *hookStore) stored(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.ids[key]
	return ok
}

func (c *hookCall) keys() []string {
	var out []string
	for _, e := range c.events {
		out = append(out, e.Key)
	}
	return out
}

func testCommitter(t *testing.T, s WebhookStore, slots int, opts WebhookOptions) *committer {
	t.Helper()
	opts.Store, opts.CommitGroups, opts.Logger = s, slots, zerolog.Nop()
	return newCommitter(opts)
}

// waiting is how many requests wait in the queue.
func (c *committer) waitingNow() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

// waitQueue waits until n requests wait in c's queue.
func waitQueue(t *testing.T, c *committer, n int) {
	t.Helper()
	deadline := time.After(stuck)
	for c.waitingNow() != n {
		select {
		case <-deadline:
			t.Fatalf("%d requests waiting, want %d", c.waitingNow(), n)
		case <-time.After(time.Millisecond):
		}
	}
}

type commitResult struct {
	ids []int64
	err error
}

// submit commits one event per key from its own goroutine; the result arrives on the channel.
func submit(ctx context.Context, c *committer, keys ...string) <-chan commitResult {
	out := make(chan commitResult, 1)
	var evs []store.NewWebhookEvent
	for _, k := range keys {
		evs = append(evs, store.NewWebhookEvent{ConnectionID: 1, Source: store.WebhookGeneric, Key: k})
	}
	go func() {
		ids, err := c.commit(ctx, evs)
		out <- commitResult{ids, err}
	}()
	return out
}

func result(t *testing.T, ch <-chan commitResult) commitResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(stuck):
		t.Fatalf("no answer in %s", stuck)
		return commitResult{}
	}
}

func histogram(t *testing.T, h prometheus.Histogram) (count uint64, sum float64) {
	t.Helper()
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
}

// TestCommitterGroups: requests that arrive while a group commits wait, unanswered, and are then
// committed together in one store call with one OnStored call; each gets its own ids, an event
// two requests of the group carry is stored once (the other gets 0: a duplicate), and one already
// stored is a duplicate too.
func TestCommitterGroups(t *testing.T) {
	t.Parallel()
	s := newHookStore(true)
	var woken []int64
	c := testCommitter(t, s, 1, WebhookOptions{Stored: func(ids []int64) { woken = append(woken, ids...) }})
	first := submit(t.Context(), c, "a")
	call := s.next(t)

	var waiting []<-chan commitResult
	for i := range 8 {
		waiting = append(waiting, submit(t.Context(), c, fmt.Sprintf("k%d", i), "shared"))
	}
	waiting = append(waiting, submit(t.Context(), c, "a"))
	waitQueue(t, c, 9)
	select {
	case r := <-first:
		t.Fatalf("answered %+v before its commit ended", r)
	default:
	}
	call.release <- nil
	if r := result(t, first); r.err != nil || len(r.ids) != 1 || r.ids[0] == 0 {
		t.Fatalf("first request: %+v", r)
	}

	group := s.next(t)
	if len(group.events) != 17 {
		t.Fatalf("second store call has %v, want the 9 requests waiting (17 events) in one call", group.keys())
	}
	for _, ch := range waiting {
		select {
		case r := <-ch:
			t.Fatalf("answered %+v before its group's commit ended", r)
		default:
		}
	}
	group.release <- nil
	sharedTo := 0
	for i, ch := range waiting[:8] {
		r := result(t, ch)
		if r.err != nil || len(r.ids) != 2 || r.ids[0] == 0 {
			t.Fatalf("request %d: %+v, want its own event stored", i, r)
		}
		if r.ids[1] != 0 {
			sharedTo++
		}
	}
	if sharedTo != 1 {
		t.Errorf("the event 8 requests carry was stored for %d of them, want 1", sharedTo)
	}
	if r := result(t, waiting[8]); r.err != nil || !slices.Equal(r.ids, []int64{0}) {
		t.Errorf("redelivered event: %+v, want a duplicate (0)", r)
	}
	if !slices.Equal(s.sizes, []int{1, 17}) || len(woken) != 1+9 {
		t.Errorf("store calls of %v events and %d ids woken, want [1 17] and 10", s.sizes, len(woken))
	}
	if n, sum := histogram(t, c.groupSize); n != 2 || sum != 10 {
		t.Errorf("commit requests histogram: %d groups of %v requests in all, want 2 and 10", n, sum)
	}
}

// TestCommitterGroupEvents: a group gathers at most groupEvents events (a request is never
// split): the requests beyond wait for the next group.
func TestCommitterGroupEvents(t *testing.T) {
	t.Parallel()
	s := newHookStore(true)
	c := testCommitter(t, s, 1, WebhookOptions{})
	c.groupEvents = 4
	first := submit(t.Context(), c, "a")
	call := s.next(t)
	second := submit(t.Context(), c, "b1", "b2", "b3")
	waitQueue(t, c, 1)
	third := submit(t.Context(), c, "c1", "c2")
	waitQueue(t, c, 2)
	call.release <- nil
	for _, want := range [][]string{{"b1", "b2", "b3"}, {"c1", "c2"}} {
		call := s.next(t)
		if !slices.Equal(call.keys(), want) {
			t.Fatalf("store call of %v, want %v", call.keys(), want)
		}
		call.release <- nil
	}
	for _, ch := range []<-chan commitResult{first, second, third} {
		if r := result(t, ch); r.err != nil {
			t.Fatal(r.err)
		}
	}
}

// TestCommitterFailureIsolation: when a group's transaction fails, each of its requests is stored
// alone: the one whose event the store refuses gets the error, the others are stored and
// answered. A request alone is not retried.
func TestCommitterFailureIsolation(t *testing.T) {
	t.Parallel()
	s := newHookStore(true)
	s.refuse = "bad"
	var hooked [][]int64
	c := testCommitter(t, s, 1, WebhookOptions{OnStored: func(_ context.Context, _ *sql.Tx, ids []int64) error {
		hooked = append(hooked, ids)
		return nil
	}})
	first := submit(t.Context(), c, "a")
	call := s.next(t)
	good1 := submit(t.Context(), c, "g1")
	waitQueue(t, c, 1)
	bad := submit(t.Context(), c, "x", "bad")
	waitQueue(t, c, 2)
	good2 := submit(t.Context(), c, "g2")
	waitQueue(t, c, 3)
	call.release <- nil
	if r := result(t, first); r.err != nil {
		t.Fatal(r.err)
	}
	// The group of 3, then each alone.
	for _, want := range [][]string{{"g1", "x", "bad", "g2"}, {"g1"}, {"x", "bad"}, {"g2"}} {
		call := s.next(t)
		if !slices.Equal(call.keys(), want) {
			t.Fatalf("store call of %v, want %v", call.keys(), want)
		}
		call.release <- nil
	}
	for name, ch := range map[string]<-chan commitResult{"g1": good1, "g2": good2} {
		if r := result(t, ch); r.err != nil || len(r.ids) != 1 || r.ids[0] == 0 || !s.stored(name) {
			t.Errorf("good request %s: %+v, want it stored", name, r)
		}
	}
	if r := result(t, bad); !errors.Is(r.err, errRefused) || s.stored("x") {
		t.Errorf("refused request: %+v, want its error and nothing of it stored", r)
	}
	if len(hooked) != 3 {
		t.Errorf("OnStored calls: %v, want 3 (the first request, then each good one alone)", hooked)
	}

	// A request alone whose store call fails gets the error, without a retry.
	alone := submit(t.Context(), c, "bad")
	s.next(t).release <- nil
	if r := result(t, alone); !errors.Is(r.err, errRefused) {
		t.Fatalf("refused request alone: %+v", r)
	}
	// An outage (the group's store call fails, so do the retries) fails every request of the
	// group with the database's error.
	down := errors.New("connection refused")
	first = submit(t.Context(), c, "d0")
	call = s.next(t)
	r1 := submit(t.Context(), c, "d1")
	waitQueue(t, c, 1)
	r2 := submit(t.Context(), c, "d2")
	waitQueue(t, c, 2)
	call.release <- down
	for range 3 { // the group of 2 and each alone
		s.next(t).release <- down
	}
	for _, ch := range []<-chan commitResult{first, r1, r2} {
		if r := result(t, ch); !errors.Is(r.err, down) {
			t.Errorf("during an outage: %+v, want the database's error", r)
		}
	}
}

// TestCommitterContexts: the group's transaction does not run under any request's context, so
// the leader's client going away does not roll back the others; a request whose context ends
// while it waits is answered at once with an error: while still queued its events are left out
// of the group, once in a group they are committed with it.
func TestCommitterContexts(t *testing.T) {
	t.Parallel()
	s := newHookStore(true)
	c := testCommitter(t, s, 1, WebhookOptions{})
	ctxA, cancelA := context.WithCancel(t.Context())
	a := submit(ctxA, c, "a")
	call := s.next(t)
	cancelA()
	if call.ctx.Err() != nil {
		t.Fatal("the leader's context ending cancelled its group's transaction")
	}

	b := submit(t.Context(), c, "b")
	waitQueue(t, c, 1)
	ctxC, cancelC := context.WithCancel(t.Context())
	cc := submit(ctxC, c, "c")
	waitQueue(t, c, 2)
	ctxD, cancelD := context.WithCancel(t.Context())
	d := submit(ctxD, c, "d")
	waitQueue(t, c, 3)

	cancelC() // queued: answered now, left out of the group
	if r := result(t, cc); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("request cancelled while queued: %+v, want context.Canceled", r)
	}
	waitQueue(t, c, 2)
	call.release <- nil
	if r := result(t, a); r.err != nil {
		t.Fatalf("leader whose client went away: %+v; its group committed", r)
	}
	group := s.next(t)
	if !slices.Equal(group.keys(), []string{"b", "d"}) {
		t.Fatalf("next group %v, want b and d (c was cancelled while queued)", group.keys())
	}
	cancelD() // in a group: answered now, committed with the group
	if r := result(t, d); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("request cancelled in a group: %+v, want context.Canceled", r)
	}
	if group.ctx.Err() != nil {
		t.Fatal("a request's context ending cancelled its group's transaction")
	}
	group.release <- nil
	if r := result(t, b); r.err != nil {
		t.Fatal(r.err)
	}
	if !s.stored("a") || !s.stored("b") || !s.stored("d") || s.stored("c") {
		t.Fatalf("stored %v, want a, b and d", s.ids)
	}
}

// TestCommitterSlots: with 2 slots two groups commit at once; the requests arriving meanwhile
// wait and go in the group of whichever ends first.
func TestCommitterSlots(t *testing.T) {
	t.Parallel()
	s := newHookStore(true)
	c := testCommitter(t, s, 2, WebhookOptions{})
	a := submit(t.Context(), c, "a")
	callA := s.next(t)
	b := submit(t.Context(), c, "b")
	callB := s.next(t) // a second group while the first is committing
	var rest []<-chan commitResult
	for i := range 5 {
		rest = append(rest, submit(t.Context(), c, fmt.Sprint(i)))
	}
	waitQueue(t, c, 5)
	callB.release <- nil
	if r := result(t, b); r.err != nil {
		t.Fatal(r.err)
	}
	group := s.next(t)
	if len(group.events) != 5 {
		t.Fatalf("next group %v, want the 5 waiting", group.keys())
	}
	group.release <- nil
	callA.release <- nil
	for _, ch := range append(rest, a) {
		if r := result(t, ch); r.err != nil {
			t.Fatal(r.err)
		}
	}
	c.mu.Lock()
	groups, queued := c.groups, len(c.queue)
	c.mu.Unlock()
	if groups != 0 || queued != 0 {
		t.Fatalf("after every answer: %d groups, %d waiting, want none", groups, queued)
	}
}

// panicStore panics in its second call.
type panicStore struct {
	*hookStore
	n int
}

func (s *panicStore) StoreWebhookEventIDs(ctx context.Context, events []store.NewWebhookEvent, onStored store.OnWebhookEventsStored) ([]int64, error) {
	c := &hookCall{ctx: ctx, events: events, release: make(chan error)}
	s.calls <- c
	<-c.release
	s.mu.Lock()
	s.n++
	n := s.n
	s.mu.Unlock()
	if n == 2 {
		panic("store bug")
	}
	return s.hookStore.StoreWebhookEventIDs(ctx, events, onStored)
}

// TestCommitterPanic: a store call that panics answers every other request of its group with an
// error and frees its slot (the panic goes on up the leader's request, where net/http recovers
// it); the next requests commit.
func TestCommitterPanic(t *testing.T) {
	t.Parallel()
	s := &panicStore{hookStore: newHookStore(false)}
	c := testCommitter(t, s, 1, WebhookOptions{})
	first := submit(t.Context(), c, "a")
	call := s.next(t)
	panicked := make(chan any, 1)
	go func() { // the first waiting: it leads the next group
		defer func() { panicked <- recover() }()
		_, _ = c.commit(t.Context(), []store.NewWebhookEvent{{Key: "b"}})
	}()
	waitQueue(t, c, 1)
	follower := submit(t.Context(), c, "c")
	waitQueue(t, c, 2)
	call.release <- nil
	if r := result(t, first); r.err != nil {
		t.Fatal(r.err)
	}
	group := s.next(t)
	if !slices.Equal(group.keys(), []string{"b", "c"}) {
		t.Fatalf("second group %v, want b and c", group.keys())
	}
	group.release <- nil
	if p := <-panicked; p != "store bug" {
		t.Fatalf("leader: recovered %v, want the store's panic", p)
	}
	if r := result(t, follower); r.err == nil {
		t.Fatalf("follower in the group that panicked: %+v, want an error", r)
	}
	later := submit(t.Context(), c, "d")
	s.next(t).release <- nil
	if r := result(t, later); r.err != nil || !s.stored("d") {
		t.Fatalf("after the panic: %+v", r)
	}
}
