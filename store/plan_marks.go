package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

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
		err := tx.SelectContext(ctx, &out, tx.Rebind(`
			SELECT plan_id, connection, deal_id, plan_version, marked_at FROM plan_marks
			WHERE claimed_until IS NULL OR claimed_until < ?
			ORDER BY marked_at, plan_id LIMIT ?`+lock), now, limit)
		if err != nil {
			return interpretError(err)
		}
		if len(out) == 0 {
			return nil
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
