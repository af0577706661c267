package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// APITokenPrefix starts every API token, so a leaked one is easy to recognise (secret scanners).
const APITokenPrefix = "msk_"

// apiTokenTouchEvery is how stale last_used_at may get: a verification writes it at most this
// often per token.
const apiTokenTouchEvery = time.Minute

// APIToken is a stored API token, without the token itself (only its SHA-256 is kept).
type APIToken struct {
	// Name identifies the token; unique among tokens not revoked.
	Name string `db:"name" json:"name"`
	// CreatedAt is when the token was created.
	CreatedAt time.Time `db:"created_at" json:"created_at"`
	// LastUsedAt is when the token was last verified, to the minute; nil if never.
	LastUsedAt *time.Time `db:"last_used_at" json:"last_used_at,omitempty"`
	// RevokedAt is when the token was revoked; nil while it is valid.
	RevokedAt *time.Time `db:"revoked_at" json:"revoked_at,omitempty"`
}

// APITokenNameRule says which names an API token may have (ValidateAPITokenName).
const APITokenNameRule = "1 to 63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit"

var apiTokenName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// ErrBadTokenName is the error (wrapped) of a token name that breaks APITokenNameRule.
var ErrBadTokenName = errors.New("invalid api token name")

// ValidateAPITokenName returns an error matching ErrBadTokenName, stating the rule, unless name
// follows APITokenNameRule.
func ValidateAPITokenName(name string) error {
	if !apiTokenName.MatchString(name) {
		return fmt.Errorf("%w %q: want %s", ErrBadTokenName, name, APITokenNameRule)
	}
	return nil
}

// CreateAPIToken makes a new API token called name and returns it: "msk_" and 32 random bytes
// in unpadded base64url. Only its SHA-256 is stored, so the token cannot be shown again. A name
// that breaks APITokenNameRule is an error matching ErrBadTokenName; a name held by a token not
// revoked is an error matching ErrConflict, on both databases.
func (s *Store) CreateAPIToken(ctx context.Context, name string) (string, error) {
	if err := ValidateAPITokenName(name); err != nil {
		return "", fmt.Errorf("create api token: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("create api token %s: %w", name, err)
	}
	token := APITokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO api_tokens (name, hash, created_at) VALUES (?, ?, ?)`),
		name, hashAPIToken(token), s.Now())
	if err = interpretError(err); errors.Is(err, ErrConflict) {
		// The driver's text ("UNIQUE constraint failed: ...") says nothing more.
		return "", fmt.Errorf("create api token %s: a valid token has this name: %w", name, ErrConflict)
	} else if err != nil {
		return "", fmt.Errorf("create api token %s: %w", name, err)
	}
	return token, nil
}

func hashAPIToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// VerifyAPIToken returns the name of the token, or an error matching ErrNotFound when the token
// is unknown or revoked. The lookup is by hash, so no comparison leaks timing about a stored
// token; errors never contain the token. It records the use at most once a minute per token.
func (s *Store) VerifyAPIToken(ctx context.Context, token string) (string, error) {
	if !strings.HasPrefix(token, APITokenPrefix) {
		return "", fmt.Errorf("verify api token: unknown token: %w", ErrNotFound)
	}
	var row struct {
		ID         int64      `db:"id"`
		Name       string     `db:"name"`
		LastUsedAt *time.Time `db:"last_used_at"`
		RevokedAt  *time.Time `db:"revoked_at"`
	}
	err := s.db.GetContext(ctx, &row, s.rebind(`SELECT id, name, last_used_at, revoked_at FROM api_tokens WHERE hash = ?`), hashAPIToken(token))
	if err = interpretError(err); errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("verify api token: unknown token: %w", ErrNotFound)
	} else if err != nil {
		return "", fmt.Errorf("verify api token: %w", err)
	}
	if row.RevokedAt != nil {
		return "", fmt.Errorf("verify api token: token %s is revoked: %w", row.Name, ErrNotFound)
	}
	now := s.Now()
	if row.LastUsedAt == nil || now.Sub(*row.LastUsedAt) >= apiTokenTouchEvery {
		// The condition repeats in SQL so that concurrent verifications write once.
		_, err := s.db.ExecContext(ctx, s.rebind(`
			UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`),
			now, row.ID, now.Add(-apiTokenTouchEvery))
		if err != nil {
			return "", fmt.Errorf("verify api token %s: record use: %w", row.Name, interpretError(err))
		}
	}
	return row.Name, nil
}

// RevokeAPIToken revokes the token called name; the row stays, listed with its revocation time,
// and the name is free for a new token. A name with no valid token is an error matching
// ErrNotFound.
func (s *Store) RevokeAPIToken(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL`), s.Now(), name)
	if err != nil {
		return fmt.Errorf("revoke api token %s: %w", name, interpretError(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("revoke api token %s: %w", name, err)
	} else if n == 0 {
		return fmt.Errorf("revoke api token %s: %w", name, ErrNotFound)
	}
	return nil
}

// ListAPITokens returns every token, revoked ones included, by name and then creation time.
func (s *Store) ListAPITokens(ctx context.Context) ([]APIToken, error) {
	var out []APIToken
	err := s.db.SelectContext(ctx, &out, `
		SELECT name, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY name, created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list api tokens: %w", interpretError(err))
	}
	for i := range out {
		out[i].CreatedAt = out[i].CreatedAt.UTC()
		out[i].LastUsedAt = utcPtr(out[i].LastUsedAt)
		out[i].RevokedAt = utcPtr(out[i].RevokedAt)
	}
	return out, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
