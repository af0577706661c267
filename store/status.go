package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ConnectionFigures are the stored figures of one connection that `mapsync status` shows.
type ConnectionFigures struct {
	// Records counts live records by object.
	Records map[string]int `json:"records"`
	// Plans counts the connection's plans.
	Plans int `json:"plans"`
	// PushBacklog counts plans whose CRM projection waits to be pushed (plan_marks); PushOldest
	// is when the oldest of them was marked.
	PushBacklog int        `json:"push_backlog"`
	PushOldest  *time.Time `json:"push_oldest,omitempty"`
	// WebhooksPending and DeadLetters count webhook events waiting and dead.
	WebhooksPending int `json:"webhooks_pending"`
	DeadLetters     int `json:"dead_letters"`
	// TokenExpiresAt is when the stored OAuth access token expires (nil: none stored).
	TokenExpiresAt *time.Time `json:"token_expires_at,omitempty"`
	// LastRun is the latest run; LastSuccess the latest succeeded one.
	LastRun     *Run `json:"last_run,omitempty"`
	LastSuccess *Run `json:"last_success,omitempty"`
}

// Figures gathers a connection's figures.
func (s *Store) Figures(ctx context.Context, c *Connection) (*ConnectionFigures, error) {
	f := &ConnectionFigures{Records: map[string]int{}}
	counts, err := s.RecordCounts(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	for obj, n := range counts {
		f.Records[string(obj)] = n
	}
	if err := s.db.GetContext(ctx, &f.Plans, s.rebind(`SELECT COUNT(*) FROM plans WHERE connection = ?`), c.Name); err != nil {
		return nil, fmt.Errorf("count plans: %w", interpretError(err))
	}
	var backlog struct{ N int }
	if err := s.db.GetContext(ctx, &backlog.N, s.rebind(`SELECT COUNT(*) FROM plan_marks WHERE connection = ?`), c.Name); err != nil {
		return nil, fmt.Errorf("count push backlog: %w", interpretError(err))
	}
	f.PushBacklog = backlog.N
	if backlog.N > 0 {
		var t time.Time
		if err := s.db.GetContext(ctx, &t, s.rebind(`SELECT marked_at FROM plan_marks WHERE connection = ? ORDER BY marked_at LIMIT 1`), c.Name); err == nil {
			t = t.UTC()
			f.PushOldest = &t
		}
	}
	ev, err := s.CountWebhookEvents(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	f.WebhooksPending, f.DeadLetters = ev[WebhookPending], ev[WebhookDead]
	var exp sql.NullTime
	err = s.db.GetContext(ctx, &exp, s.rebind(`SELECT expires_at FROM oauth_tokens WHERE connection_id = ?`), c.ID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("token expiry: %w", interpretError(err))
	}
	if exp.Valid {
		t := exp.Time.UTC()
		f.TokenExpiresAt = &t
	}
	runs, err := s.Runs(ctx, c.ID, 1)
	if err != nil {
		return nil, err
	}
	if len(runs) > 0 {
		f.LastRun = &runs[0]
	}
	var ok Run
	err = s.db.GetContext(ctx, &ok, s.rebind(`SELECT `+runColumns+` FROM sync_runs WHERE connection_id = ? AND status = ? ORDER BY started_at DESC, id DESC LIMIT 1`), c.ID, RunSucceeded)
	switch {
	case err == nil:
		f.LastSuccess = &ok
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("last success: %w", interpretError(err))
	}
	return f, nil
}
