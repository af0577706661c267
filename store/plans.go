package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/mapsync/mapsync/plans"
)

// Plans are stored as documents: one row per plan with the whole plans.Plan as JSON, next to the
// columns the filters and the uniqueness rule need (see migrations/*/00002_plans.sql for why).
// What a document may hold is capped (plans.Max*); comments live beside it, one row each
// (comments.go, migrations/*/00003_plan_comments.sql), as do events (plan_events).
// Every write also appends the change's events and upserts the plan's CRM projection mark
// (plan_marks.go) in the same transaction.

// Page sizes of ListPlans and Events.
const (
	// DefaultPlanPage is the page size of ListPlans when the filter gives none.
	DefaultPlanPage = 50
	// MaxPlanPage caps the page size of ListPlans.
	MaxPlanPage = 500
	// DefaultEventPage is the page size of Events when the caller gives none.
	DefaultEventPage = 100
	// MaxEventPage caps the page size of Events.
	MaxEventPage = 1000
)

// eventChunk is how many events one INSERT carries (9 parameters each).
const eventChunk = 500

// planColumns are a plan's row values derived from the plan.
type planColumns struct {
	body       string
	name       string
	ownerCRMID string
	ownerEmail string
	createdAt  time.Time
	updatedAt  time.Time
}

// columnText returns s as a text column can hold it on both databases: valid UTF-8 without NUL
// bytes (PostgreSQL refuses both). The columns derived from a plan are copies for filters and
// listing; the document keeps the value itself (JSON escapes what a column cannot hold).
func columnText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

func (s *Store) planColumns(p *plans.Plan) (planColumns, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return planColumns{}, fmt.Errorf("encode plan: %w", err)
	}
	c := planColumns{body: string(body), name: columnText(p.Name), createdAt: p.CreatedAt.UTC(), updatedAt: p.UpdatedAt.UTC()}
	for _, m := range p.Members {
		if m.Source == plans.SourceDealOwner {
			c.ownerCRMID, c.ownerEmail = columnText(m.CRMID), columnText(strings.ToLower(strings.TrimSpace(m.Email)))
			break
		}
	}
	now := s.Now()
	if c.createdAt.IsZero() {
		c.createdAt = now
	}
	if c.updatedAt.IsZero() {
		c.updatedAt = c.createdAt
	}
	return c, nil
}

// CreatePlan inserts p, its events and its CRM projection mark in one transaction, unless a plan
// for (p.Connection, p.DealID, p.TemplateKey) exists: then it writes nothing and returns the
// stored plan with created false. The database's unique key decides, so of several callers
// racing (other connections, other replicas) exactly one creates the plan and the others get
// it. A plan whose id is taken by a plan for another (connection, deal, template) is an error
// matching ErrConflict. It implements plans.PlanStore.
func (s *Store) CreatePlan(ctx context.Context, p *plans.Plan, events []plans.Event) (stored *plans.Plan, created bool, err error) {
	if p == nil {
		return nil, false, fmt.Errorf("create plan: %w", plans.ErrInvalid)
	}
	res, err := s.createPlans(ctx, []NewPlan{{Plan: p, Events: events}})
	if err != nil {
		return nil, false, fmt.Errorf("create plan %s: %w", p.ID, err)
	}
	return res[0].Plan, res[0].Created, nil
}

// NewPlan is a plan to create with the events of its creation.
type NewPlan struct {
	// Plan is the plan, as plans.Instantiate made it.
	Plan *plans.Plan
	// Events are the creation's events (plan.created and any warnings).
	Events []plans.Event
}

// CreatedPlan is the outcome of one NewPlan.
type CreatedPlan struct {
	// Plan is the stored plan: the one given when Created, otherwise the one found.
	Plan *plans.Plan
	// Created is false when a plan for the same (connection, deal, template) existed.
	Created bool
}

// createChunk is how many plans one INSERT carries (13 parameters each).
const createChunk = 100

// CreatePlans creates plans as CreatePlan does each, in one transaction, with multi-row
// statements: the pull pipeline instantiates a page of deals at a time, and one commit for the
// page instead of one per plan is what makes bulk creation fast. Results are in the order of
// batch. A plan whose (connection, deal, template) exists, in the store or earlier in batch, is
// not written and is reported with the stored plan and Created false. On any error nothing is
// written.
func (s *Store) CreatePlans(ctx context.Context, batch []NewPlan) ([]CreatedPlan, error) {
	res, err := s.createPlans(ctx, batch)
	if err != nil {
		return nil, fmt.Errorf("create %d plans: %w", len(batch), err)
	}
	return res, nil
}

