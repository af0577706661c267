package store

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/jmoiron/sqlx"
	"time"

	"golang.org/x/oauth2"

	"github.com/mapsync/mapsync/secrets"
)

// tokenExtras are the token response fields kept with a token (Salesforce's instance_url and
// identity URL, HubSpot's hub id).
var tokenExtras = []string{"instance_url", "id", "issued_at", "hub_id", "scope"}

type sealedToken struct {
	AccessToken  string            `json:"access_token"`
	RefreshToken string            `json:"refresh_token"`
	TokenType    string            `json:"token_type,omitempty"`
	Expiry       time.Time         `json:"expiry,omitzero"`
	Extra        map[string]string `json:"extra,omitempty"`
}

// SaveToken seals tok with AES-256-GCM, bound to the connection's name, and stores it. It
// implements connectors.TokenStore.
func (s *Store) SaveToken(ctx context.Context, connection string, tok *oauth2.Token) error {
	return s.saveToken(ctx, s.db, connection, tok)
}

func (s *Store) saveToken(ctx context.Context, db sqlx.ExecerContext, connection string, tok *oauth2.Token) error {
	if s.cipher == nil {
		return fmt.Errorf("store token for %s: %w", connection, secrets.ErrNoKey)
	}
	st := sealedToken{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, TokenType: tok.TokenType, Expiry: tok.Expiry.UTC()}
	for _, k := range tokenExtras {
		if v, ok := tok.Extra(k).(string); ok && v != "" {
			if st.Extra == nil {
				st.Extra = map[string]string{}
			}
			st.Extra[k] = v
		}
	}
	plain, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("store token for %s: %w", connection, err)
	}
	sealed, err := s.cipher.Seal(plain, []byte(connection))
	if err != nil {
		return fmt.Errorf("store token for %s: %w", connection, err)
	}
	var expires any
	if !tok.Expiry.IsZero() {
		expires = tok.Expiry.UTC()
	}
	res, err := db.ExecContext(ctx, s.rebind(`
		INSERT INTO oauth_tokens (connection_id, sealed, expires_at, updated_at)
		SELECT id, ?, ?, ? FROM connections WHERE name = ?
		ON CONFLICT (connection_id) DO UPDATE SET sealed = excluded.sealed, expires_at = excluded.expires_at, updated_at = excluded.updated_at`),
		sealed, expires, s.Now(), connection)
	if err != nil {
		return fmt.Errorf("store token for %s: %w", connection, interpretError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store token for %s: connection %w", connection, ErrNotFound)
	}
	return nil
}

// LoadToken opens the stored token of a connection, or returns ErrNotFound. It implements
// connectors.TokenStore.
func (s *Store) LoadToken(ctx context.Context, connection string) (*oauth2.Token, error) {
	if s.cipher == nil {
		return nil, fmt.Errorf("load token for %s: %w", connection, secrets.ErrNoKey)
	}
	var sealed []byte
	err := s.db.GetContext(ctx, &sealed, s.rebind(`
		SELECT t.sealed FROM oauth_tokens t JOIN connections c ON c.id = t.connection_id WHERE c.name = ?`), connection)
	if err != nil {
		return nil, fmt.Errorf("load token for %s: %w", connection, interpretError(err))
	}
	plain, err := s.cipher.Open(sealed, []byte(connection))
	if err != nil {
		return nil, fmt.Errorf("load token for %s: %w", connection, err)
	}
	var st sealedToken
	if err := json.Unmarshal(plain, &st); err != nil {
		return nil, fmt.Errorf("load token for %s: %w", connection, err)
	}
	tok := &oauth2.Token{AccessToken: st.AccessToken, RefreshToken: st.RefreshToken, TokenType: st.TokenType, Expiry: st.Expiry}
	if len(st.Extra) > 0 {
		extra := make(map[string]any, len(st.Extra))
		for k, v := range st.Extra {
			extra[k] = v
		}
		tok = tok.WithExtra(extra)
	}
	return tok, nil
}
