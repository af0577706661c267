package server

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/store"
)

// Group commit: the receivers' requests store their events through a committer, which puts every
// request waiting at that moment into one transaction (one StoreWebhookEventIDs call, so one
// OnStored call: one processing job per group) and answers each request only after that
// transaction committed. There is no timer: a group is whatever queued while the groups before it
// were committing, as in a database's group commit. Up to CommitGroups groups commit at once, so
// that the database is not idle while a group's answers go out and the next one gathers.
//
// There is no goroutine of its own: the request that finds a free slot commits its group itself
// (the leader), and when a group ends, its leader hands the slot to the first request waiting,
// which then gathers and commits the next group. A handler returns only after its own request is
// answered, so http.Server.Shutdown waits for every group in flight.

// DefaultCommitGroups is WebhookOptions.CommitGroups's default: how many group commits may be
// in flight at once.
const DefaultCommitGroups = 2

// Group commit bounds.
const (
	// webhookCommitTimeout bounds a group's transaction, retries of its requests one by one
	// included. It is not any request's context: a client that goes away does not cancel the
	// others' commit.
	webhookCommitTimeout = 30 * time.Second
	// webhookGroupEvents is the most events a group gathers (a request is never split; one of
	// more events than this commits alone): it bounds a transaction and its processing job.
	webhookGroupEvents = 1000
)

// commitState is where a waiting request is: in the queue, chosen to lead the next group, or in
// a group being committed.
type commitState int

const (
	commitQueued commitState = iota
	commitLeading
	commitGrouped
)

// commitRequest is one request's events, waiting for its group's commit.
type commitRequest struct {
	events []store.NewWebhookEvent
	// state is guarded by committer.mu.
	state commitState
	// lead is closed when the request is chosen to lead the next group.
	lead chan struct{}
	// done is closed when ids and err are set (by the group's leader).
	done chan struct{}
	// ids has one entry per event: its new id, or 0 when it was not stored (a duplicate).
	ids []int64
	err error
}

// committer is the receivers' group commit (see above).
type committer struct {
	store    WebhookStore
	onStored store.OnWebhookEventsStored
	stored   func(ids []int64)
	slots    int
	log      zerolog.Logger
	// timeout and groupEvents are webhookCommitTimeout and webhookGroupEvents (fields for tests).
	timeout     time.Duration
	groupEvents int

	groupSize prometheus.Histogram
	waiting   prometheus.Gauge

	mu    sync.Mutex
	queue []*commitRequest
	// groups counts the groups committing, and requests chosen to lead one that have not yet
	// gathered it. While groups < slots the queue is empty.
	groups int
}

func newCommitter(opts WebhookOptions) *committer {
	return &committer{store: opts.Store, onStored: opts.OnStored, stored: opts.Stored, slots: opts.CommitGroups, log: opts.Logger,
		timeout: webhookCommitTimeout, groupEvents: webhookGroupEvents,
		groupSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mapsync_webhook_commit_requests",
			Help:    "Webhook requests whose events were committed together in one transaction (group commit), per transaction.",
			Buckets: []float64{1, 2, 3, 5, 8, 13, 21, 34, 55, 89}}),
		waiting: prometheus.NewGauge(prometheus.GaugeOpts{Name: "mapsync_webhook_commit_waiting",
			Help: "Webhook requests verified and waiting for a group commit to take them."}),
	}
}

