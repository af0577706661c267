package pull

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/store"
)

// Store is what the pull pipeline needs from storage; *store.Store implements it.
type Store interface {
	// Cursor returns where the incremental pull of (connection, object) stands.
	Cursor(ctx context.Context, connectionID int64, object connectors.Object) (connectors.Cursor, error)
	// ApplyPullPage stores a page and its cursor in one transaction.
	ApplyPullPage(ctx context.Context, p store.PullPage) (store.UpsertStats, error)
	// HasRecords reports whether anything of the object is stored yet (a first load skips reads).
	HasRecords(ctx context.Context, connectionID int64, object connectors.Object) (bool, error)
	// MarkUnseenDeleted marks what a complete full pull did not see as deleted.
	MarkUnseenDeleted(ctx context.Context, connectionID int64, object connectors.Object, since time.Time) ([]string, error)
	// StartRun and FinishRun record the run.
	StartRun(ctx context.Context, connectionID int64, mode, trigger string) (int64, error)
	FinishRun(ctx context.Context, runID int64, status string, stats any, runErr string) error
	// SetConnectionStatus marks a connection that needs a person (needs_reauth).
	SetConnectionStatus(ctx context.Context, name, status, reason string) error
	// Now is the store's clock.
	Now() time.Time
}

var _ Store = (*store.Store)(nil)

// Options configures a Puller for one connection.
type Options struct {
	// Connection is the connection's name (logs, metrics, status).
	Connection string
	// ConnectionID is the stored connection's id.
	ConnectionID int64
	// Connector reads the CRM.
	Connector connectors.Connector
	// Store keeps records, cursors and runs.
	Store Store
	// Overlap re-reads this much before each cursor (default 2m; covers commit lag).
	Overlap time.Duration
	// Fields lists extra fields to pull per object.
	Fields map[connectors.Object][]string
	// Objects are pulled in this order (default connectors.Objects: owners, contacts, deals, roles).
	Objects []connectors.Object
	// Calls, when set, reports the connection's API requests and retries so far; a run's summary
	// shows the difference between its end and its start.
	Calls func() (requests, retries int64)
	// Progress, when set, is called after every committed page.
	Progress func(Progress)
	// OnStored, when set, is called with the records of every committed page (the push
	// pipeline marks the plans of deals whose mapped values changed). It runs after the commit:
	// an error is logged, and does not fail the pull.
	OnStored func(ctx context.Context, object connectors.Object, records []connectors.Record) error
	// StoreRetry bounds the retries of store calls that fail because the database is briefly
	// unreachable (see StoreRetry).
	StoreRetry StoreRetry
	// Metrics records pull metrics; nil for none.
	Metrics *Metrics
	// Logger receives one line per run and a debug line per page.
	Logger zerolog.Logger
}

// fullWriters is how many batches of pages a full pull stores at once, per object: with every
// object read at once that is 8 transactions in flight, which keeps the database busy while the
// connector decodes; more (3 a object) only added contention on a 2-core machine.
const fullWriters = 2

// queueRecords bounds the records of one object that are read but not yet stored (queued, being
// gathered or being written): decoded records are most of a pull's memory. Salesforce's pages of
// 2,000 get three in flight besides the one being read; HubSpot's of 100 still queue enough to
// smooth out their fetches.
const queueRecords = 6000

// Puller runs pulls for one connection. Runs of one Puller must not overlap: the scheduler
// serialises them per connection.
type Puller struct {
	opts Options
	log  zerolog.Logger
}

// New returns a Puller; it checks its options.
func New(opts Options) (*Puller, error) {
	if opts.Connector == nil || opts.Store == nil {
		return nil, errors.New("pull: connector and store are required")
	}
	if opts.Connection == "" || opts.ConnectionID == 0 {
		return nil, errors.New("pull: connection name and id are required")
	}
	if opts.Overlap == 0 {
		opts.Overlap = 2 * time.Minute
	}
	if len(opts.Objects) == 0 {
		opts.Objects = connectors.Objects
	}
	for _, o := range opts.Objects {
		if !o.Valid() {
			return nil, fmt.Errorf("pull: unknown object %q", o)
		}
	}
	log := opts.Logger.With().Str("connection", opts.Connection).Logger()
	opts.Store = &retryingStore{Store: opts.Store, policy: opts.StoreRetry.withDefaults(), log: log, metrics: opts.Metrics, conn: opts.Connection}
	return &Puller{opts: opts, log: log}, nil
}

