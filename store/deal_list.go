package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mapsync/mapsync/connectors"
)

// DealFilter selects stored deals to list (ListDeals); zero fields do not filter.
type DealFilter struct {
	// ConnectionID is the connection's id. Required.
	ConnectionID int64
	// Connection is the connection's name, which plans are filed under (for HasPlan).
	Connection string
	// NameField, StageField and OwnerField are the CRM names of the deal's name, stage and owner
	// id fields (Name, StageName, OwnerId on Salesforce).
	NameField, StageField, OwnerField string
	// Query matches deals whose name contains it, ignoring case.
	Query string
	// Stage and Owner match the stage and owner id exactly.
	Stage, Owner string
	// HasPlan, when not nil, keeps deals that have (true) or have no (false) plan.
	HasPlan *bool
	// AmountField is the CRM name of the deal's amount field (Amount, amount); MinAmount and
	// MaxAmount, when not nil, keep deals whose amount is at least / at most them. A deal whose
	// amount is missing or not a number matches neither bound on PostgreSQL; SQLite reads it
	// as 0.
	AmountField          string
	MinAmount, MaxAmount *float64
	// After is the cursor of the previous page: the last CRM id listed.
	After string
	// Limit caps the page (default 100, at most 500).
	Limit int
}

// DealListing is a stored deal as listed.
type DealListing struct {
	// Record is the deal record (live ones only are listed).
	Record connectors.Record
	// HasPlan is true when the deal has at least one plan.
	HasPlan bool
}

// ListDeals returns one page of the live deals of a connection matching f, ordered by CRM id,
// and the cursor of the next page ("" on the last). Filters read the deal's JSON fields in SQL
// (->> on PostgreSQL, json_extract on SQLite), so a page costs one query.
func (s *Store) ListDeals(ctx context.Context, f DealFilter) ([]DealListing, string, error) {
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = 100
	case limit > 500:
		limit = 500
	}
	field := func(name string) (string, any) {
		if s.dialect == Postgres {
			return "(fields->>?)", name
		}
		return "CAST(json_extract(fields, ?) AS TEXT)", `$."` + strings.ReplaceAll(name, `"`, `\"`) + `"`
	}
	hasPlan := `EXISTS (SELECT 1 FROM plans p WHERE p.connection = ? AND p.deal_id = crm_records.crm_id)`
	q := `SELECT crm_id, fields, modified_at, ` + hasPlan + ` AS has_plan FROM crm_records
		WHERE connection_id = ? AND object = ? AND deleted = ? AND crm_id > ?`
	args := []any{f.Connection, f.ConnectionID, string(connectors.ObjectDeal), false, f.After}
	if f.Query != "" {
		expr, arg := field(f.NameField)
		q += ` AND LOWER(` + expr + `) LIKE ? ESCAPE '\'`
		args = append(args, arg, "%"+likeEscape(strings.ToLower(f.Query))+"%")
	}
	if f.Stage != "" {
		expr, arg := field(f.StageField)
		q += ` AND ` + expr + ` = ?`
		args = append(args, arg, f.Stage)
	}
	if f.Owner != "" {
		expr, arg := field(f.OwnerField)
		q += ` AND ` + expr + ` = ?`
		args = append(args, arg, f.Owner)
	}
	for _, b := range []struct {
		v  *float64
		op string
	}{{f.MinAmount, ">="}, {f.MaxAmount, "<="}} {
		if b.v == nil {
			continue
		}
		expr, arg := field(f.AmountField)
		if s.dialect == Postgres {
			// A CRM may send the amount as a JSON number or as text ("25000"): cast only what reads
			// as a number, so one odd value cannot fail the page. ({0,1}, not ?: Rebind would
			// read a ? as a placeholder.)
			q += ` AND (CASE WHEN ` + expr + ` ~ '^\s*-{0,1}[0-9]+(\.[0-9]+){0,1}\s*$' THEN CAST(` + expr + ` AS NUMERIC) END) ` + b.op + ` ?`
			args = append(args, arg, arg, *b.v)
		} else {
			q += ` AND CAST(` + expr + ` AS REAL) ` + b.op + ` ?`
			args = append(args, arg, *b.v)
		}
	}
	if f.HasPlan != nil {
		if *f.HasPlan {
			q += ` AND ` + hasPlan
		} else {
			q += ` AND NOT ` + hasPlan
		}
		args = append(args, f.Connection)
	}
	q += ` ORDER BY crm_id LIMIT ?`
	args = append(args, limit+1)
	var rows []struct {
		CRMID      string    `db:"crm_id"`
		Fields     []byte    `db:"fields"`
		ModifiedAt time.Time `db:"modified_at"`
		HasPlan    bool      `db:"has_plan"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.rebind(q), args...); err != nil {
		return nil, "", fmt.Errorf("list deals: %w", interpretError(err))
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].CRMID
	}
	out := make([]DealListing, len(rows))
	for i, r := range rows {
		rec := connectors.Record{Object: connectors.ObjectDeal, ID: r.CRMID, ModifiedAt: r.ModifiedAt.UTC()}
		if err := json.Unmarshal(r.Fields, &rec.Fields); err != nil {
			return nil, "", fmt.Errorf("deal %s fields: %w", r.CRMID, err)
		}
		out[i] = DealListing{Record: rec, HasPlan: r.HasPlan}
	}
	return out, next, nil
}

// likeEscape escapes LIKE's wildcards (and the escape character) in s.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
