package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mapsync/mapsync/connectors"
)

// LoadFieldMeta returns the field metadata of (connection, object) as last saved and when it
// was fetched from the CRM; ok is false when none is stored. connection is the connection's name.
// It satisfies connectors.MetaStore.
func (s *Store) LoadFieldMeta(ctx context.Context, connection string, object connectors.Object) (meta []connectors.FieldMeta, fetchedAt time.Time, ok bool, err error) {
	var row struct {
		Fields    string    `db:"fields"`
		FetchedAt time.Time `db:"fetched_at"`
	}
	err = s.db.GetContext(ctx, &row, s.rebind(`
		SELECT f.fields, f.fetched_at FROM field_meta f JOIN connections c ON c.id = f.connection_id
		WHERE c.name = ? AND f.object = ?`), connection, string(object))
	if err != nil {
		if err = interpretError(err); errors.Is(err, ErrNotFound) {
			return nil, time.Time{}, false, nil
		}
		return nil, time.Time{}, false, fmt.Errorf("load field metadata %s %s: %w", connection, object, err)
	}
	if err := json.Unmarshal([]byte(row.Fields), &meta); err != nil {
		return nil, time.Time{}, false, fmt.Errorf("load field metadata %s %s: %w", connection, object, err)
	}
	return meta, row.FetchedAt.UTC(), true, nil
}

// SaveFieldMeta stores the field metadata of (connection, object) fetched at fetchedAt, replacing
// what was there. The connection must be known to the store (EnsureConnection); otherwise the
// error is ErrNotFound.
func (s *Store) SaveFieldMeta(ctx context.Context, connection string, object connectors.Object, meta []connectors.FieldMeta, fetchedAt time.Time) error {
	raw, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, s.rebind(`
		INSERT INTO field_meta (connection_id, object, fields, fetched_at)
		SELECT id, ?, ?, ? FROM connections WHERE name = ?
		ON CONFLICT (connection_id, object) DO UPDATE SET fields = excluded.fields, fetched_at = excluded.fetched_at`),
		string(object), string(raw), fetchedAt.UTC(), connection)
	if err != nil {
		return fmt.Errorf("save field metadata %s %s: %w", connection, object, interpretError(err))
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("save field metadata %s %s: connection: %w", connection, object, ErrNotFound)
	}
	return nil
}
