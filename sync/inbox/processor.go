package inbox

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/store"
)

// Store is what processing needs from storage; *store.Store implements it.
type Store interface {
	WebhookEvents(ctx context.Context, f store.WebhookEventFilter) ([]store.WebhookEvent, error)
	FinishWebhookEvent(ctx context.Context, id int64, status, lastError string) error
	MarkDeleted(ctx context.Context, connectionID int64, object connectors.Object, ids []string) ([]string, error)
}

var _ Store = (*store.Store)(nil)

// Options configures a Processor.
type Options struct {
	// Store holds the events and records. Required.
	Store Store
	// Pull runs one incremental pull of the connection with its plan catch-up (under the
	// connection's run lock). Required.
	Pull func(ctx context.Context, connectionID int64) error
	// MaxAttempts is how many failed passes make an event dead (default 5).
	MaxAttempts int
	// Backoff is the pause before the next pass after a failure with attempt failures so far
	// (default 1s, doubling, at most 5m).
	Backoff func(attempt int) time.Duration
	// Poll is how often Run looks for pending events without being notified (default 5s): events
	// stored by another process, or left by a stopped one.
	Poll time.Duration
	// Registerer receives mapsync_webhook_events_processed_total{outcome}. Nil: none exported.
	Registerer prometheus.Registerer
	// Work, when set, is the context passes run under, instead of Run's: Run's context then only
	// says when to stop taking work, and a pass in flight goes on until Work ends (a daemon's
	// bounded shutdown).
	Work context.Context
	// Logger receives one line per pass.
	Logger zerolog.Logger
}

// Processor handles stored webhook events, connection by connection.
type Processor struct {
	opts      Options
	processed *prometheus.CounterVec
	wake      chan struct{}

	mu       sync.Mutex
	failures map[int64]int       // connection -> consecutive failed passes
	notUntil map[int64]time.Time // connection -> no pass before
}

// New returns a Processor.
func New(opts Options) (*Processor, error) {
	if opts.Store == nil || opts.Pull == nil {
		return nil, errors.New("inbox: store and pull are required")
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.Backoff == nil {
		opts.Backoff = func(n int) time.Duration { return min(time.Second<<min(n-1, 20), 5*time.Minute) }
	}
	if opts.Poll <= 0 {
		opts.Poll = 5 * time.Second
	}
	p := &Processor{opts: opts, wake: make(chan struct{}, 1), failures: map[int64]int{}, notUntil: map[int64]time.Time{},
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mapsync_webhook_events_processed_total",
			Help: "Webhook events processed, by outcome (done, retry, dead)."}, []string{"outcome"})}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(p.processed); err != nil {
			return nil, fmt.Errorf("inbox: register metrics: %w", err)
		}
	}
	return p, nil
}

// Notify wakes Run: events were stored.
func (p *Processor) Notify() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run processes pending events until ctx ends: when notified, and every Poll. It returns nil
// when ctx ends, after the pass in flight (which Options.Work, when set, may let go on).
func (p *Processor) Run(ctx context.Context) error {
	t := time.NewTicker(p.opts.Poll)
	defer t.Stop()
	work := ctx
	if p.opts.Work != nil {
		work = p.opts.Work
	}
	for {
		if ctx.Err() != nil {
			return nil
		}
		p.RunOnce(work)
		select {
		case <-ctx.Done():
			return nil
		case <-p.wake:
		case <-t.C:
		}
	}
}

// RunOnce makes one pass over every connection with pending events whose retry pause is over.
func (p *Processor) RunOnce(ctx context.Context) {
	pending, err := p.opts.Store.WebhookEvents(ctx, store.WebhookEventFilter{Statuses: []string{store.WebhookPending}, Limit: 1000})
	if err != nil {
		if ctx.Err() == nil {
			p.opts.Logger.Error().Err(err).Msg("list pending webhook events")
		}
		return
	}
	byConn := map[int64][]store.WebhookEvent{}
	var order []int64
	for _, e := range pending {
		if _, ok := byConn[e.ConnectionID]; !ok {
			order = append(order, e.ConnectionID)
		}
		byConn[e.ConnectionID] = append(byConn[e.ConnectionID], e)
	}
	for _, id := range order {
		if ctx.Err() != nil {
			return
		}
		p.mu.Lock()
		wait := time.Until(p.notUntil[id])
		p.mu.Unlock()
		if wait > 0 {
			continue
		}
		p.process(ctx, id, byConn[id])
	}
}

// Pass is what one pass over a connection's events did.
type Pass struct {
	Events  int      `json:"events"`
	Deleted []string `json:"deleted,omitempty"`
	Pulled  bool     `json:"pulled"`
}