type planKey struct{ connection, dealID, templateKey string }

func (s *Store) createPlans(ctx context.Context, batch []NewPlan) ([]CreatedPlan, error) {
	if len(batch) == 0 {
		return nil, nil
	}
	cols := make([]planColumns, len(batch))
	for i, np := range batch {
		p := np.Plan
		if p == nil || p.ID == "" || p.Connection == "" || p.DealID == "" || p.TemplateKey == "" {
			return nil, fmt.Errorf("plan %d: id, connection, deal and template are required: %w", i, plans.ErrInvalid)
		}
		var err error
		if cols[i], err = s.planColumns(p); err != nil {
			return nil, fmt.Errorf("plan %s: %w", p.ID, err)
		}
	}
	// Insert in key order, so that two batches racing on PostgreSQL wait for each other's
	// unique-index entries in the same order and cannot deadlock.
	order := make([]int, len(batch))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		pa, pb := batch[a].Plan, batch[b].Plan
		return cmp.Or(cmp.Compare(pa.Connection, pb.Connection), cmp.Compare(pa.DealID, pb.DealID),
			cmp.Compare(pa.TemplateKey, pb.TemplateKey), cmp.Compare(pa.ID, pb.ID))
	})
	out := make([]CreatedPlan, len(batch))
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		inserted := map[string]bool{}
		for start := 0; start < len(order); start += createChunk {
			chunk := order[start:min(start+createChunk, len(order))]
			var q strings.Builder
			q.WriteString(`INSERT INTO plans (id, connection, deal_id, template_key, template_version, status, name,
				owner_crm_id, owner_email, body, version, created_at, updated_at) VALUES `)
			args := make([]any, 0, len(chunk)*13)
			for j, i := range chunk {
				if j > 0 {
					q.WriteString(", ")
				}
				q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
				p, c := batch[i].Plan, cols[i]
				args = append(args, p.ID, p.Connection, p.DealID, p.TemplateKey, p.TemplateVersion, string(p.Status), c.name,
					c.ownerCRMID, c.ownerEmail, c.body, p.Version, c.createdAt, c.updatedAt)
			}
			// On PostgreSQL a row whose key another transaction is inserting waits for that
			// transaction, then is skipped if it committed.
			q.WriteString(" ON CONFLICT DO NOTHING RETURNING id")
			var ids []string
			if err := tx.SelectContext(ctx, &ids, tx.Rebind(q.String()), args...); err != nil {
				return fmt.Errorf("insert plans: %w", interpretError(err))
			}
			for _, id := range ids {
				inserted[id] = true
			}
		}
		var events []plans.Event
		var marks []*plans.Plan
		missing := map[planKey][]int{}
		for _, i := range order {
			p := batch[i].Plan
			if inserted[p.ID] {
				delete(inserted, p.ID) // a second plan with the same id in batch was not inserted
				out[i] = CreatedPlan{Plan: p, Created: true}
				for _, e := range batch[i].Events {
					e.PlanID = p.ID
					events = append(events, e)
				}
				marks = append(marks, p)
				continue
			}
			k := planKey{p.Connection, p.DealID, p.TemplateKey}
			missing[k] = append(missing[k], i)
		}
		if err := s.insertEvents(ctx, tx, events); err != nil {
			return err
		}
		if err := s.markPlans(ctx, tx, marks); err != nil {
			return err
		}
		if len(missing) == 0 {
			return nil
		}
		// Plans that lost to a stored one (or to one earlier in batch): return the stored one.
		found, err := s.plansByKey(ctx, tx, slices.Collect(maps.Keys(missing)))
		if err != nil {
			return err
		}
		for k, idx := range missing {
			p, ok := found[k]
			if !ok {
				return fmt.Errorf("plan id %s is taken by another deal or template: %w", batch[idx[0]].Plan.ID, ErrConflict)
			}
			for _, i := range idx {
				out[i] = CreatedPlan{Plan: p}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// plansByKey loads the stored plans for keys, in statements of createChunk keys.
func (s *Store) plansByKey(ctx context.Context, tx *sqlx.Tx, keys []planKey) (map[planKey]*plans.Plan, error) {
	found := make(map[planKey]*plans.Plan, len(keys))
	for start := 0; start < len(keys); start += createChunk {
		chunk := keys[start:min(start+createChunk, len(keys))]
		var q strings.Builder
		q.WriteString(`SELECT body, version FROM plans WHERE (connection, deal_id, template_key) IN (`)
		args := make([]any, 0, len(chunk)*3)
		for j, k := range chunk {
			if j > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?)")
			args = append(args, k.connection, k.dealID, k.templateKey)
		}
		q.WriteString(")")
		var rows []planRow
		if err := tx.SelectContext(ctx, &rows, tx.Rebind(q.String()), args...); err != nil {
			return nil, fmt.Errorf("read stored plans: %w", interpretError(err))
		}
		for _, r := range rows {
			p, err := r.plan()
			if err != nil {
				return nil, err
			}
			found[planKey{p.Connection, p.DealID, p.TemplateKey}] = p
		}
	}
	return found, nil
}

// Plan returns the plan with id, whole, in one query; an unknown id is an error matching
// ErrNotFound and plans.ErrNotFound. It implements plans.PlanStore.
func (s *Store) Plan(ctx context.Context, id string) (*plans.Plan, error) {
	p, err := s.planWhere(ctx, s.db, `id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", id, err)
	}
	return p, nil
}

// PlanFor returns the plan for (connection, deal, template) in one query. It implements
// plans.PlanStore.
func (s *Store) PlanFor(ctx context.Context, connection, dealID, templateKey string) (*plans.Plan, error) {
	p, err := s.planWhere(ctx, s.db, `connection = ? AND deal_id = ? AND template_key = ?`, connection, dealID, templateKey)
	if err != nil {
		return nil, fmt.Errorf("plan for %s deal %s template %s: %w", connection, dealID, templateKey, err)
	}
	return p, nil
}

// planWhere loads one plan in one statement.
func (s *Store) planWhere(ctx context.Context, q sqlx.QueryerContext, where string, args ...any) (*plans.Plan, error) {
	var row planRow
	if err := sqlx.GetContext(ctx, q, &row, s.rebind(`SELECT body, version FROM plans WHERE `+where), args...); err != nil {
		return nil, interpretError(err)
	}
	return row.plan()
}

// planRow is a stored plan document and its version column.
type planRow struct {
	Body    []byte `db:"body"`
	Version int    `db:"version"`
}

func (r planRow) plan() (*plans.Plan, error) {
	p := &plans.Plan{}
	if err := json.Unmarshal(r.Body, p); err != nil {
		return nil, fmt.Errorf("decode plan: %w", err)
	}
	p.Version = r.Version
	return p, nil
}

// UpdatePlan writes p, appends events and upserts the plan's CRM projection mark in one
// transaction, if the stored plan's version is still base (the version read before the change).
// Otherwise it writes nothing and returns an error matching ErrConflict and plans.ErrConflict
// (ErrNotFound when there is no such plan). p.Version must be greater than base. The plan's
// id, connection, deal and template are fixed at creation; changes to them are not stored. It
// implements plans.PlanStore.
func (s *Store) UpdatePlan(ctx context.Context, p *plans.Plan, base int, events []plans.Event) error {
	return s.updatePlan(ctx, p, base, events, nil)
}

// updatePlan is UpdatePlan, running also (when not nil) in the transaction once the plan row is
// written.
func (s *Store) updatePlan(ctx context.Context, p *plans.Plan, base int, events []plans.Event, also func(tx *sqlx.Tx) error) error {
	if p == nil || p.ID == "" {
		return fmt.Errorf("update plan: id is required: %w", plans.ErrInvalid)
	}
	if p.Version <= base {
		return fmt.Errorf("update plan %s: version %d is not after base %d: %w", p.ID, p.Version, base, plans.ErrInvalid)
	}
	cols, err := s.planColumns(p)
	if err != nil {
		return fmt.Errorf("update plan %s: %w", p.ID, err)
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`
			UPDATE plans SET body = ?, version = ?, status = ?, name = ?, template_version = ?,
				owner_crm_id = ?, owner_email = ?, updated_at = ?
			WHERE id = ? AND version = ?`),
			cols.body, p.Version, string(p.Status), cols.name, p.TemplateVersion,
			cols.ownerCRMID, cols.ownerEmail, cols.updatedAt, p.ID, base)
		if err != nil {
			return fmt.Errorf("update: %w", interpretError(err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("update: %w", err)
		}
		if n == 0 {
			var current int
			err := tx.GetContext(ctx, &current, tx.Rebind(`SELECT version FROM plans WHERE id = ?`), p.ID)
			if err != nil {
				return interpretError(err)
			}
			return fmt.Errorf("version %d is stale, current is %d: %w", base, current, ErrConflict)
		}
		if err := s.insertEvents(ctx, tx, withPlanID(events, p.ID)); err != nil {
			return err
		}
		if also != nil {
			if err := also(tx); err != nil {
				return err
			}
		}
		return s.markPlans(ctx, tx, []*plans.Plan{p})
	})
	if err != nil {
		return fmt.Errorf("update plan %s: %w", p.ID, err)
	}
	return nil
}

// AppendEvents records events that change nothing in the plan (plan.saved_as_template); an
// unknown plan is an error matching ErrNotFound. It implements plans.PlanStore.
func (s *Store) AppendEvents(ctx context.Context, planID string, events []plans.Event) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.lockPlan(ctx, tx, planID); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, withPlanID(events, planID))
	})
	if err != nil {
		return fmt.Errorf("append events to plan %s: %w", planID, err)
	}
	return nil
}

// lockPlan locks plan planID's row in tx, as UpdatePlan's update does, before events are appended
// to a plan without changing it: so a plan's events are numbered in commit order and a reader
// paging with after never skips one that commits late. An unknown plan is an error matching
// ErrNotFound.
func (s *Store) lockPlan(ctx context.Context, tx *sqlx.Tx, planID string) error {
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR UPDATE"
	}
	var one int
	return interpretError(tx.GetContext(ctx, &one, tx.Rebind(`SELECT 1 FROM plans WHERE id = ?`+lock), planID))
}

// insertEvents appends events in the given order, in multi-row statements, each to the plan its
// PlanID names. Events without an id get one.
func (s *Store) insertEvents(ctx context.Context, tx *sqlx.Tx, events []plans.Event) error {
	for start := 0; start < len(events); start += eventChunk {
		chunk := events[start:min(start+eventChunk, len(events))]
		var q strings.Builder
		q.WriteString(`INSERT INTO plan_events (plan_id, id, action_id, type, level, actor, at, internal, body) VALUES `)
		args := make([]any, 0, len(chunk)*9)
		for i, e := range chunk {
			if e.ID == "" {
				e.ID = plans.NewID()
			}
			if e.Level == "" {
				e.Level = plans.LevelInfo
			}
			if e.At.IsZero() {
				e.At = s.Now()
			}
			actor, err := json.Marshal(e.Actor)
			if err != nil {
				return fmt.Errorf("encode event %s: %w", e.ID, err)
			}
			body, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("encode event %s: %w", e.ID, err)
			}
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, e.PlanID, e.ID, e.ActionID, string(e.Type), string(e.Level), string(actor), e.At.UTC(), e.Internal, string(body))
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q.String()), args...); err != nil {
			return fmt.Errorf("insert events: %w", interpretError(err))
		}
	}
	return nil
}

// withPlanID returns a copy of events, each naming the plan planID.
func withPlanID(events []plans.Event, planID string) []plans.Event {
	out := make([]plans.Event, len(events))
	for i, e := range events {
		e.PlanID = planID
		out[i] = e
	}
	return out
}

// Events returns up to limit events of a plan after the event with id after ("" from the
// first), oldest first (in the order they were stored). limit <= 0 means DefaultEventPage, and
// it is capped at MaxEventPage. An unknown plan, or an after that is not one of the plan's
// events, is an error matching ErrNotFound. It implements plans.PlanStore.
func (s *Store) Events(ctx context.Context, planID, after string, limit int) ([]plans.Event, error) {
	if limit <= 0 {
		limit = DefaultEventPage
	}
	limit = min(limit, MaxEventPage)
	var (
		bodies [][]byte
		err    error
	)
	if after == "" {
		err = s.db.SelectContext(ctx, &bodies, s.rebind(`
			SELECT body FROM plan_events WHERE plan_id = ? ORDER BY seq LIMIT ?`), planID, limit)
	} else {
		var seq int64
		err = s.db.GetContext(ctx, &seq, s.rebind(`SELECT seq FROM plan_events WHERE plan_id = ? AND id = ?`), planID, after)
		if err != nil {
			return nil, fmt.Errorf("events of plan %s after %s: %w", planID, after, interpretError(err))
		}
		err = s.db.SelectContext(ctx, &bodies, s.rebind(`
			SELECT body FROM plan_events WHERE plan_id = ? AND seq > ? ORDER BY seq LIMIT ?`), planID, seq, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("events of plan %s: %w", planID, interpretError(err))
	}
	if len(bodies) == 0 && after == "" {
		var one int
		if err := s.db.GetContext(ctx, &one, s.rebind(`SELECT 1 FROM plans WHERE id = ?`), planID); err != nil {
			return nil, fmt.Errorf("events of plan %s: %w", planID, interpretError(err))
		}
	}
	out := make([]plans.Event, len(bodies))
	for i, b := range bodies {
		if err := json.Unmarshal(b, &out[i]); err != nil {
			return nil, fmt.Errorf("events of plan %s: decode: %w", planID, err)
		}
	}
	return out, nil
}

// ListPlans returns one page of plans matching f, ordered by id, and the cursor of the next page
// ("" on the last). Pages are keyset-paginated by id, so plans created while paging never shift
// a page. f.Limit <= 0 means DefaultPlanPage; it is capped at MaxPlanPage. Owner matches the
// deal-owner member's CRM id or email (case-insensitively). Each plan carries its progress at
// f.Now (the store's clock when zero); f.Progress keeps the plans whose progress status it is,
// read from the plans' documents in batches until the page is full (the other filters narrow
// the rows first, in SQL). It implements plans.PlanStore.
func (s *Store) ListPlans(ctx context.Context, f plans.PlanFilter) ([]plans.PlanSummary, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultPlanPage
	}
	limit = min(limit, MaxPlanPage)
	now := f.Now
	if now.IsZero() {
		now = s.Now()
	}
	var (
		where []string
		args  []any
	)
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	if f.Connection != "" {
		add("connection = ?", f.Connection)
	}
	if f.DealID != "" {
		add("deal_id = ?", f.DealID)
	}
	if f.Status != "" {
		add("status = ?", string(f.Status))
	}
	if f.Owner != "" {
		add("(owner_crm_id = ? OR owner_email = ?)", f.Owner, strings.ToLower(strings.TrimSpace(f.Owner)))
	}
	batch := limit + 1
	if f.Progress != "" {
		batch = max(batch, 200)
	}
	var out []plans.PlanSummary
	after := f.After
	for {
		q := `SELECT id, connection, deal_id, template_key, template_version, name, status, updated_at, version, body FROM plans`
		w, a := where, args
		if after != "" {
			w, a = append(slices.Clone(w), "id > ?"), append(slices.Clone(a), after)
		}
		if len(w) > 0 {
			q += " WHERE " + strings.Join(w, " AND ")
		}
		q += " ORDER BY id LIMIT ?"
		a = append(a, batch)
		var rows []struct {
			ID              string    `db:"id"`
			Connection      string    `db:"connection"`
			DealID          string    `db:"deal_id"`
			TemplateKey     string    `db:"template_key"`
			TemplateVersion int       `db:"template_version"`
			Name            string    `db:"name"`
			Status          string    `db:"status"`
			UpdatedAt       time.Time `db:"updated_at"`
			Version         int       `db:"version"`
			Body            []byte    `db:"body"`
		}
		if err := s.db.SelectContext(ctx, &rows, s.rebind(q), a...); err != nil {
			return nil, "", fmt.Errorf("list plans: %w", interpretError(err))
		}
		for _, r := range rows {
			p, err := planRow{Body: r.Body, Version: r.Version}.plan()
			if err != nil {
				return nil, "", fmt.Errorf("list plans: plan %s: %w", r.ID, err)
			}
			pr := p.Progress(now)
			if f.Progress != "" && pr.Status != f.Progress {
				continue
			}
			out = append(out, plans.PlanSummary{
				ID: r.ID, Connection: r.Connection, DealID: r.DealID, TemplateKey: r.TemplateKey,
				TemplateVersion: r.TemplateVersion, Name: r.Name, Status: plans.PlanStatus(r.Status),
				UpdatedAt: r.UpdatedAt.UTC(), Version: r.Version, Progress: plans.ListProgressOf(pr),
			})
			if len(out) > limit {
				break
			}
		}
		if len(out) > limit || len(rows) < batch {
			break
		}
		after = rows[len(rows)-1].ID
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}
