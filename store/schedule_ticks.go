package store

import (
	"context"
	"errors"
	"fmt"

	"time"

	"github.com/mapsync/mapsync/connectors"
)

// ClaimScheduleTick claims one firing (tick) of a connection's schedule named name, once across
// every process on the database: the first caller for a tick gets true, later ones (other
// replicas firing the same schedule) false. A claim stores the tick as the schedule's cursor
// (sync_cursors, object "schedule:NAME"), so a tick at or before the last claimed one is refused.
func (s *Store) ClaimScheduleTick(ctx context.Context, connectionID int64, name string, tick time.Time) (bool, error) {
	var got string
	err := s.db.GetContext(ctx, &got, s.rebind(`
		INSERT INTO sync_cursors (connection_id, object, cursor, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (connection_id, object) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at
		WHERE sync_cursors.cursor < excluded.cursor
		RETURNING cursor`), connectionID, string(ScheduleObject(name)), fmt.Sprintf("%020d", tick.UnixMilli()), s.Now())
	if err != nil {
		if err = interpretError(err); errors.Is(err, ErrNotFound) {
			return false, nil
		}
		return false, fmt.Errorf("claim schedule tick: %w", err)
	}
	return true, nil
}

// ScheduleObject is the pseudo object under which a schedule's last claimed tick is stored.
func ScheduleObject(name string) connectors.Object { return connectors.Object("schedule:" + name) }
