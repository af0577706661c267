package instantiate

import (
	"context"
	"fmt"
	"time"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
)

// Lister lists stored deals; *store.Store implements it.
type Lister interface {
	ListDeals(ctx context.Context, f store.DealFilter) ([]store.DealListing, string, error)
}

// ListQuery selects the deals List returns; zero fields do not filter.
type ListQuery struct {
	// Query matches deals whose name contains it, ignoring case.
	Query string
	// Stage matches the stage exactly (Salesforce's label, HubSpot's internal value).
	Stage string
	// Owner matches the owner's CRM id.
	Owner string
	// HasPlan keeps deals with (true) or without (false) a plan.
	HasPlan *bool
	// MinAmount and MaxAmount keep deals whose amount is at least / at most them.
	MinAmount, MaxAmount *float64
	// After is the cursor of the previous page.
	After string
	// Limit caps the page size (the store's default 100, at most 500).
	Limit int
}

// Listing is a pulled deal as a person picks it to make a plan.
type Listing struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Stage     string     `json:"stage"`
	Pipeline  string     `json:"pipeline,omitempty"`
	Amount    float64    `json:"amount"`
	CloseDate plans.Date `json:"close_date"`
	OwnerID   string     `json:"owner_id,omitempty"`
	IsClosed  bool       `json:"is_closed"`
	// HasPlan is true when the deal has a plan.
	HasPlan bool `json:"has_plan"`
	// ModifiedAt is the CRM's last modification of the deal.
	ModifiedAt time.Time `json:"modified_at"`
}

// List returns one page of the live deals connection (of kind salesforce or hubspot) has
// pulled, matching q, ordered by CRM id, and the cursor of the next page ("" on the last).
func List(ctx context.Context, st Lister, connection string, connectionID int64, kind string, q ListQuery) ([]Listing, string, error) {
	v, ok := views[kind]
	if !ok {
		return nil, "", fmt.Errorf("list deals: unknown connection kind %q", kind)
	}
	rows, next, err := st.ListDeals(ctx, store.DealFilter{
		ConnectionID: connectionID, Connection: connection,
		NameField: v.name, StageField: v.stage, OwnerField: v.ownerField,
		Query: q.Query, Stage: q.Stage, Owner: q.Owner, HasPlan: q.HasPlan, After: q.After, Limit: q.Limit,
		AmountField: v.amount, MinAmount: q.MinAmount, MaxAmount: q.MaxAmount,
	})
	if err != nil {
		return nil, "", err
	}
	out := make([]Listing, len(rows))
	for i, r := range rows {
		d := v.deal(connection, kind, &store.DealBundle{Deal: r.Record})
		out[i] = Listing{
			ID: d.ID, Name: d.Name, Stage: d.Stage, Pipeline: d.Pipeline, Amount: d.Amount, CloseDate: d.CloseDate,
			OwnerID: d.OwnerID, IsClosed: d.IsClosed, HasPlan: r.HasPlan, ModifiedAt: r.Record.ModifiedAt,
		}
	}
	return out, next, nil
}