// Request says what one run does.
type Request struct {
	// Full reconciles: pulls everything, then marks what the CRM no longer has as deleted.
	Full bool
	// Trigger is recorded with the run: schedule, manual or webhook.
	Trigger string
}

// ObjectSummary counts one object's records in a run.
type ObjectSummary struct {
	Object connectors.Object `json:"object"`
	// Read is how many records the CRM delivered (overlap re-reads included).
	Read  int `json:"read"`
	Pages int `json:"pages"`
	store.UpsertStats
	// Full is true when the object was read whole (a reconcile, or its first pull).
	Full bool `json:"full"`
	// Resumed is true when the run continued a full pass that an earlier run left unfinished.
	Resumed bool `json:"resumed,omitempty"`
	// Missing counts records a full reconcile found gone and marked deleted.
	Missing int `json:"missing,omitempty"`
	// DealsFrom says, for the deal_contact pull of a connector that reads roles per deal, where
	// the deals came from: DealsFromDealPull (the deals this run's deal pull delivered, no call),
	// or "walk: " and why the connector walked the deals again (see dealFeed).
	DealsFrom string `json:"deals_from,omitempty"`
	Took      string `json:"took"`
}

// Summary is what a run did.
type Summary struct {
	RunID      int64  `json:"run_id"`
	Connection string `json:"connection"`
	// Mode is "full" when the run read every object whole (asked with --full, or a first pull),
	// else "incremental".
	Mode string `json:"mode"`
	// Reason says why a run that was not asked to be full read everything: ReasonFirstPull or
	// ReasonResume; empty otherwise.
	Reason   string          `json:"reason,omitempty"`
	Status   string          `json:"status"`
	Objects  []ObjectSummary `json:"objects"`
	APICalls int64           `json:"api_calls"`
	Retries  int64           `json:"retries"`
	Duration time.Duration   `json:"-"`
	Took     string          `json:"took"`
	Error    string          `json:"error,omitempty"`
}

// Progress is reported after each committed page.
type Progress struct {
	Object  connectors.Object
	Pages   int
	Read    int
	Changed int
}

