package store

import (
	"context"
	"fmt"
	"github.com/jmoiron/sqlx"
	"time"

	"golang.org/x/oauth2"
)

// Connection statuses.
const (
	ConnectionActive      = "active"
	ConnectionNeedsReauth = "needs_reauth"
	ConnectionDisabled    = "disabled"
)

// Connection is a stored CRM connection. Its settings live in the configuration; the store keeps
// its identity and health.
type Connection struct {
	ID           int64     `db:"id" json:"id"`
	Name         string    `db:"name" json:"name"`
	Kind         string    `db:"kind" json:"kind"`
	Status       string    `db:"status" json:"status"`
	StatusReason string    `db:"status_reason" json:"status_reason,omitempty"`
	CreatedAt    time.Time `db:"created_at" json:"created_at"`
	UpdatedAt    time.Time `db:"updated_at" json:"updated_at"`
}

const connectionColumns = `id, name, kind, status, status_reason, created_at, updated_at`

// EnsureConnection returns the connection named name, creating it with kind if it does not
// exist. A stored connection of another kind is a conflict: the admin reused a name.
func (s *Store) EnsureConnection(ctx context.Context, name, kind string) (*Connection, error) {
	now := s.Now()
	_, err := s.db.ExecContext(ctx, s.rebind(`
		INSERT INTO connections (name, kind, status, status_reason, created_at, updated_at)
		VALUES (?, ?, ?, '', ?, ?)
		ON CONFLICT (name) DO NOTHING`), name, kind, ConnectionActive, now, now)
	if err != nil {
		return nil, fmt.Errorf("ensure connection %s: %w", name, interpretError(err))
	}
	c, err := s.ConnectionByName(ctx, name)
	if err != nil {
		return nil, err
	}
	if c.Kind != kind {
		return nil, fmt.Errorf("connection %s is stored as %s, configured as %s: %w", name, c.Kind, kind, ErrConflict)
	}
	return c, nil
}

// ConnectionByName returns the connection named name, or ErrNotFound.
func (s *Store) ConnectionByName(ctx context.Context, name string) (*Connection, error) {
	var c Connection
	err := s.db.GetContext(ctx, &c, s.rebind(`SELECT `+connectionColumns+` FROM connections WHERE name = ?`), name)
	if err != nil {
		return nil, fmt.Errorf("connection %s: %w", name, interpretError(err))
	}
	return &c, nil
}

// Connections lists every stored connection by name.
func (s *Store) Connections(ctx context.Context) ([]Connection, error) {
	var cs []Connection
	if err := s.db.SelectContext(ctx, &cs, `SELECT `+connectionColumns+` FROM connections ORDER BY name`); err != nil {
		return nil, fmt.Errorf("list connections: %w", interpretError(err))
	}
	return cs, nil
}

// SetConnectionStatus records a connection's health, e.g. needs_reauth with the reason a person
// can act on.
func (s *Store) SetConnectionStatus(ctx context.Context, name, status, reason string) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE connections SET status = ?, status_reason = ?, updated_at = ? WHERE name = ?`),
		status, reason, s.Now(), name)
	if err != nil {
		return fmt.Errorf("set connection %s status: %w", name, interpretError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("connection %s: %w", name, ErrNotFound)
	}
	return nil
}

// NeedsReauth marks a connection needs_reauth with the reason an admin can act on. It
// implements connectors.ReauthReporter.
func (s *Store) NeedsReauth(ctx context.Context, connection, reason string) error {
	return s.SetConnectionStatus(ctx, connection, ConnectionNeedsReauth, reason)
}

// SeedToken stores tok for a connection only if it has no token yet (the configured first
// refresh token); a stored token, refreshed since, wins. It reports whether it stored tok.
func (s *Store) SeedToken(ctx context.Context, connection string, tok *oauth2.Token) (bool, error) {
	var n int
	err := s.db.GetContext(ctx, &n, s.rebind(`
		SELECT COUNT(*) FROM oauth_tokens t JOIN connections c ON c.id = t.connection_id WHERE c.name = ?`), connection)
	if err != nil {
		return false, fmt.Errorf("seed token for %s: %w", connection, interpretError(err))
	}
	if n > 0 {
		return false, nil
	}
	return true, s.SaveToken(ctx, connection, tok)
}

// Reconnect replaces a connection's stored token with tok (an admin's new refresh token) and
// marks the connection active again, in one transaction: the way out of needs_reauth.
func (s *Store) Reconnect(ctx context.Context, connection string, tok *oauth2.Token) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.saveToken(ctx, tx, connection, tok); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.rebind(`UPDATE connections SET status = ?, status_reason = '', updated_at = ? WHERE name = ?`),
			ConnectionActive, s.Now(), connection)
		if err != nil {
			return fmt.Errorf("reconnect %s: %w", connection, interpretError(err))
		}
		return nil
	})
}
