package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Webhook event sources and statuses.
const (
	WebhookHubSpot    = "hubspot"
	WebhookSalesforce = "salesforce"
	WebhookGeneric    = "generic"

	// WebhookPending events are stored and wait for (or are in) processing.
	WebhookPending = "pending"
	// WebhookDone events were processed.
	WebhookDone = "done"
	// WebhookDead events failed their last attempt: a dead letter, retryable by an admin.
	WebhookDead = "dead"
)

// NewWebhookEvent is one received event to store.
type NewWebhookEvent struct {
	ConnectionID int64
	Source       string
	// Key identifies the event at its source (dedupe): HubSpot eventId, Salesforce notification
	// Id, Standard Webhooks webhook-id.
	Key        string
	Type       string
	Object     string
	CRMID      string
	OccurredAt *time.Time
	Payload    string
}

// WebhookEvent is a stored webhook event.
type WebhookEvent struct {
	ID           int64      `db:"id" json:"id"`
	ConnectionID int64      `db:"connection_id" json:"connection_id"`
	Source       string     `db:"source" json:"source"`
	Key          string     `db:"event_key" json:"event_key"`
	Type         string     `db:"event_type" json:"event_type"`
	Object       string     `db:"object" json:"object"`
	CRMID        string     `db:"crm_id" json:"crm_id"`
	OccurredAt   *time.Time `db:"occurred_at" json:"occurred_at,omitempty"`
	ReceivedAt   time.Time  `db:"received_at" json:"received_at"`
	Payload      string     `db:"payload" json:"payload"`
	Status       string     `db:"status" json:"status"`
	Attempts     int        `db:"attempts" json:"attempts"`
	LastError    string     `db:"last_error" json:"last_error,omitempty"`
	ProcessedAt  *time.Time `db:"processed_at" json:"processed_at,omitempty"`
}

const webhookEventColumns = `id, connection_id, source, event_key, event_type, object, crm_id, occurred_at, received_at, payload, status, attempts, last_error, processed_at`

// OnWebhookEventsStored runs inside the transaction that stored new events, with their ids (in
// the order given, duplicates left out): to enqueue their processing atomically with them.
type OnWebhookEventsStored func(ctx context.Context, tx *sql.Tx, ids []int64) error

// StoreWebhookEvents stores events in one transaction; an event already stored (same connection,
// source and key) is skipped: a redelivery changes nothing. It returns the ids of the events it
// stored, in the order given, and calls onStored (when not nil) with them before committing.
func (s *Store) StoreWebhookEvents(ctx context.Context, events []NewWebhookEvent, onStored OnWebhookEventsStored) ([]int64, error) {
	each, err := s.StoreWebhookEventIDs(ctx, events, onStored)
	if err != nil {
		return nil, err
	}
	return StoredIDs(each), nil
}

