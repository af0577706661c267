package inbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
	// connection's run lock): for events that name no deal. Required.
	Pull func(ctx context.Context, connectionID int64) error
	// Fetch reads the named deals of the connection from the CRM with their contacts and roles,
	// stores them and gives them their plans by the template rules. Nil: events naming a deal
	// pull instead.
	Fetch func(ctx context.Context, connectionID int64, deals []string) error
	// ContactDeals returns the deals whose stored roles name each contact (absent: none): a
	// contact event then fetches the contact's deals (with the contact) instead of pulling.
	// Nil, or a contact on no stored deal: the event pulls.
	ContactDeals func(ctx context.Context, connectionID int64, contacts []string) (map[string][]string, error)
	// Registerer receives mapsync_webhook_events_processed_total{outcome}. Nil: none exported.
	Registerer prometheus.Registerer
	// Logger receives one line per pass.
	Logger zerolog.Logger
}

// Processor handles stored webhook events. It keeps no queue and no retry state of its own:
// the daemon runs it in a River job per stored batch (cmd/mapsync/webhooks_wiring.go), which
// River retries with backoff and discards after its last attempt.
type Processor struct {
	opts      Options
	processed *prometheus.CounterVec
}

// New returns a Processor.
func New(opts Options) (*Processor, error) {
	if opts.Store == nil || opts.Pull == nil {
		return nil, errors.New("inbox: store and pull are required")
	}
	p := &Processor{opts: opts,
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mapsync_webhook_events_processed_total",
			Help: "Webhook events processed, by outcome (done, retry, dead)."}, []string{"outcome"})}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(p.processed); err != nil {
			return nil, fmt.Errorf("inbox: register metrics: %w", err)
		}
	}
	return p, nil
}

// Pass is what one pass over a connection's events did.
type Pass struct {
	Events  int      `json:"events"`
	Deleted []string `json:"deleted,omitempty"`
	Fetched []string `json:"fetched,omitempty"`
	Pulled  bool     `json:"pulled"`
}

