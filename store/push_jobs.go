package store

import (
	"context"
	"fmt"
	"time"
)

// PushBacklog is one connection's pending push work: its plan marks and the oldest of them.
type PushBacklog struct {
	// Connection is the connection's name.
	Connection string
	// Marks counts its plan marks (claimed or not).
	Marks int
	// Oldest is when its oldest mark was written.
	Oldest time.Time
}

// PushBacklogs returns, per connection with plan marks, how many there are and the oldest one's
// time (for the push backlog gauges), by connection name.
func (s *Store) PushBacklogs(ctx context.Context) ([]PushBacklog, error) {
	var counts []struct {
		Connection string `db:"connection"`
		N          int    `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &counts, `SELECT connection, COUNT(*) AS n FROM plan_marks GROUP BY connection ORDER BY connection`); err != nil {
		return nil, fmt.Errorf("push backlog: %w", interpretError(err))
	}
	out := make([]PushBacklog, 0, len(counts))
	for _, c := range counts {
		// One indexed row per connection (the column keeps its type on SQLite; MIN() would not).
		var t time.Time
		if err := s.db.GetContext(ctx, &t, s.rebind(`SELECT marked_at FROM plan_marks WHERE connection = ? ORDER BY marked_at LIMIT 1`), c.Connection); err != nil {
			return nil, fmt.Errorf("push backlog of %s: %w", c.Connection, interpretError(err))
		}
		out = append(out, PushBacklog{Connection: c.Connection, Marks: c.N, Oldest: t.UTC()})
	}
	return out, nil
}

// ClaimablePushConnections returns the connections, by name, that have plan marks nobody holds
// now (never claimed, released, or whose lease expired): the pushes the sweep makes sure a job
// covers. A connection that needs to be authorised again is left out (its pushes would only be
// cancelled); once `connections reauth` makes it active, its marks are claimable again.
func (s *Store) ClaimablePushConnections(ctx context.Context) ([]string, error) {
	var out []string
	err := s.db.SelectContext(ctx, &out, s.rebind(`
		SELECT DISTINCT connection FROM plan_marks
		WHERE (claimed_until IS NULL OR claimed_until < ?)
		  AND connection NOT IN (SELECT name FROM connections WHERE status = ?)
		ORDER BY connection`), s.Now(), ConnectionNeedsReauth)
	if err != nil {
		return nil, fmt.Errorf("claimable push connections: %w", interpretError(err))
	}
	return out, nil
}

// DeletePushLog deletes push_log rows written before before and reports how many, at most limit
// rows per call (limit <= 0: 10,000), so a large backlog is deleted in bounded transactions.
func (s *Store) DeletePushLog(ctx context.Context, before time.Time, limit int) (int64, error) {
	if limit <= 0 {
		limit = 10_000
	}
	res, err := s.db.ExecContext(ctx, s.rebind(`
		DELETE FROM push_log WHERE id IN (SELECT id FROM push_log WHERE created_at < ? ORDER BY created_at LIMIT ?)`), before.UTC(), limit)
	if err != nil {
		return 0, fmt.Errorf("delete push log before %s: %w", before.UTC().Format(time.RFC3339), interpretError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete push log: %w", err)
	}
	return n, nil
}