// Run pulls every configured object once. It records the run, advances each cursor only with
// the records it covers, and returns the summary together with the first error: pages committed
// before a failure stay committed, and the next run resumes after them.
func (p *Puller) Run(ctx context.Context, req Request) (*Summary, error) {
	if req.Trigger == "" {
		req.Trigger = store.TriggerManual
	}
	started := time.Now()
	parallel, reason, err := p.readsEverything(ctx, req.Full)
	if err != nil {
		return nil, err
	}
	// A run that reads everything is a full run, whether asked for or not (a first pull).
	mode := store.RunIncremental
	if parallel {
		mode = store.RunFull
	}
	runID, err := p.opts.Store.StartRun(ctx, p.opts.ConnectionID, mode, req.Trigger)
	if err != nil {
		return nil, err
	}
	log := p.log.With().Int64("run_id", runID).Str("mode", mode).Logger()
	sum := &Summary{RunID: runID, Connection: p.opts.Connection, Mode: mode, Reason: reason}
	var calls0, retries0 int64
	if p.opts.Calls != nil {
		calls0, retries0 = p.opts.Calls()
	}
	feed, feedWhy, err := p.dealFeed(ctx, req.Full, parallel)
	if err != nil {
		return nil, err
	}
	var runErr error
	if parallel {
		// Reading everything: the objects do not depend on each other (plans are built after
		// the run), so they are read at once; they share the connection's governor, so the CRM's
		// limits hold, and the first failure stops the others.
		sum.Objects = make([]ObjectSummary, len(p.opts.Objects))
		g, gctx := errgroup.WithContext(ctx)
		for i, obj := range p.opts.Objects {
			g.Go(func() error {
				os, err := p.pullObject(gctx, log, obj, req.Full, feed, feedWhy)
				sum.Objects[i] = os
				if err != nil {
					return fmt.Errorf("pull %s: %w", obj, err)
				}
				return nil
			})
		}
		runErr = g.Wait()
		if runErr != nil && ctx.Err() != nil {
			runErr = fmt.Errorf("%w (%w)", ctx.Err(), runErr)
		}
	} else {
		for _, obj := range p.opts.Objects {
			os, err := p.pullObject(ctx, log, obj, req.Full, feed, feedWhy)
			sum.Objects = append(sum.Objects, os)
			if err != nil {
				runErr = fmt.Errorf("pull %s: %w", obj, err)
				break
			}
		}
	}
	if feed != nil {
		feed.Close(errors.New("the run ended")) // the deal pull did not run; a no-op when it closed it
	}
	if p.opts.Calls != nil {
		c, r := p.opts.Calls()
		sum.APICalls, sum.Retries = c-calls0, r-retries0
	}
	sum.Duration = time.Since(started)
	sum.Took = sum.Duration.Round(time.Millisecond).String()
	sum.Status = store.RunSucceeded
	if runErr != nil {
		sum.Status = store.RunFailed
		if errors.Is(ctx.Err(), context.Canceled) && errors.Is(runErr, context.Canceled) {
			// Stopped from outside (a shutdown), not failed: status pages and alerts count
			// failures, and this run's work resumes in the next.
			sum.Status = store.RunCancelled
		}
		sum.Error = runErr.Error()
		if connectors.KindOf(runErr) == connectors.KindNeedsReauth {
			// The connector's reason says what to do; the connection waits for a person.
			if err := p.opts.Store.SetConnectionStatus(context.WithoutCancel(ctx), p.opts.Connection, store.ConnectionNeedsReauth, runErr.Error()); err != nil {
				log.Error().Err(err).Msg("cannot mark connection needs_reauth")
			}
		}
	}
	// Record the outcome even when ctx was cancelled mid-run (shutdown): the run is not left "running".
	finishCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := p.opts.Store.FinishRun(finishCtx, runID, sum.Status, sum, sum.Error); err != nil && runErr == nil {
		runErr = err
	}
	p.opts.Metrics.observeRun(p.opts.Connection, mode, sum)
	// One line per run, whatever its outcome; a failure's error is returned, not logged here, so
	// the caller reports it once (the CLI prints it, a worker hands it to its queue).
	ev := log.Info()
	if sum.Reason != "" {
		ev = ev.Str("reason", sum.Reason)
	}
	ev.Int64("api_calls", sum.APICalls).Int64("retries", sum.Retries).
		Dur("took", sum.Duration.Round(time.Millisecond)).Str("status", sum.Status).Msg("pull run finished")
	return sum, runErr
}

// Why a run that was not asked to be full reads everything (Summary.Reason).
const (
	ReasonFirstPull = "first pull"
	ReasonResume    = "resumes an interrupted full pass"
)

// readsEverything reports whether this run reads every object whole: a full run, or a first
// run (no object has a cursor yet, or only an interrupted full pass), and for the latter why.
func (p *Puller) readsEverything(ctx context.Context, full bool) (bool, string, error) {
	if full {
		return true, "", nil
	}
	reason := ReasonFirstPull
	for _, obj := range p.opts.Objects {
		c, err := p.opts.Store.Cursor(ctx, p.opts.ConnectionID, obj)
		if err != nil {
			return false, "", err
		}
		if pendingPass(c) {
			reason = ReasonResume
		} else if !c.Stamp.IsZero() {
			return false, "", nil
		}
	}
	return true, reason, nil
}

