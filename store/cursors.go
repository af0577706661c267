package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/mapsync/mapsync/connectors"
)

// Cursor returns where the incremental pull of (connection, object) stands; the zero cursor
// when none has run.
func (s *Store) Cursor(ctx context.Context, connectionID int64, object connectors.Object) (connectors.Cursor, error) {
	var raw string
	err := s.db.GetContext(ctx, &raw, s.rebind(`SELECT cursor FROM sync_cursors WHERE connection_id = ? AND object = ?`), connectionID, string(object))
	if err != nil {
		if err = interpretError(err); errors.Is(err, ErrNotFound) {
			return connectors.Cursor{}, nil
		}
		return connectors.Cursor{}, fmt.Errorf("cursor %s: %w", object, err)
	}
	var c connectors.Cursor
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return connectors.Cursor{}, fmt.Errorf("cursor %s: %w", object, err)
	}
	return c, nil
}

// ResetCursor forgets the cursor of (connection, object): the next pull starts from the beginning.
func (s *Store) ResetCursor(ctx context.Context, connectionID int64, object connectors.Object) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM sync_cursors WHERE connection_id = ? AND object = ?`), connectionID, string(object))
	if err != nil {
		return fmt.Errorf("reset cursor %s: %w", object, interpretError(err))
	}
	return nil
}

func (s *Store) setCursor(ctx context.Context, tx *sqlx.Tx, connID int64, object connectors.Object, c connectors.Cursor) error {
	c.Stamp = c.Stamp.UTC()
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, tx.Rebind(`
		INSERT INTO sync_cursors (connection_id, object, cursor, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (connection_id, object) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`),
		connID, string(object), string(raw), s.Now())
	if err != nil {
		return fmt.Errorf("store cursor %s: %w", object, interpretError(err))
	}
	return nil
}
