// Package instantiate creates mutual action plans for stored CRM deals: it turns a deal, its
// contact roles and its owner into a plans.Deal, lets the templates' selection rules choose, and
// creates the plan exactly once per (connection, deal, template), whoever gets there first (a
// schedule, a webhook, an admin). CatchUp follows the deals that pulls stored, from a cursor that
// moves only after they are handled, so a crash loses nothing.
package instantiate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
)

// CursorObject is the pseudo object under which the instantiation cursor is stored.
const CursorObject connectors.Object = "plans"

// Store is what instantiation needs; *store.Store implements it.
type Store interface {
	DealBundle(ctx context.Context, connectionID int64, dealID, ownerField string) (*store.DealBundle, error)
	DealBundles(ctx context.Context, connectionID int64, dealIDs []string, ownerField string) (map[string]*store.DealBundle, error)
	PlanKeys(ctx context.Context, connection string, dealIDs []string) (map[string]bool, error)
	DealsSyncedAfter(ctx context.Context, connectionID int64, after connectors.Cursor, limit int) ([]string, connectors.Cursor, error)
	Cursor(ctx context.Context, connectionID int64, object connectors.Object) (connectors.Cursor, error)
	SetCursor(ctx context.Context, connectionID int64, object connectors.Object, c connectors.Cursor) error
	Templates(ctx context.Context) ([]*plans.Template, error)
	Template(ctx context.Context, key string, version int) (*plans.Template, error)
	CreatePlan(ctx context.Context, p *plans.Plan, events []plans.Event) (*plans.Plan, bool, error)
	CreatePlans(ctx context.Context, batch []store.NewPlan) ([]store.CreatedPlan, error)
	PlanFor(ctx context.Context, connection, dealID, templateKey string) (*plans.Plan, error)
}

// Options configures an Instantiator for one connection.
type Options struct {
	// Connection and ConnectionID name the connection; Kind is salesforce or hubspot.
	Connection   string
	ConnectionID int64
	Kind         string
	// Location is the connection's time zone (due dates). Default UTC.
	Location *time.Location
	Store    Store
	// Now is the clock; default time.Now.
	Now    func() time.Time
	Logger zerolog.Logger
}

// Instantiator creates plans for one connection's deals.
type Instantiator struct {
	opts Options
	log  zerolog.Logger
}