func (p *Puller) pullObject(ctx context.Context, log zerolog.Logger, obj connectors.Object, full bool, feed *connectors.DealFeed, feedWhy string) (os ObjectSummary, err error) {
	os.Object = obj
	if obj == connectors.ObjectDeal && feed != nil {
		// Whatever ends this pull ends the feed: complete only when the connector delivered every
		// page (set below), incomplete otherwise.
		defer func() { feed.Close(fmt.Errorf("deal pull: %w", errOr(err))) }()
	}
	start := time.Now()
	defer func() { os.Took = time.Since(start).Round(time.Millisecond).String() }()
	log = log.With().Str("object", string(obj)).Logger()

	stored, err := p.opts.Store.Cursor(ctx, p.opts.ConnectionID, obj)
	if err != nil {
		return os, err
	}
	prev, pending, perr := splitCursor(stored)
	if perr != nil {
		log.Warn().Err(perr).Msg("cannot resume the interrupted full pass: starting it over")
	}
	if pending != nil && !full {
		// A full pass was interrupted: finish it (its reconcile included) before anything else.
		full = true
	}
	if !full && prev.Stamp.IsZero() {
		// Nothing pulled yet: reading everything is a full pull, and connectors do it cheaper in
		// full mode (Salesforce contact roles in deal order without per-deal queries, HubSpot's
		// list endpoint instead of rate-limited search), with parallel writers.
		full = true
		log.Debug().Msg("no cursor yet: first pull reads everything") // the run says so once: mode full, reason first pull
	}
	os.Full = full
	os.Resumed = pending != nil
	fresh := false
	if full && prev.Stamp.IsZero() {
		has, err := p.opts.Store.HasRecords(ctx, p.opts.ConnectionID, obj)
		if err != nil {
			return os, err
		}
		fresh = !has
	}
	o := &objectPull{obj: obj, full: full, fresh: fresh, log: log, os: &os, prev: prev, maxSeen: prev}
	req := connectors.PullRequest{Object: obj, Full: full, Fields: p.opts.Fields[obj], Overlap: p.opts.Overlap}
	if obj == connectors.ObjectDealContact && (feed != nil || feedWhy != "") {
		if feed != nil {
			req.Deals = feed
			os.DealsFrom = DealsFromDealPull
			log.Debug().Msg("roles read for the deals this run's deal pull delivers")
		} else {
			os.DealsFrom = "walk: " + feedWhy
			log.Info().Str("why", feedWhy).Msg("roles walk the deals again instead of reusing the deal pull's")
		}
	}
	if !full {
		req.Since = prev
	}
	if full {
		// A full pull may deliver pages in another order (e.g. HubSpot's list endpoint); its cursor
		// is the greatest (stamp, id) it saw, stored once it has finished. Each batch stores the
		// pass's state with it, so that an interrupted pass resumes after its last committed page.
		o.start = p.opts.Store.Now()
		o.pass = newPassTracker()
		if pending != nil {
			o.start = pending.start
			if o.maxSeen.After(pending.max.Stamp, pending.max.ID) {
				o.maxSeen = pending.max
			}
			req.Since = connectors.Cursor{Extra: pending.at}
			log.Info().Time("pass_started", pending.start).Msg("resuming the interrupted full pass after its last committed page")
		}
	}
	// Fetching and storing overlap: the connector reads page n+1 while a writer commits page n,
	// one page at a time and in order, so every cursor is still committed with its own records.
	// A write error stops the pull; a pull error lets the writer finish the pages before it.
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Incremental pages commit their cursors, so one writer keeps them in order; a full pull
	// stores with each batch where its unbroken committed prefix ends, so its pages are stored by
	// several writers at once.
	writers := 1
	if full {
		writers = fullWriters
	}
	// The records in flight are bounded by weight (queueRecords), not by a count of pages, whose
	// sizes differ by twenty times between the CRMs.
	inflight := semaphore.NewWeighted(queueRecords)
	pages := make(chan queued, 64)
	written := make(chan error, writers)
	for range writers {
		go func() {
			var werr error
			for batch := range coalesce(pages, coalesceRecords) {
				if werr == nil { // after a failure, drain
					if werr = p.storePages(ctx, o, batch); werr != nil {
						cancel()
					}
				}
				for _, q := range batch {
					inflight.Release(q.weight)
				}
			}
			written <- werr
		}()
	}
	seq := 0
	err = p.opts.Connector.Pull(pctx, req, func(pg connectors.Page) error {
		q := queued{seq: seq, page: pg, readAt: p.opts.Store.Now()}
		seq++
		if full {
			o.mu.Lock()
			o.pass.delivered(q.seq, pg.Cursor.Extra)
			o.mu.Unlock()
		}
		q.weight = int64(min(len(pg.Records), queueRecords))
		if err := inflight.Acquire(pctx, q.weight); err != nil {
			return err
		}
		select {
		case pages <- q:
			if obj == connectors.ObjectDeal && feed != nil {
				feed.Add(pg)
			}
			return nil
		case <-pctx.Done():
			inflight.Release(q.weight)
			return pctx.Err()
		}
	})
	close(pages)
	if obj == connectors.ObjectDeal && feed != nil && err == nil {
		feed.Close(nil) // every deal was delivered, whether or not its writers store it
	}
	var werr error
	for range writers {
		if e := <-written; e != nil && werr == nil {
			werr = e
		}
	}
	// A resumed pass that the CRM refuses to continue (or whose stored position the connector
	// cannot read) is dropped, so that the next run starts it over instead of failing here for ever.
	dropPass := pending != nil && werr == nil && err != nil && connectors.KindOf(err) == connectors.KindPermanent
	if full && (werr != nil || err != nil) && !dropPass {
		p.savePass(ctx, o)
	}
	if werr != nil {
		if ctx.Err() != nil {
			return os, ctx.Err() // the run was stopped; the writers only saw its consequences
		}
		return os, werr // the cause; the pull only saw its cancellation
	}
	if err != nil {
		if dropPass {
			if _, cerr := p.opts.Store.ApplyPullPage(context.WithoutCancel(ctx), store.PullPage{ConnectionID: p.opts.ConnectionID, Object: obj, Cursor: &prev}); cerr != nil {
				log.Error().Err(cerr).Msg("cannot drop the interrupted full pass")
			} else {
				log.Warn().Err(err).Msg("the interrupted full pass cannot resume: the next run starts it over")
			}
		}
		return os, err
	}
	if full {
		// Everything the CRM has was delivered: what the pass did not see (since it began, before
		// any interruption) is gone. The reconcile runs before the final cursor replaces the pass's
		// state, so that a crash between them repeats it rather than skips it.
		gone, err := p.opts.Store.MarkUnseenDeleted(ctx, p.opts.ConnectionID, obj, o.start)
		if err != nil {
			return os, err
		}
		os.Missing = len(gone)
		if len(gone) > 0 {
			log.Info().Int("records", len(gone)).Msg("reconcile marked records missing from the CRM as deleted")
		}
		// The next incremental pull starts at the greatest stamp seen, but never after this pass
		// began: a record changed while the pass read other pages may carry an earlier stamp than
		// one read later, and the overlap window covers clock skew from there.
		next := o.maxSeen
		if next.Stamp.IsZero() || next.Stamp.After(o.start) {
			next = connectors.Cursor{Stamp: o.start}
		}
		if _, err := p.opts.Store.ApplyPullPage(ctx, store.PullPage{ConnectionID: p.opts.ConnectionID, Object: obj, Cursor: &next}); err != nil {
			return os, err
		}
		p.opts.Metrics.observeCursor(p.opts.Connection, obj, next.Stamp)
		return os, nil
	}
	// An incremental pull's cursor is its last committed page's: the greatest (stamp, id) seen,
	// or the previous cursor when the pull read only its overlap window.
	p.opts.Metrics.observeCursor(p.opts.Connection, obj, o.maxSeen.Stamp)
	return os, nil
}