// ProcessConnection makes one pass over a connection's pending events now, whatever the retry
// pause, and returns what it did; failures are recorded on the events as Run would.
func (p *Processor) ProcessConnection(ctx context.Context, connectionID int64) (*Pass, error) {
	evs, err := p.opts.Store.WebhookEvents(ctx, store.WebhookEventFilter{ConnectionID: connectionID, Statuses: []string{store.WebhookPending}, Limit: 1000})
	if err != nil {
		return nil, err
	}
	return p.process(ctx, connectionID, evs)
}

func (p *Processor) process(ctx context.Context, connectionID int64, evs []store.WebhookEvent) (*Pass, error) {
	if len(evs) == 0 {
		return &Pass{}, nil
	}
	log := p.opts.Logger.With().Int64("connection_id", connectionID).Int("events", len(evs)).Logger()
	pass, err := p.apply(ctx, connectionID, evs)
	if err != nil && ctx.Err() != nil {
		return pass, err // shutting down: the events stay pending for the next start
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err == nil {
		for _, e := range evs {
			if ferr := p.opts.Store.FinishWebhookEvent(fctx, e.ID, store.WebhookDone, ""); ferr != nil {
				return pass, ferr
			}
		}
		p.processed.WithLabelValues("done").Add(float64(len(evs)))
		p.mu.Lock()
		delete(p.failures, connectionID)
		delete(p.notUntil, connectionID)
		p.mu.Unlock()
		log.Info().Bool("pulled", pass.Pulled).Int("deleted", len(pass.Deleted)).Msg("webhook events processed")
		return pass, nil
	}
	p.mu.Lock()
	p.failures[connectionID]++
	n := p.failures[connectionID]
	p.notUntil[connectionID] = time.Now().Add(p.opts.Backoff(n))
	p.mu.Unlock()
	dead := 0
	for _, e := range evs {
		status := store.WebhookPending
		if e.Attempts+1 >= p.opts.MaxAttempts {
			status = store.WebhookDead
			dead++
		}
		if ferr := p.opts.Store.FinishWebhookEvent(fctx, e.ID, status, err.Error()); ferr != nil {
			return pass, errors.Join(err, ferr)
		}
	}
	p.processed.WithLabelValues("dead").Add(float64(dead))
	p.processed.WithLabelValues("retry").Add(float64(len(evs) - dead))
	log.Warn().Err(err).Int("dead", dead).Dur("retry_in", p.opts.Backoff(n)).Msg("webhook events failed")
	return pass, err
}

// apply marks deletions and merges, then pulls once if any event asks for fresh records.
func (p *Processor) apply(ctx context.Context, connectionID int64, evs []store.WebhookEvent) (*Pass, error) {
	pass := &Pass{Events: len(evs)}
	deleted := map[connectors.Object][]string{}
	for _, e := range evs {
		del, pull, err := plan(e)
		if err != nil {
			return pass, fmt.Errorf("event %d: %w", e.ID, err)
		}
		for obj, ids := range del {
			deleted[obj] = append(deleted[obj], ids...)
		}
		pass.Pulled = pass.Pulled || pull
	}
	for _, obj := range []connectors.Object{connectors.ObjectDeal, connectors.ObjectContact} {
		ids, err := p.opts.Store.MarkDeleted(ctx, connectionID, obj, deleted[obj])
		if err != nil {
			return pass, err
		}
		pass.Deleted = append(pass.Deleted, ids...)
	}
	if pass.Pulled {
		if err := p.opts.Pull(ctx, connectionID); err != nil {
			return pass, fmt.Errorf("pull: %w", err)
		}
	}
	return pass, nil
}

// plan says what an event calls for: records to mark deleted, and whether to pull.
func plan(e store.WebhookEvent) (map[connectors.Object][]string, bool, error) {
	if e.Source != store.WebhookHubSpot {
		return nil, true, nil
	}
	he, err := ParseHubSpotEvent([]byte(e.Payload))
	if err != nil {
		return nil, false, err
	}
	obj := connectors.Object(he.Object())
	if obj != connectors.ObjectDeal && obj != connectors.ObjectContact {
		return nil, false, nil // a company or other object: nothing of ours changes
	}
	switch he.Change() {
	case "deletion", "privacyDeletion":
		return map[connectors.Object][]string{obj: {e.CRMID}}, false, nil
	case "merge":
		var gone []string
		for _, id := range he.MergedObjectIDs {
			if id != he.PrimaryObjectID && id != he.NewObjectID {
				gone = append(gone, strconv.FormatInt(id, 10))
			}
		}
		return map[connectors.Object][]string{obj: gone}, true, nil
	}
	return nil, true, nil
}
