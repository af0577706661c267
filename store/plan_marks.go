package store

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/sync/errgroup"

	"github.com/mapsync/mapsync/plans"
)

// PlanMark says that a plan's CRM projection must be recomputed and pushed: the outbox the push
// pipeline consumes. Every plan write (CreatePlan, UpdatePlan) upserts the plan's mark in its
// own transaction, so no change to a plan is ever lost between the plan and the CRM; a burst of
// changes before a push leaves one mark at the latest version.
type PlanMark struct {
	// PlanID is the plan's id.
	PlanID string `db:"plan_id" json:"plan_id"`
	// Connection is the plan's connection name.
	Connection string `db:"connection" json:"connection"`
	// DealID is the plan's deal.
	DealID string `db:"deal_id" json:"deal_id"`
	// PlanVersion is the plan's version when it was last marked.
	PlanVersion int `db:"plan_version" json:"plan_version"`
	// MarkedAt is when it was last marked.
	MarkedAt time.Time `db:"marked_at" json:"marked_at"`
}

// markPlans upserts the marks of plans at their versions, inside the transaction that writes
// them. A mark claimed by a pusher stays claimed: the pusher's completion (DonePlanMark) then
// keeps it, because its version is newer than the one pushed.
func (s *Store) markPlans(ctx context.Context, tx *sqlx.Tx, ps []*plans.Plan) error {
	now := s.Now()
	for start := 0; start < len(ps); start += createChunk {
		chunk := ps[start:min(start+createChunk, len(ps))]
		var q strings.Builder
		q.WriteString(`INSERT INTO plan_marks (plan_id, connection, deal_id, plan_version, marked_at) VALUES `)
		args := make([]any, 0, len(chunk)*5)
		for i, p := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?)")
			args = append(args, p.ID, p.Connection, p.DealID, p.Version, now)
		}
		q.WriteString(` ON CONFLICT (plan_id) DO UPDATE SET plan_version = excluded.plan_version, marked_at = excluded.marked_at`)
		if _, err := tx.ExecContext(ctx, tx.Rebind(q.String()), args...); err != nil {
			return fmt.Errorf("mark plans: %w", interpretError(err))
		}
	}
	if s.markHook == nil || len(ps) == 0 {
		return nil
	}
	marks := make([]PlanMark, len(ps))
	for i, p := range ps {
		marks[i] = PlanMark{PlanID: p.ID, Connection: p.Connection, DealID: p.DealID, PlanVersion: p.Version, MarkedAt: now}
	}
	if err := s.markHook(ctx, tx, marks); err != nil {
		return fmt.Errorf("mark plans: %w", err)
	}
	return nil
}

