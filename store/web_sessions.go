package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// Kinds of web session (WebSession.Kind).
const (
	// WebSessionToken is a session an admin or seller made by signing in with an API token.
	WebSessionToken = "token"
	// WebSessionInvitation is a session a buyer's invitation link made (room pages).
	WebSessionInvitation = "invitation"
)

// WebSession is a signed-in browser of the web console or the plan room. The session id (the
// cookie's value) is not kept: only its SHA-256 is stored.
type WebSession struct {
	// Kind says what made the session: WebSessionToken or WebSessionInvitation.
	Kind string
	// TokenName is the API token a WebSessionToken session was made with; the session ends when
	// the token is revoked.
	TokenName string
	// Ref identifies what else made the session (an invitation id); "" for token sessions.
	Ref string
	// ActorID, ActorName and Side are who the session acts as (plans.Actor); Side is "seller"
	// or "buyer".
	ActorID, ActorName, Side string
	// PlanID, when not "", is the one plan the session may open.
	PlanID string
	// CreatedAt and ExpiresAt bound the session; it is valid while now < ExpiresAt.
	CreatedAt, ExpiresAt time.Time
}

// CreateWebSession stores ws and returns the new session's id: 32 random bytes in unpadded
// base64url, to be set as the cookie's value and never shown again. A token session whose
// TokenName names no valid token is an error matching ErrNotFound.
func (s *Store) CreateWebSession(ctx context.Context, ws WebSession) (string, error) {
	if ws.Kind == "" || ws.ActorID == "" || ws.Side == "" || !ws.ExpiresAt.After(ws.CreatedAt) {
		return "", errors.New("create web session: kind, actor, side and an expiry after creation are required")
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("create web session: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(b)
	args := []any{hashWebSession(id), ws.ActorID, ws.ActorName, ws.Side, ws.PlanID, ws.Kind, ws.Ref, ws.CreatedAt.UnixMilli(), ws.ExpiresAt.UnixMilli()}
	var q string
	if ws.TokenName != "" {
		// The token's id is taken in the same statement, so a token revoked meanwhile makes no
		// session.
		q = `INSERT INTO web_sessions (id_hash, actor_id, actor_name, side, plan_id, kind, ref, created_at, expires_at, token_id)
			SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, id FROM api_tokens WHERE name = ? AND revoked_at IS NULL`
		args = append(args, ws.TokenName)
	} else {
		q = `INSERT INTO web_sessions (id_hash, actor_id, actor_name, side, plan_id, kind, ref, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	}
	res, err := s.db.ExecContext(ctx, s.rebind(q), args...)
	if err != nil {
		return "", fmt.Errorf("create web session: %w", interpretError(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return "", fmt.Errorf("create web session: %w", err)
	} else if n == 0 {
		return "", fmt.Errorf("create web session: no valid api token %s: %w", ws.TokenName, ErrNotFound)
	}
	return id, nil
}

func hashWebSession(id string) []byte {
	sum := sha256.Sum256([]byte(id))
	return sum[:]
}

// WebSession returns the session with id, or an error matching ErrNotFound when it is unknown,
// expired at now, or made with an API token since revoked. Errors never contain the id.
func (s *Store) WebSession(ctx context.Context, id string, now time.Time) (*WebSession, error) {
	var row struct {
		ActorID   string  `db:"actor_id"`
		ActorName string  `db:"actor_name"`
		Side      string  `db:"side"`
		PlanID    string  `db:"plan_id"`
		Kind      string  `db:"kind"`
		Ref       string  `db:"ref"`
		CreatedAt int64   `db:"created_at"`
		ExpiresAt int64   `db:"expires_at"`
		TokenID   *int64  `db:"token_id"`
		TokenName *string `db:"token_name"`
		Revoked   *int64  `db:"revoked"`
	}
	err := s.db.GetContext(ctx, &row, s.rebind(`
		SELECT w.actor_id, w.actor_name, w.side, w.plan_id, w.kind, w.ref, w.created_at, w.expires_at, w.token_id,
		       t.name AS token_name, CASE WHEN t.revoked_at IS NULL THEN NULL ELSE 1 END AS revoked
		FROM web_sessions w LEFT JOIN api_tokens t ON t.id = w.token_id
		WHERE w.id_hash = ?`), hashWebSession(id))
	if err = interpretError(err); errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("web session: unknown session: %w", ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("web session: %w", err)
	}
	if now.UnixMilli() >= row.ExpiresAt {
		return nil, fmt.Errorf("web session: expired at %s: %w", time.UnixMilli(row.ExpiresAt).UTC().Format(time.RFC3339), ErrNotFound)
	}
	ws := &WebSession{
		Kind: row.Kind, Ref: row.Ref, ActorID: row.ActorID, ActorName: row.ActorName, Side: row.Side, PlanID: row.PlanID,
		CreatedAt: time.UnixMilli(row.CreatedAt).UTC(), ExpiresAt: time.UnixMilli(row.ExpiresAt).UTC(),
	}
	if row.TokenID != nil {
		if row.TokenName == nil || row.Revoked != nil {
			return nil, fmt.Errorf("web session: its api token is revoked: %w", ErrNotFound)
		}
		ws.TokenName = *row.TokenName
	}
	return ws, nil
}

// DeleteWebSession ends the session with id (signing out). An unknown id is not an error: the
// session is gone either way.
func (s *Store) DeleteWebSession(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM web_sessions WHERE id_hash = ?`), hashWebSession(id)); err != nil {
		return fmt.Errorf("delete web session: %w", interpretError(err))
	}
	return nil
}

// DeleteWebSessionsRef ends every session of kind made from ref (an invitation revoked) and
// returns how many there were.
func (s *Store) DeleteWebSessionsRef(ctx context.Context, kind, ref string) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM web_sessions WHERE kind = ? AND ref = ?`), kind, ref)
	if err != nil {
		return 0, fmt.Errorf("delete web sessions of %s %s: %w", kind, ref, interpretError(err))
	}
	return res.RowsAffected()
}

// DeleteExpiredWebSessions removes the sessions expired at now and returns how many there were.
func (s *Store) DeleteExpiredWebSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM web_sessions WHERE expires_at <= ?`), now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("delete expired web sessions: %w", interpretError(err))
	}
	return res.RowsAffected()
}