// savePass stores where an interrupted full pass stands once its writers are done: each batch
// stored the position its transaction could vouch for when it began, so a batch committed out of
// order may have left it behind the unbroken prefix of committed pages. It runs even when ctx is
// cancelled (a shutdown): the pages are committed, and the next run should not read them again.
func (p *Puller) savePass(ctx context.Context, o *objectPull) {
	o.mu.Lock()
	at := o.pass.resumeAfter(nil)
	c := passCursor(o.prev, o.start, o.maxSeen, at)
	o.mu.Unlock()
	if at == nil {
		return // stored already, or nothing committed that a pass can resume after
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := p.opts.Store.ApplyPullPage(sctx, store.PullPage{ConnectionID: p.opts.ConnectionID, Object: o.obj, Cursor: &c}); err != nil {
		o.log.Warn().Err(err).Msg("cannot store where the interrupted full pass stands; the next run reads its last pages again")
	}
}

// objectPull is the state of one object's pull that its writers share.
type objectPull struct {
	obj   connectors.Object
	full  bool
	fresh bool
	log   zerolog.Logger
	// prev is the cursor the pull started from (without a pending pass's state).
	prev connectors.Cursor
	// start is when a full pass began (before any interruption); pass tracks its pages.
	start time.Time
	pass  *passTracker

	mu      sync.Mutex // guards os, maxSeen and pass between writers
	os      *ObjectSummary
	maxSeen connectors.Cursor
}

// queued is a page with its number in the pull's order and when it was read.
type queued struct {
	seq    int
	page   connectors.Page
	readAt time.Time
	weight int64 // what the page holds of the object's in-flight budget (queueRecords)
}

// coalesceRecords is how many records a writer gathers from pages already waiting before it
// commits them in one transaction: small pages (HubSpot's 100) would otherwise each pay a commit,
// and a transaction's fixed work (its staging, merge statements and cursor) is spread over more
// rows (3,000 cost the database about a fifth less CPU a record than 1,000 in a first pull).
const coalesceRecords = 3000

// coalesce turns a stream of pages into batches: each batch is a page plus the pages already
// queued behind it, up to about max records, in order. It never waits for more pages.
func coalesce(pages <-chan queued, max int) <-chan []queued {
	out := make(chan []queued)
	go func() {
		defer close(out)
		for pg := range pages {
			batch, n := []queued{pg}, len(pg.page.Records)
		gather:
			for n < max {
				select {
				case more, ok := <-pages:
					if !ok {
						break gather
					}
					batch = append(batch, more)
					n += len(more.page.Records)
				default:
					break gather
				}
			}
			out <- batch
		}
	}()
	return out
}

// storePages commits consecutive pages in one transaction, with the cursor of the last one (it
// covers all of them), and accounts for them. In a full pass the cursor stays where the pass
// started and carries the pass's state: its start, the greatest (stamp, id) stored, and the
// connector's position after the unbroken prefix of committed pages.
func (p *Puller) storePages(ctx context.Context, o *objectPull, batch []queued) error {
	last := batch[len(batch)-1].page
	// A full pass reconciles: the CRM's current version of a record wins over a stored one with
	// other content even when its stamp is older, unless the stored row was written after the
	// batch's first page was read.
	page := store.PullPage{ConnectionID: p.opts.ConnectionID, Object: o.obj, Records: last.Records, Roles: last.Roles, Seen: o.full, Fresh: o.fresh,
		Reconcile: o.full, ReadAt: batch[0].readAt}
	if len(batch) > 1 {
		page.Records, page.Roles = nil, nil
		for _, q := range batch {
			page.Records = append(page.Records, q.page.Records...)
			if len(q.page.Roles) > 0 && page.Roles == nil {
				page.Roles = map[string][]connectors.DealContact{}
			}
			for deal, roles := range q.page.Roles {
				page.Roles[deal] = roles // a later page has the deal's newer complete set
			}
		}
	}
	seqs := make([]int, len(batch))
	for i, q := range batch {
		seqs[i] = q.seq
		if q.readAt.Before(page.ReadAt) {
			page.ReadAt = q.readAt
		}
	}
	// The greatest (stamp, id) of the batch, found once for the pass's state and for maxSeen.
	var greatest connectors.Cursor
	for _, r := range page.Records {
		if greatest.After(r.ModifiedAt, r.ID) {
			greatest = connectors.Cursor{Stamp: r.ModifiedAt, ID: r.ID}
		}
	}
	if !o.full {
		c := last.Cursor
		page.Cursor = &c
	} else {
		o.mu.Lock()
		if at := o.pass.resumeAfter(seqs); at != nil {
			c := passCursor(o.prev, o.start, later(o.maxSeen, greatest), at)
			page.Cursor = &c
		}
		o.mu.Unlock()
	}
	st, err := p.opts.Store.ApplyPullPage(ctx, page)
	if err != nil {
		return err
	}
	if p.opts.OnStored != nil {
		if err := p.opts.OnStored(ctx, o.obj, page.Records); err != nil {
			o.log.Error().Err(err).Msg("after storing a page")
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.full {
		o.pass.commit(seqs)
	}
	o.maxSeen = later(o.maxSeen, greatest)
	os := o.os
	os.Pages += len(batch)
	os.Read += len(page.Records)
	os.UpsertStats.Add(st)
	p.opts.Metrics.observePage(p.opts.Connection, o.obj, len(page.Records), st)
	o.log.Debug().Int("pages", len(batch)).Int("records", len(page.Records)).Int("inserted", st.Inserted).Int("updated", st.Updated).
		Int("unchanged", st.Unchanged).Time("cursor", last.Cursor.Stamp).Msg("pages stored")
	if p.opts.Progress != nil {
		p.opts.Progress(Progress{Object: o.obj, Pages: os.Pages, Read: os.Read, Changed: os.Inserted + os.Updated})
	}
	return nil
}

// later returns b when it sorts after a, else a.
func later(a, b connectors.Cursor) connectors.Cursor {
	if a.After(b.Stamp, b.ID) {
		return b
	}
	return a
}
