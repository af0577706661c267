package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ID is this client's id among the processes sharing the database.
func (c *Client) ID() string { return c.river.ID() }

// IsLeader reports whether this client is River's elected leader now: the one process that
// runs periodic jobs and maintenance. River records its leader in river_leader (one row while
// some client leads; a leader that dies keeps it until its lease expires, 15 s after its last
// re-election, and another client takes over at its next attempt, every 5 to 6 s).
func (c *Client) IsLeader(ctx context.Context) (bool, error) {
	var id string
	err := c.store.DB().GetContext(ctx, &id, `SELECT leader_id FROM river_leader`)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("jobs: read the leader: %w", err)
	}
	return id == c.river.ID(), nil
}

// Count is how many jobs of one kind are in one state.
type Count struct {
	State string `db:"state"`
	Kind  string `db:"kind"`
	N     int64  `db:"n"`
}

// Counts returns how many jobs of each kind are in each state, completed jobs left out (they
// are history, kept a day by River's cleaner, not queue depth): one grouped query.
func (c *Client) Counts(ctx context.Context) ([]Count, error) {
	var out []Count
	if err := c.store.DB().SelectContext(ctx, &out,
		`SELECT state, kind, count(*) AS n FROM river_job WHERE state <> 'completed' GROUP BY state, kind`); err != nil {
		return nil, fmt.Errorf("jobs: count jobs: %w", err)
	}
	return out, nil
}
