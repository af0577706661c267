package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/mapsync/mapsync/plans"
)

// Comments are append-only rows of plan_comments, outside the plan document, so that a plan
// reads and writes as fast with a long conversation as without one. A comment is stored in the
// transaction of the plan change that records it (AddComment: the plan's compare-and-swap, its
// events and CRM mark, and the comment row, all or nothing) and read page by page, keyset
// paginated on the row's sequence number.

// Page sizes of Comments.
const (
	// DefaultCommentPage is the page size of Comments when the filter gives none.
	DefaultCommentPage = 100
	// MaxCommentPage caps the page size of Comments.
	MaxCommentPage = 500
)

// AddComment writes p as UpdatePlan does (a compare-and-swap on base, with events and the CRM
// projection mark) and stores comment cm on the plan, in one transaction. A stale base matches
// ErrConflict and writes nothing. It implements plans.PlanStore.
func (s *Store) AddComment(ctx context.Context, p *plans.Plan, base int, cm plans.Comment, events []plans.Event) error {
	if p == nil || cm.ID == "" || cm.ActionID == "" {
		return fmt.Errorf("add comment: plan, comment id and action are required: %w", plans.ErrInvalid)
	}
	cm.PlanID = p.ID
	if cm.CreatedAt.IsZero() {
		cm.CreatedAt = s.Now()
	}
	body, err := json.Marshal(cm)
	if err != nil {
		return fmt.Errorf("add comment to plan %s: encode: %w", p.ID, err)
	}
	return s.updatePlan(ctx, p, base, events, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, tx.Rebind(`
			INSERT INTO plan_comments (plan_id, action_id, id, internal, created_at, body) VALUES (?, ?, ?, ?, ?, ?)`),
			cm.PlanID, cm.ActionID, cm.ID, cm.Internal, cm.CreatedAt.UTC(), string(body))
		if err != nil {
			return fmt.Errorf("insert comment: %w", interpretError(err))
		}
		return nil
	})
}

// Comments returns one page of the comments f selects, oldest first (in the order they were
// stored), and the cursor of the next page ("" on the last): the id of the page's last comment,
// for f.After. f.Limit <= 0 means DefaultCommentPage; it is capped at MaxCommentPage. Internal
// comments are left out unless f.Internal. An unknown plan, or an After that is not a comment of
// the plan, is an error matching ErrNotFound. It implements plans.PlanStore.
func (s *Store) Comments(ctx context.Context, f plans.CommentFilter) ([]plans.Comment, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultCommentPage
	}
	limit = min(limit, MaxCommentPage)
	q := `SELECT id, body FROM plan_comments WHERE plan_id = ?`
	args := []any{f.PlanID}
	if f.ActionID != "" {
		q += ` AND action_id = ?`
		args = append(args, f.ActionID)
	}
	if !f.Internal {
		q += ` AND internal = ?`
		args = append(args, false)
	}
	if f.After != "" {
		var seq int64
		err := s.db.GetContext(ctx, &seq, s.rebind(`SELECT seq FROM plan_comments WHERE plan_id = ? AND id = ?`), f.PlanID, f.After)
		if err != nil {
			return nil, "", fmt.Errorf("comments of plan %s after %s: %w", f.PlanID, f.After, interpretError(err))
		}
		q += ` AND seq > ?`
		args = append(args, seq)
	}
	q += ` ORDER BY seq LIMIT ?`
	args = append(args, limit+1)
	var rows []struct {
		ID   string `db:"id"`
		Body []byte `db:"body"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.rebind(q), args...); err != nil {
		return nil, "", fmt.Errorf("comments of plan %s: %w", f.PlanID, interpretError(err))
	}
	if len(rows) == 0 && f.After == "" {
		var one int
		if err := s.db.GetContext(ctx, &one, s.rebind(`SELECT 1 FROM plans WHERE id = ?`), f.PlanID); err != nil {
			return nil, "", fmt.Errorf("comments of plan %s: %w", f.PlanID, interpretError(err))
		}
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].ID
	}
	out := make([]plans.Comment, len(rows))
	for i, r := range rows {
		if err := json.Unmarshal(r.Body, &out[i]); err != nil {
			return nil, "", fmt.Errorf("comments of plan %s: decode comment %s: %w", f.PlanID, r.ID, err)
		}
	}
	return out, next, nil
}