// New returns an Instantiator.
func New(opts Options) (*Instantiator, error) {
	if opts.Store == nil || opts.Connection == "" || opts.ConnectionID == 0 {
		return nil, errors.New("instantiate: store and connection are required")
	}
	if _, ok := views[opts.Kind]; !ok {
		return nil, fmt.Errorf("instantiate: unknown connection kind %q", opts.Kind)
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Instantiator{opts: opts, log: opts.Logger.With().Str("connection", opts.Connection).Logger()}, nil
}

// Result says what happened to one deal.
type Result struct {
	DealID string `json:"deal_id"`
	// Outcome is created, existing, no_match or closed.
	Outcome string      `json:"outcome"`
	Plan    *plans.Plan `json:"plan,omitempty"`
}

// ErrNoTemplates means no template is imported, so no deal can get a plan.
var ErrNoTemplates = errors.New("no templates imported: run `mapsync templates import DIR` (or set templates.dir)")

// Outcomes of ForDeal.
const (
	Created  = "created"
	Existing = "existing"
	NoMatch  = "no_match"
)

// UnknownDealError is a deal the store does not have: not pulled yet, or a wrong id. It matches
// store.ErrNotFound.
type UnknownDealError struct {
	// Connection is the connection's name.
	Connection string
	// DealID is the id asked for.
	DealID string
}

// Error names the deal and the connection.
func (e *UnknownDealError) Error() string {
	return fmt.Sprintf("deal %s is not among the deals pulled from %s (not pulled yet, or a wrong id)", e.DealID, e.Connection)
}

// Is reports whether target is store.ErrNotFound.
func (e *UnknownDealError) Is(target error) bool { return target == store.ErrNotFound }

// Deal loads a stored deal as plans see it; an unknown deal is an *UnknownDealError.
func (in *Instantiator) Deal(ctx context.Context, dealID string) (plans.Deal, error) {
	v := views[in.opts.Kind]
	b, err := in.opts.Store.DealBundle(ctx, in.opts.ConnectionID, dealID, v.ownerField)
	if errors.Is(err, store.ErrNotFound) {
		return plans.Deal{}, &UnknownDealError{Connection: in.opts.Connection, DealID: dealID}
	}
	if err != nil {
		return plans.Deal{}, err
	}
	if b.Deal.Deleted {
		return plans.Deal{}, fmt.Errorf("deal %s is deleted in the CRM: %w", dealID, plans.ErrNotFound)
	}
	return v.deal(in.opts.Connection, in.opts.Kind, b), nil
}

// ForDeal creates the plans of a stored deal: from templateKey when given, else from the
// templates its selection rules choose (the main one first, then additive ones; see
// plans.Selector.Choose). A deal that matches no template is a *plans.NoMatchError when
// templateKey is empty. Plans the deal already has come back unchanged, outcome Existing.
func (in *Instantiator) ForDeal(ctx context.Context, dealID, templateKey string) ([]*Result, error) {
	deal, err := in.Deal(ctx, dealID)
	if err != nil {
		return nil, err
	}
	now := in.opts.Now()
	var chosen []*plans.Template
	if templateKey != "" {
		t, err := in.opts.Store.Template(ctx, templateKey, 0)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", templateKey, err)
		}
		chosen = []*plans.Template{t}
	} else {
		ts, err := in.opts.Store.Templates(ctx)
		if err != nil {
			return nil, err
		}
		sel, err := plans.NewSelector(ts)
		if err != nil {
			return nil, err
		}
		if chosen, err = sel.Choose(deal, now); err != nil {
			return nil, err
		}
	}
	out := make([]*Result, 0, len(chosen))
	for _, t := range chosen {
		res, err := in.create(ctx, t, deal, now)
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}

func (in *Instantiator) create(ctx context.Context, t *plans.Template, deal plans.Deal, now time.Time) (*Result, error) {
	if existing, err := in.opts.Store.PlanFor(ctx, in.opts.Connection, deal.ID, t.Key); err == nil {
		return &Result{DealID: deal.ID, Outcome: Existing, Plan: existing}, nil
	} else if !errors.Is(err, plans.ErrNotFound) && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	p, events, err := plans.Instantiate(t, deal, now, in.opts.Location)
	if err != nil {
		return nil, fmt.Errorf("instantiate %s for deal %s: %w", t.Key, deal.ID, err)
	}
	stored, created, err := in.opts.Store.CreatePlan(ctx, p, events)
	if err != nil {
		return nil, err
	}
	out := Existing
	if created {
		out = Created
		in.log.Info().Str("deal", deal.ID).Str("template", t.Key).Str("plan", stored.ID).Msg("plan created")
	}
	return &Result{DealID: deal.ID, Outcome: out, Plan: stored}, nil
}

// Summary counts what CatchUp did. Evaluated, DealsPlanned and NoMatch count deals; Created,
// Additive and Existing count plans (a deal may get several: its main plan and additive ones).
type Summary struct {
	// Evaluated deals were matched against the templates.
	Evaluated int `json:"evaluated"`
	// DealsPlanned counts the deals that got at least one new plan.
	DealsPlanned int `json:"deals_planned"`
	// NoMatch counts deals no template chose (closed deals, with the example templates).
	NoMatch int `json:"no_match"`
	// Created counts the plans created; Additive of them came from additive templates.
	Created  int `json:"created"`
	Additive int `json:"additive"`
	// Existing counts plans that a chosen template had made already.
	Existing int `json:"existing"`
}

// CatchUp handles every deal pulls stored since the last CatchUp: each gets the plans its
// templates choose (deals that match none are counted and skipped). The cursor advances after
// each batch, so a crash re-handles at most one batch, and creation is idempotent.
func (in *Instantiator) CatchUp(ctx context.Context) (Summary, error) {
	var sum Summary
	cur, err := in.opts.Store.Cursor(ctx, in.opts.ConnectionID, CursorObject)
	if err != nil {
		return sum, err
	}
	ts, err := in.opts.Store.Templates(ctx)
	if err != nil {
		return sum, err
	}
	if len(ts) == 0 {
		return sum, ErrNoTemplates
	}
	sel, err := plans.NewSelector(ts)
	if err != nil {
		return sum, err
	}
	additive := map[string]bool{}
	for _, t := range ts {
		additive[t.Key] = t.Selection != nil && t.Selection.Additive
	}
	for {
		ids, next, err := in.opts.Store.DealsSyncedAfter(ctx, in.opts.ConnectionID, cur, 500)
		if err != nil {
			return sum, err
		}
		if len(ids) == 0 {
			return sum, nil
		}
		// Plans of one batch are made in memory and stored in one transaction: commits, not
		// instantiation, are what plan creation waits on.
		var batch []store.NewPlan
		v := views[in.opts.Kind]
		bundles, err := in.opts.Store.DealBundles(ctx, in.opts.ConnectionID, ids, v.ownerField)
		if err != nil {
			return sum, err
		}
		existing, err := in.opts.Store.PlanKeys(ctx, in.opts.Connection, ids)
		if err != nil {
			return sum, err
		}
		for _, id := range ids {
			b, ok := bundles[id]
			if !ok {
				continue // deleted since it was listed
			}
			deal := v.deal(in.opts.Connection, in.opts.Kind, b)
			sum.Evaluated++
			now := in.opts.Now()
			chosen, err := sel.Choose(deal, now)
			var nm *plans.NoMatchError
			if errors.As(err, &nm) {
				sum.NoMatch++
				continue
			}
			if err != nil {
				return sum, err
			}
			for _, t := range chosen {
				if existing[deal.ID+"\x00"+t.Key] {
					sum.Existing++
					continue
				}
				p, events, err := plans.Instantiate(t, deal, now, in.opts.Location)
				if err != nil {
					return sum, fmt.Errorf("instantiate %s for deal %s: %w", t.Key, deal.ID, err)
				}
				batch = append(batch, store.NewPlan{Plan: p, Events: events})
			}
		}
		if len(batch) > 0 {
			res, err := in.opts.Store.CreatePlans(ctx, batch)
			if err != nil {
				return sum, err
			}
			created := 0
			planned := map[string]bool{}
			for _, r := range res {
				if r.Created {
					created++
					planned[r.Plan.DealID] = true
					if additive[r.Plan.TemplateKey] {
						sum.Additive++
					}
				}
			}
			sum.DealsPlanned += len(planned)
			sum.Created += created
			sum.Existing += len(res) - created
			in.log.Info().Int("plans", created).Msg("plans created")
		}
		if err := in.opts.Store.SetCursor(ctx, in.opts.ConnectionID, CursorObject, next); err != nil {
			return sum, err
		}
		cur = next
	}
}