// commit stores events with those of the requests waiting with them and returns, once they are
// committed, one id per event (0: a duplicate, stored before or by another request). When ctx
// ends first it returns ctx's error; the events may still be committed with their group.
func (c *committer) commit(ctx context.Context, events []store.NewWebhookEvent) ([]int64, error) {
	r := &commitRequest{events: events, lead: make(chan struct{}), done: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, r)
	c.waiting.Inc()
	leads := c.promoteLocked(r)
	c.mu.Unlock()
	if leads {
		c.lead(ctx, r)
		return r.ids, r.err
	}
	select {
	case <-r.done:
		return r.ids, r.err
	case <-r.lead:
		c.lead(ctx, r)
		return r.ids, r.err
	case <-ctx.Done():
	}
	c.mu.Lock()
	state := r.state
	if state == commitQueued {
		c.queue = slices.DeleteFunc(c.queue, func(q *commitRequest) bool { return q == r })
		c.waiting.Dec()
	}
	c.mu.Unlock()
	if state == commitLeading { // chosen as ctx ended: the slot is this request's to use
		c.lead(ctx, r)
	}
	return nil, fmt.Errorf("webhook events not acknowledged: %w", ctx.Err())
}

// promoteLocked chooses, while a slot is free, the first request waiting to lead the next group,
// and reports whether that is self (which then leads without waiting).
func (c *committer) promoteLocked(self *commitRequest) (leads bool) {
	for c.groups < c.slots && len(c.queue) > 0 {
		next := c.queue[0]
		c.queue = c.queue[1:]
		c.waiting.Dec()
		c.groups++
		next.state = commitLeading
		if next == self {
			leads = true
		} else {
			close(next.lead)
		}
	}
	return leads
}

// lead gathers a group, self first then the requests waiting (up to groupEvents events),
// commits it, gives up the slot and answers every request of the group.
func (c *committer) lead(ctx context.Context, self *commitRequest) {
	c.mu.Lock()
	group := []*commitRequest{self}
	n := len(self.events)
	for len(c.queue) > 0 && n+len(c.queue[0].events) <= c.groupEvents {
		group = append(group, c.queue[0])
		n += len(c.queue[0].events)
		c.queue = c.queue[1:]
		c.waiting.Dec()
	}
	for _, r := range group {
		r.state = commitGrouped
	}
	c.mu.Unlock()

	answered := 0
	defer func() {
		c.mu.Lock()
		c.groups--
		c.promoteLocked(nil)
		c.mu.Unlock()
		p := recover()
		for _, r := range group[answered:] {
			if p != nil {
				r.err = fmt.Errorf("webhook group commit failed: %v", p)
			}
			close(r.done)
		}
		if p != nil {
			panic(p)
		}
	}()
	// The group's transaction is not any request's: a client that goes away (its context
	// cancelled) must not roll back the events of the others.
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	defer cancel()
	c.groupSize.Observe(float64(len(group)))
	events := make([]store.NewWebhookEvent, 0, n)
	for _, r := range group {
		events = append(events, r.events...)
	}
	each, err := c.storeEvents(gctx, events)
	if err == nil {
		c.wake(each)
		for _, r := range group {
			r.ids, each = each[:len(r.events):len(r.events)], each[len(r.events):]
		}
		return
	}
	if len(group) == 1 || gctx.Err() != nil {
		for _, r := range group {
			r.err = err
		}
		return
	}
	// One request's events may be what the database refused: each request alone, so that it
	// fails alone. Answered as each commits.
	c.log.Warn().Err(err).Int("requests", len(group)).Int("events", len(events)).Msg("webhook group commit failed: storing its requests one by one")
	for i, r := range group {
		r.ids, r.err = c.storeEvents(gctx, r.events)
		if r.err == nil {
			c.wake(r.ids)
		}
		close(r.done)
		answered = i + 1
	}
}

// storeEvents stores events in one transaction and returns one id per event (0: not stored).
func (c *committer) storeEvents(ctx context.Context, events []store.NewWebhookEvent) ([]int64, error) {
	each, err := c.store.StoreWebhookEventIDs(ctx, events, c.onStored)
	if err == nil && len(each) != len(events) {
		return nil, fmt.Errorf("webhook store answered %d ids for %d events", len(each), len(events))
	}
	return each, err
}

// wake calls Stored with the ids of newly stored events (each's non-zero entries).
func (c *committer) wake(each []int64) {
	if c.stored == nil {
		return
	}
	if ids := store.StoredIDs(each); len(ids) > 0 {
		c.stored(ids)
	}
}
