package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrLocked means another run of the connection holds its run lock.
var ErrLocked = errors.New("another run of the connection is in progress")

// ErrLockLost means a run lock is no longer held by the caller: it expired and another run took
// it over (the holder stopped renewing in time, e.g. while the database was unreachable).
var ErrLockLost = errors.New("run lock lost")

// RunLock is the row of a held per-connection run lock.
type RunLock struct {
	ConnectionID int64     `db:"connection_id" json:"connection_id"`
	Holder       string    `db:"holder" json:"holder"`
	Purpose      string    `db:"purpose" json:"purpose"`
	AcquiredAt   time.Time `db:"acquired_at" json:"acquired_at"`
	// ExpiresAtMS is the lease's end in unix milliseconds.
	ExpiresAtMS int64 `db:"expires_at" json:"-"`
}

// ExpiresAt is the end of the lease.
func (l RunLock) ExpiresAt() time.Time { return time.UnixMilli(l.ExpiresAtMS).UTC() }

// LockedError is ErrLocked with who holds the lock, so the refusal can say so.
type LockedError struct {
	Lock RunLock
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("%s (%s, holder %s, since %s)", ErrLocked, e.Lock.Purpose, e.Lock.Holder, e.Lock.AcquiredAt.UTC().Format(time.RFC3339))
}

// Unwrap makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Unwrap() error { return ErrLocked }

// AcquireRunLock takes the run lock of a connection for ttl, in one statement that works the same
// on both databases: it inserts the lease row, or takes over a row whose lease has expired. When a
// live lease is held by someone else it returns a *LockedError (errors.Is ErrLocked).
func (s *Store) AcquireRunLock(ctx context.Context, connectionID int64, holder, purpose string, ttl time.Duration) error {
	if err := s.turns.take(ctx, true); err != nil {
		return fmt.Errorf("acquire run lock: %w", err)
	}
	defer s.turns.give()
	now := s.Now()
	var got string
	err := s.lockDB.GetContext(ctx, &got, s.rebind(`
		INSERT INTO run_locks (connection_id, holder, purpose, acquired_at, expires_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (connection_id) DO UPDATE SET
			holder = excluded.holder, purpose = excluded.purpose,
			acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
		WHERE run_locks.expires_at <= ?
		RETURNING holder`), connectionID, holder, purpose, now, now.Add(ttl).UnixMilli(), now.UnixMilli())
	if err == nil {
		return nil
	}
	if err = interpretError(err); !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("acquire run lock: %w", err)
	}
	var cur RunLock
	err = s.lockDB.GetContext(ctx, &cur, s.rebind(`SELECT connection_id, holder, purpose, acquired_at, expires_at FROM run_locks WHERE connection_id = ?`), connectionID)
	if err != nil {
		// Released between the two statements: report it as busy all the same; a retry wins.
		return &LockedError{Lock: RunLock{ConnectionID: connectionID, Holder: "?", Purpose: "a run that just finished", AcquiredAt: now}}
	}
	return &LockedError{Lock: cur}
}

// RenewRunLock extends the lease of a lock the holder still has to now+ttl; ErrLockLost if the
// holder no longer has it. On SQLite the run lock's statements take the store's turn before any
// waiting transaction (see turns), so a busy process still renews its lease: its wait is bounded
// by the one transaction under way, not by every caller queued on the single connection.
func (s *Store) RenewRunLock(ctx context.Context, connectionID int64, holder string, ttl time.Duration) error {
	if err := s.turns.take(ctx, true); err != nil {
		return fmt.Errorf("renew run lock: %w", err)
	}
	defer s.turns.give()
	res, err := s.lockDB.ExecContext(ctx, s.rebind(`UPDATE run_locks SET expires_at = ? WHERE connection_id = ? AND holder = ?`),
		s.Now().Add(ttl).UnixMilli(), connectionID, holder)
	if err != nil {
		return fmt.Errorf("renew run lock: %w", interpretError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrLockLost
	}
	return nil
}

// ReleaseRunLock gives up a lock the holder has; releasing a lock taken over by someone else does
// nothing.
func (s *Store) ReleaseRunLock(ctx context.Context, connectionID int64, holder string) error {
	if err := s.turns.take(ctx, true); err != nil {
		return fmt.Errorf("release run lock: %w", err)
	}
	defer s.turns.give()
	if _, err := s.lockDB.ExecContext(ctx, s.rebind(`DELETE FROM run_locks WHERE connection_id = ? AND holder = ?`), connectionID, holder); err != nil {
		return fmt.Errorf("release run lock: %w", interpretError(err))
	}
	return nil
}

// RunLockOf returns the connection's lock row (held or expired), or ErrNotFound.
func (s *Store) RunLockOf(ctx context.Context, connectionID int64) (*RunLock, error) {
	var l RunLock
	if err := s.db.GetContext(ctx, &l, s.rebind(`SELECT connection_id, holder, purpose, acquired_at, expires_at FROM run_locks WHERE connection_id = ?`), connectionID); err != nil {
		return nil, fmt.Errorf("run lock: %w", interpretError(err))
	}
	return &l, nil
}