// PlanMarks returns up to limit marks, oldest mark first, without claiming them (for tests,
// metrics and the admin CLI). limit <= 0 means 100.
func (s *Store) PlanMarks(ctx context.Context, limit int) ([]PlanMark, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []PlanMark
	err := s.db.SelectContext(ctx, &out, s.rebind(`
		SELECT plan_id, connection, deal_id, plan_version, marked_at FROM plan_marks
		ORDER BY marked_at, plan_id LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("list plan marks: %w", interpretError(err))
	}
	for i := range out {
		out[i].MarkedAt = out[i].MarkedAt.UTC()
	}
	return out, nil
}

// ClaimPlanMarks leases up to limit marks that nobody holds (or whose lease expired) to owner
// until now+lease, oldest first, and returns them. On PostgreSQL concurrent claimers skip each
// other's rows (FOR UPDATE SKIP LOCKED); SQLite's single connection serialises them. A claimed
// mark is finished with DonePlanMark, or claimed again by anyone once the lease expires.
func (s *Store) ClaimPlanMarks(ctx context.Context, owner string, limit int, lease time.Duration) ([]PlanMark, error) {
	return s.ClaimConnectionPlanMarks(ctx, "", owner, limit, lease)
}

// ClaimConnectionPlanMarks is ClaimPlanMarks for the marks of one connection ("" means every
// connection): a push of one connection never holds another's marks.
func (s *Store) ClaimConnectionPlanMarks(ctx context.Context, connection, owner string, limit int, lease time.Duration) ([]PlanMark, error) {
	if owner == "" || limit <= 0 || lease <= 0 {
		return nil, fmt.Errorf("claim plan marks: owner, limit and lease are required: %w", plans.ErrInvalid)
	}
	now := s.Now()
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var out []PlanMark
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		where, args := `(claimed_until IS NULL OR claimed_until < ?)`, []any{now}
		if connection != "" {
			where += ` AND connection = ?`
			args = append(args, connection)
		}
		err := tx.SelectContext(ctx, &out, tx.Rebind(`
			SELECT plan_id, connection, deal_id, plan_version, marked_at FROM plan_marks
			WHERE `+where+`
			ORDER BY marked_at, plan_id LIMIT ?`+lock), append(args, limit)...)
		if err != nil {
			return interpretError(err)
		}
		if len(out) == 0 {
			return nil
		}
		if connection != "" {
			// A deal is pushed whole: take its other claimable marks too, so that no deal is
			// split between two rounds (evaluated and written twice).
			more, err := s.dealMarks(ctx, tx, connection, now, out, lock)
			if err != nil {
				return err
			}
			out = append(out, more...)
		}
		ids := make([]string, len(out))
		for i, m := range out {
			ids[i] = m.PlanID
			out[i].MarkedAt = m.MarkedAt.UTC()
		}
		q, args, err := sqlx.In(`UPDATE plan_marks SET claimed_by = ?, claimed_until = ? WHERE plan_id IN (?)`, owner, now.Add(lease), ids)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return interpretError(err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim plan marks: %w", err)
	}
	return out, nil
}

// dealMarks returns the claimable marks of the deals of got that got does not hold.
func (s *Store) dealMarks(ctx context.Context, tx *sqlx.Tx, connection string, now time.Time, got []PlanMark, lock string) ([]PlanMark, error) {
	have := make(map[string]bool, len(got))
	var deals []string
	seen := map[string]bool{}
	for _, m := range got {
		have[m.PlanID] = true
		if !seen[m.DealID] {
			seen[m.DealID] = true
			deals = append(deals, m.DealID)
		}
	}
	var out []PlanMark
	for start := 0; start < len(deals); start += markChunk {
		chunk := deals[start:min(start+markChunk, len(deals))]
		q, args, err := sqlx.In(`SELECT plan_id, connection, deal_id, plan_version, marked_at FROM plan_marks
			WHERE (claimed_until IS NULL OR claimed_until < ?) AND connection = ? AND deal_id IN (?)`+lock, now, connection, chunk)
		if err != nil {
			return nil, err
		}
		var rows []PlanMark
		if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
			return nil, interpretError(err)
		}
		for _, m := range rows {
			if !have[m.PlanID] {
				have[m.PlanID] = true
				out = append(out, m)
			}
		}
	}
	return out, nil
}

// DonePlanMark finishes a claimed mark once the projection of version was pushed: the mark is
// deleted if the plan has not changed since (its version is at most version), and otherwise
// released for the next claim, so a change made during the push is pushed too. It reports
// whether the mark was deleted.
func (s *Store) DonePlanMark(ctx context.Context, planID string, version int) (deleted bool, err error) {
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM plan_marks WHERE plan_id = ? AND plan_version <= ?`), planID, version)
		if err != nil {
			return interpretError(err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if deleted = n > 0; deleted {
			return nil
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE plan_marks SET claimed_by = '', claimed_until = NULL WHERE plan_id = ?`), planID)
		return interpretError(err)
	})
	if err != nil {
		return false, fmt.Errorf("finish plan mark %s: %w", planID, err)
	}
	return deleted, nil
}

// MarkHook runs inside the transaction of every plan write (CreatePlan, CreatePlans,
// UpdatePlan), after the plans' marks are upserted, with those marks. The push pipeline enqueues
// its job there, so the job commits exactly when the change does. An error rolls the write back.
type MarkHook func(ctx context.Context, tx *sqlx.Tx, marks []PlanMark) error

// OnPlansMarked sets the hook every plan write calls in its transaction (nil: none). Set it
// while wiring, before the store is used.
func (s *Store) OnPlansMarked(h MarkHook) { s.markHook = h }

// PendingPlanMarks returns up to limit marks of a connection whose plan id sorts after after,
// in plan id order, claimed or not, without claiming them: what a dry run looks at. Page with
// the last plan id returned.
func (s *Store) PendingPlanMarks(ctx context.Context, connection, after string, limit int) ([]PlanMark, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []PlanMark
	err := s.db.SelectContext(ctx, &out, s.rebind(`
		SELECT plan_id, connection, deal_id, plan_version, marked_at FROM plan_marks
		WHERE connection = ? AND plan_id > ? ORDER BY plan_id LIMIT ?`), connection, after, limit)
	if err != nil {
		return nil, fmt.Errorf("pending plan marks of %s: %w", connection, interpretError(err))
	}
	for i := range out {
		out[i].MarkedAt = out[i].MarkedAt.UTC()
	}
	return out, nil
}

// PlanVersion is a plan id and the version of it a push has dealt with.
type PlanVersion struct {
	PlanID  string
	Version int
}

// DonePlanMarks is DonePlanMark for many marks in one transaction: each mark is deleted when
// its plan's marked version is at most the version dealt with, and released otherwise. It
// returns how many were deleted.
func (s *Store) DonePlanMarks(ctx context.Context, done []PlanVersion) (deleted int, err error) {
	if len(done) == 0 {
		return 0, nil
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		deleted, err = donePlanMarksCount(ctx, tx, done)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("finish %d plan marks: %w", len(done), err)
	}
	return deleted, nil
}

func donePlanMarks(ctx context.Context, tx *sqlx.Tx, done []PlanVersion) error {
	_, err := donePlanMarksCount(ctx, tx, done)
	return err
}

// donePlanMarksCount deletes or releases marks in tx (see DonePlanMarks): per 200 marks one
// DELETE of the marks at most at their version, and one UPDATE releasing the rest (a mark still
// there after the DELETE was marked again during the push).
func donePlanMarksCount(ctx context.Context, tx *sqlx.Tx, done []PlanVersion) (deleted int, err error) {
	for start := 0; start < len(done); start += 200 {
		chunk := done[start:min(start+200, len(done))]
		var q strings.Builder
		q.WriteString(`DELETE FROM plan_marks WHERE `)
		args := make([]any, 0, 2*len(chunk))
		ids := make([]string, len(chunk))
		for i, d := range chunk {
			if i > 0 {
				q.WriteString(" OR ")
			}
			q.WriteString("(plan_id = ? AND plan_version <= ?)")
			args = append(args, d.PlanID, d.Version)
			ids[i] = d.PlanID
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(q.String()), args...)
		if err != nil {
			return 0, interpretError(err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		deleted += int(n)
		if int(n) < len(chunk) {
			if err := releaseMarks(ctx, tx, ids); err != nil {
				return 0, err
			}
		}
	}
	return deleted, nil
}

// ReleasePlanMarks gives claimed marks back without finishing them (the push of their plans
// failed for a reason worth retrying), so the next claim takes them at once instead of after
// the lease.
func (s *Store) ReleasePlanMarks(ctx context.Context, planIDs []string) error {
	if len(planIDs) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error { return releaseMarks(ctx, tx, planIDs) })
	if err != nil {
		return fmt.Errorf("release %d plan marks: %w", len(planIDs), err)
	}
	return nil
}

func releaseMarks(ctx context.Context, tx *sqlx.Tx, planIDs []string) error {
	for start := 0; start < len(planIDs); start += markChunk {
		chunk := planIDs[start:min(start+markChunk, len(planIDs))]
		q, args, err := sqlx.In(`UPDATE plan_marks SET claimed_by = '', claimed_until = NULL WHERE plan_id IN (?)`, chunk)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return interpretError(err)
		}
	}
	return nil
}

// MarkDealPlans marks every plan of the given deals of a connection for a push, as a plan write
// does (the MarkHook runs too), without changing the plans: a deal field the mapping reads
// changed in the CRM, or an admin retries a dead letter. It returns the marks made.
func (s *Store) MarkDealPlans(ctx context.Context, connection string, dealIDs []string) ([]PlanMark, error) {
	if len(dealIDs) == 0 {
		return nil, nil
	}
	var out []PlanMark
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		out = out[:0]
		var ps []*plans.Plan
		for start := 0; start < len(dealIDs); start += markChunk {
			chunk := dealIDs[start:min(start+markChunk, len(dealIDs))]
			q, args, err := sqlx.In(`SELECT id, connection, deal_id, version FROM plans WHERE connection = ? AND deal_id IN (?) ORDER BY id`, connection, chunk)
			if err != nil {
				return err
			}
			var rows []struct {
				ID         string `db:"id"`
				Connection string `db:"connection"`
				DealID     string `db:"deal_id"`
				Version    int    `db:"version"`
			}
			if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
				return interpretError(err)
			}
			for _, r := range rows {
				ps = append(ps, &plans.Plan{ID: r.ID, Connection: r.Connection, DealID: r.DealID, Version: r.Version})
			}
		}
		if err := s.markPlans(ctx, tx, ps); err != nil {
			return err
		}
		now := s.Now()
		for _, p := range ps {
			out = append(out, PlanMark{PlanID: p.ID, Connection: p.Connection, DealID: p.DealID, PlanVersion: p.Version, MarkedAt: now})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mark the plans of %d deal(s) of %s: %w", len(dealIDs), connection, err)
	}
	return out, nil
}

// DealPlans loads every plan of the given deals of a connection, by deal, in plan id order.
func (s *Store) DealPlans(ctx context.Context, connection string, dealIDs []string) (map[string][]*plans.Plan, error) {
	out := make(map[string][]*plans.Plan, len(dealIDs))
	for start := 0; start < len(dealIDs); start += markChunk {
		chunk := dealIDs[start:min(start+markChunk, len(dealIDs))]
		q, args, err := sqlx.In(`SELECT body, version FROM plans WHERE connection = ? AND deal_id IN (?) ORDER BY id`, connection, chunk)
		if err != nil {
			return nil, err
		}
		var rows []planRow
		if err := s.db.SelectContext(ctx, &rows, s.rebind(q), args...); err != nil {
			return nil, fmt.Errorf("plans of %d deal(s) of %s: %w", len(chunk), connection, interpretError(err))
		}
		ps, err := decodePlans(rows)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			out[p.DealID] = append(out[p.DealID], p)
		}
	}
	return out, nil
}

// decodePlans decodes plan documents on every core: decoding the JSON of whole plans is most of
// a push's time on the database side.
func decodePlans(rows []planRow) ([]*plans.Plan, error) {
	out := make([]*plans.Plan, len(rows))
	workers := min(runtime.GOMAXPROCS(0), (len(rows)+63)/64)
	if workers <= 1 {
		for i, r := range rows {
			p, err := r.plan()
			if err != nil {
				return nil, err
			}
			out[i] = p
		}
		return out, nil
	}
	var g errgroup.Group
	per := (len(rows) + workers - 1) / workers
	for start := 0; start < len(rows); start += per {
		g.Go(func() error {
			for i := start; i < min(start+per, len(rows)); i++ {
				p, err := rows[i].plan()
				if err != nil {
					return err
				}
				out[i] = p
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// markChunk is how many ids one IN (...) list of the push's queries holds (SQLite allows 32766
// parameters; PostgreSQL 65535).
const markChunk = 500