// StoreWebhookEventIDs is StoreWebhookEvents answering for each event given: the id it was
// stored with, or 0 when this call did not store it (stored before: a redelivery; or repeated
// earlier in events: only the first occurrence is stored). onStored gets the ids of the events
// stored, in the order given, without the 0s. The webhook receivers' group commit stores several
// requests' events in one call and hands each request its own part.
//
// The events go in as multi-row INSERTs of up to webhookInsertRows rows (one round trip for a
// HubSpot request of 100 events, not 100: the webhooks bench scenario's batches were bound by
// them).
func (s *Store) StoreWebhookEventIDs(ctx context.Context, events []NewWebhookEvent, onStored OnWebhookEventsStored) ([]int64, error) {
	type eventKey struct {
		conn        int64
		source, key string
	}
	first := make(map[eventKey]int, len(events)) // key -> index of its first occurrence
	unique := make([]NewWebhookEvent, 0, len(events))
	for i, e := range events {
		k := eventKey{e.ConnectionID, e.Source, e.Key}
		if _, ok := first[k]; !ok {
			first[k] = i
			unique = append(unique, e)
		}
	}
	each := make([]int64, len(events))
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		clear(each)
		now := s.Now()
		for start := 0; start < len(unique); start += webhookInsertRows {
			chunk := unique[start:min(start+webhookInsertRows, len(unique))]
			var q strings.Builder
			q.WriteString(`INSERT INTO webhook_events (connection_id, source, event_key, event_type, object, crm_id, occurred_at, received_at, payload, status) VALUES `)
			args := make([]any, 0, len(chunk)*10)
			for i, e := range chunk {
				if i > 0 {
					q.WriteString(", ")
				}
				q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
				var occurred any
				if e.OccurredAt != nil {
					occurred = e.OccurredAt.UTC()
				}
				args = append(args, e.ConnectionID, e.Source, e.Key, e.Type, e.Object, e.CRMID, occurred, now, e.Payload, WebhookPending)
			}
			q.WriteString(` ON CONFLICT (connection_id, source, event_key) DO NOTHING RETURNING id, connection_id, source, event_key`)
			rows, err := tx.QueryContext(ctx, tx.Rebind(q.String()), args...)
			if err != nil {
				return fmt.Errorf("store %d webhook events (%s/%s...): %w", len(chunk), chunk[0].Source, chunk[0].Key, interpretError(err))
			}
			for rows.Next() {
				var (
					id int64
					k  eventKey
				)
				if err := rows.Scan(&id, &k.conn, &k.source, &k.key); err != nil {
					rows.Close()
					return fmt.Errorf("store webhook events: %w", err)
				}
				if i, ok := first[k]; ok {
					each[i] = id
				}
			}
			if err := rows.Close(); err != nil {
				return fmt.Errorf("store webhook events: %w", interpretError(err))
			}
			if err := rows.Err(); err != nil {
				return fmt.Errorf("store webhook events: %w", interpretError(err))
			}
		}
		if ids := StoredIDs(each); onStored != nil && len(ids) > 0 {
			return onStored(ctx, tx.Tx, ids)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return each, nil
}

// StoredIDs are the ids of StoreWebhookEventIDs's answer without its 0s (events not stored).
func StoredIDs(each []int64) []int64 {
	ids := make([]int64, 0, len(each))
	for _, id := range each {
		if id != 0 {
			ids = append(ids, id)
		}
	}
	return ids
}

// webhookInsertRows is the most rows one INSERT of StoreWebhookEvents carries (10 parameters a
// row: far under both databases' parameter limits).
const webhookInsertRows = 200

// WebhookEventByID returns one stored event, or ErrNotFound.
func (s *Store) WebhookEventByID(ctx context.Context, id int64) (*WebhookEvent, error) {
	var e WebhookEvent
	if err := s.db.GetContext(ctx, &e, s.rebind(`SELECT `+webhookEventColumns+` FROM webhook_events WHERE id = ?`), id); err != nil {
		return nil, fmt.Errorf("webhook event %d: %w", id, interpretError(err))
	}
	return &e, nil
}

// FinishWebhookEvent records an attempt's outcome: status done or dead with the error, or
// pending (to be retried) with the error of the failed attempt.
func (s *Store) FinishWebhookEvent(ctx context.Context, id int64, status, lastError string) error {
	var processed any
	if status != WebhookPending {
		processed = s.Now()
	}
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE webhook_events SET status = ?, attempts = attempts + 1, last_error = ?, processed_at = ? WHERE id = ?`),
		status, lastError, processed, id)
	if err != nil {
		return fmt.Errorf("finish webhook event %d: %w", id, interpretError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("finish webhook event %d: %w", id, ErrNotFound)
	}
	return nil
}

// WebhookEventFilter selects events for WebhookEvents.
type WebhookEventFilter struct {
	// ConnectionID limits to one connection (0: all).
	ConnectionID int64
	// IDs limits to these events (empty: all).
	IDs []int64
	// Statuses limits to these statuses (empty: all).
	Statuses []string
	// After lists events with a greater id (paging).
	After int64
	// Limit caps the list (default 100).
	Limit int
}

// WebhookEvents lists stored events by id.
func (s *Store) WebhookEvents(ctx context.Context, f WebhookEventFilter) ([]WebhookEvent, error) {
	where := []string{"id > ?"}
	args := []any{f.After}
	if f.ConnectionID != 0 {
		where = append(where, "connection_id = ?")
		args = append(args, f.ConnectionID)
	}
	if len(f.IDs) > 0 {
		where = append(where, "id IN (?"+strings.Repeat(", ?", len(f.IDs)-1)+")")
		for _, id := range f.IDs {
			args = append(args, id)
		}
	}
	if len(f.Statuses) > 0 {
		where = append(where, "status IN (?"+strings.Repeat(", ?", len(f.Statuses)-1)+")")
		for _, st := range f.Statuses {
			args = append(args, st)
		}
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	args = append(args, f.Limit)
	var out []WebhookEvent
	q := `SELECT ` + webhookEventColumns + ` FROM webhook_events WHERE ` + strings.Join(where, " AND ") + ` ORDER BY id LIMIT ?`
	if err := s.db.SelectContext(ctx, &out, s.rebind(q), args...); err != nil {
		return nil, fmt.Errorf("list webhook events: %w", interpretError(err))
	}
	return out, nil
}

// CountWebhookEvents counts a connection's events (0: all connections) by status.
func (s *Store) CountWebhookEvents(ctx context.Context, connectionID int64) (map[string]int, error) {
	var rows []struct {
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	err := s.db.SelectContext(ctx, &rows, s.rebind(`SELECT status, COUNT(*) AS n FROM webhook_events WHERE (? = 0 OR connection_id = ?) GROUP BY status`), connectionID, connectionID)
	if err != nil {
		return nil, fmt.Errorf("count webhook events: %w", interpretError(err))
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}

// RetryWebhookEvent puts a dead event back to pending (attempts reset) and calls onRetried
// (when not nil) with its id in the same transaction, to enqueue its processing; ErrNotFound if
// no dead event has that id.
func (s *Store) RetryWebhookEvent(ctx context.Context, id int64, onRetried OnWebhookEventsStored) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE webhook_events SET status = ?, attempts = 0, processed_at = NULL WHERE id = ? AND status = ?`),
			WebhookPending, id, WebhookDead)
		if err != nil {
			return fmt.Errorf("retry webhook event %d: %w", id, interpretError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("retry webhook event %d: no dead event with that id: %w", id, ErrNotFound)
		}
		if onRetried != nil {
			return onRetried(ctx, tx.Tx, []int64{id})
		}
		return nil
	})
}