// Process makes one attempt at the events with these ids that are still pending (others were
// processed already, or are dead), connection by connection. On success they are done. On
// failure each counts an attempt and keeps the error; final says this was the last attempt:
// they are then dead (dead letters, retryable by an admin), else they stay pending for the next
// attempt. It returns the first failure, for the caller to retry.
func (p *Processor) Process(ctx context.Context, ids []int64, final bool) ([]*Pass, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	evs, err := p.opts.Store.WebhookEvents(ctx, store.WebhookEventFilter{IDs: ids, Statuses: []string{store.WebhookPending}, Limit: len(ids)})
	if err != nil {
		return nil, err
	}
	byConn := map[int64][]store.WebhookEvent{}
	var order []int64
	for _, e := range evs {
		if _, ok := byConn[e.ConnectionID]; !ok {
			order = append(order, e.ConnectionID)
		}
		byConn[e.ConnectionID] = append(byConn[e.ConnectionID], e)
	}
	var (
		passes []*Pass
		errs   []error
	)
	for _, id := range order {
		pass, err := p.process(ctx, id, byConn[id], final)
		passes = append(passes, pass)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return passes, errors.Join(errs...)
}

func (p *Processor) process(ctx context.Context, connectionID int64, evs []store.WebhookEvent, final bool) (*Pass, error) {
	log := p.opts.Logger.With().Int64("connection_id", connectionID).Int("events", len(evs)).Logger()
	pass, err := p.apply(ctx, connectionID, evs)
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err == nil {
		for _, e := range evs {
			if ferr := p.opts.Store.FinishWebhookEvent(fctx, e.ID, store.WebhookDone, ""); ferr != nil {
				return pass, ferr
			}
		}
		p.processed.WithLabelValues("done").Add(float64(len(evs)))
		log.Info().Bool("pulled", pass.Pulled).Int("fetched", len(pass.Fetched)).Int("deleted", len(pass.Deleted)).Msg("webhook events processed")
		return pass, nil
	}
	status, outcome := store.WebhookPending, "retry"
	if final {
		status, outcome = store.WebhookDead, "dead"
	}
	for _, e := range evs {
		if ferr := p.opts.Store.FinishWebhookEvent(fctx, e.ID, status, err.Error()); ferr != nil {
			return pass, errors.Join(err, ferr)
		}
	}
	p.processed.WithLabelValues(outcome).Add(float64(len(evs)))
	return pass, err
}

// apply marks deletions and merges, fetches the deals events name, then pulls once if any event
// asks for fresh records without naming a deal.
func (p *Processor) apply(ctx context.Context, connectionID int64, evs []store.WebhookEvent) (*Pass, error) {
	pass := &Pass{Events: len(evs)}
	deleted := map[connectors.Object][]string{}
	var fetch, contacts []string
	for _, e := range evs {
		w, err := plan(e)
		if err != nil {
			return pass, fmt.Errorf("event %d: %w", e.ID, err)
		}
		for obj, ids := range w.deleted {
			deleted[obj] = append(deleted[obj], ids...)
		}
		if w.deal != "" && !slices.Contains(fetch, w.deal) {
			fetch = append(fetch, w.deal)
		}
		if w.contact != "" && !slices.Contains(contacts, w.contact) {
			contacts = append(contacts, w.contact)
		}
		pass.Pulled = pass.Pulled || w.pull
	}
	if len(contacts) > 0 {
		if p.opts.ContactDeals == nil || p.opts.Fetch == nil {
			pass.Pulled = true
		} else {
			deals, err := p.opts.ContactDeals(ctx, connectionID, contacts)
			if err != nil {
				return pass, err
			}
			for _, c := range contacts {
				if len(deals[c]) == 0 {
					pass.Pulled = true // on no deal we know: the pull brings it if it matters
				}
				for _, d := range deals[c] {
					if !slices.Contains(fetch, d) {
						fetch = append(fetch, d)
					}
				}
			}
		}
	}
	for _, obj := range []connectors.Object{connectors.ObjectDeal, connectors.ObjectContact} {
		ids, err := p.opts.Store.MarkDeleted(ctx, connectionID, obj, deleted[obj])
		if err != nil {
			return pass, err
		}
		pass.Deleted = append(pass.Deleted, ids...)
	}
	// A deal deleted in this batch is not fetched again (it would come back archived or 404).
	fetch = slices.DeleteFunc(fetch, func(id string) bool { return slices.Contains(deleted[connectors.ObjectDeal], id) })
	if len(fetch) > 0 && p.opts.Fetch == nil {
		pass.Pulled = true
		fetch = nil
	}
	if len(fetch) > 0 {
		if err := p.opts.Fetch(ctx, connectionID, fetch); err != nil {
			return pass, fmt.Errorf("fetch deals %v: %w", fetch, err)
		}
		pass.Fetched = fetch
	}
	if pass.Pulled {
		if err := p.opts.Pull(ctx, connectionID); err != nil {
			return pass, fmt.Errorf("pull: %w", err)
		}
	}
	return pass, nil
}

// work is what one event calls for: records to mark deleted, a deal to fetch, a contact whose
// deals to fetch, or a pull.
type work struct {
	deleted map[connectors.Object][]string
	deal    string
	contact string
	pull    bool
}

// plan says what an event calls for. HubSpot deletions mark the record deleted; merges mark
// the merged-away records deleted and go on with the survivor; other deal events (creation,
// property and association changes, restores) fetch the deal; a contact's association change
// with a deal fetches that deal; other contact events fetch the deals the contact is on
// (ContactDeals); other objects change nothing of ours. Salesforce and generic events about a
// deal fetch it, about a contact fetch its deals; others pull.
func plan(e store.WebhookEvent) (work, error) {
	if e.Source != store.WebhookHubSpot {
		switch {
		case e.CRMID == "":
		case e.Object == string(connectors.ObjectDeal):
			return work{deal: e.CRMID}, nil
		case e.Object == string(connectors.ObjectContact):
			return work{contact: e.CRMID}, nil
		}
		return work{pull: true}, nil
	}
	he, err := ParseHubSpotEvent([]byte(e.Payload))
	if err != nil {
		return work{}, err
	}
	obj := connectors.Object(he.Object())
	if obj != connectors.ObjectDeal && obj != connectors.ObjectContact {
		return work{}, nil // a company or other object: nothing of ours changes
	}
	w := work{}
	switch he.Change() {
	case "deletion", "privacyDeletion":
		return work{deleted: map[connectors.Object][]string{obj: {e.CRMID}}}, nil
	case "merge":
		var gone []string
		for _, id := range he.MergedObjectIDs {
			if id != he.PrimaryObjectID && id != he.NewObjectID {
				gone = append(gone, strconv.FormatInt(id, 10))
			}
		}
		w.deleted = map[connectors.Object][]string{obj: gone}
	}
	switch {
	case obj == connectors.ObjectDeal:
		w.deal = he.Subject()
		if he.Change() == "merge" && he.NewObjectID > 0 {
			w.deal = strconv.FormatInt(he.NewObjectID, 10)
		}
	case he.Change() == "associationChange" && strings.Contains(strings.ToUpper(he.AssociationType), "DEAL") && he.ToObjectID > 0:
		// A contact added to or removed from a deal: that deal's role set changed.
		w.deal = strconv.FormatInt(he.ToObjectID, 10)
	default:
		w.contact = he.Subject()
		if he.Change() == "merge" && he.NewObjectID > 0 {
			w.contact = strconv.FormatInt(he.NewObjectID, 10)
		}
	}
	return w, nil
}
