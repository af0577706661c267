package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"
)

// TokenStore loads and saves a connection's OAuth token. The store implements it and encrypts
// tokens at rest; MarshalToken and UnmarshalToken give it a serialisation that keeps the extra
// fields connectors need (Salesforce instance_url).
type TokenStore interface {
	// LoadToken returns the connection's token; an error when there is none. Its errors name
	// the connection (the token source returns them as they are).
	LoadToken(ctx context.Context, connection string) (*oauth2.Token, error)
	// SaveToken replaces the connection's token.
	SaveToken(ctx context.Context, connection string, tok *oauth2.Token) error
}

// ReauthReporter is told when a connection's refresh token stopped working (revoked, expired,
// invalid_grant), so the store can mark the connection needs_reauth and an admin can reconnect.
type ReauthReporter interface {
	// NeedsReauth records that connection needs an admin to authorise it again, and why.
	NeedsReauth(ctx context.Context, connection, reason string) error
}

// TokenSourceOptions configures a TokenSource.
type TokenSourceOptions struct {
	// Connection is the connection's name, the key in Store.
	Connection string
	// Config holds the client id, secret and token endpoint.
	Config *oauth2.Config
	// Store loads and persists tokens. Required.
	Store TokenStore
	// Reauth is told about invalid_grant; nil to only return the error.
	Reauth ReauthReporter
	// HTTPClient calls the token endpoint; default a client with a 30 s timeout. Token requests are
	// not retried (a rotated refresh token must not be spent twice): a failed refresh is a
	// KindTransient error and the caller retries later.
	HTTPClient *http.Client
	// Metrics counts refreshes; nil for unregistered metrics.
	Metrics *Metrics
	// Logger logs refreshes (never the tokens).
	Logger zerolog.Logger
	// ExtraKeys lists token-response fields to keep in the token's Extra (e.g. "instance_url");
	// they are carried over when a refresh response omits them.
	ExtraKeys []string
}

// TokenSource hands out a connection's access token and refreshes it: at most one refresh at a
// time however many workers ask, tokens persisted through TokenStore, invalid_grant reported through
// ReauthReporter. Build one per connection per process; it is safe for concurrent use.
type TokenSource struct {
	opts TokenSourceOptions
	sem  chan struct{} // one holder at a time: loading or refreshing
	tok  *oauth2.Token // guarded by sem
	// reauth is the reason the refresh token was refused, guarded by sem; while set, Token and
	// Refresh fail fast unless the store holds a different refresh token.
	reauth string
	// refused is the refresh token that was refused.
	refused string
}

// NewTokenSource validates opts and returns a TokenSource. Nothing is loaded until first use.
func NewTokenSource(opts TokenSourceOptions) (*TokenSource, error) {
	if opts.Connection == "" {
		return nil, errors.New("connection name is required")
	}
	if opts.Store == nil {
		return nil, errors.New("token store is required")
	}
	if opts.Config == nil {
		return nil, errors.New("oauth2 config is required")
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if opts.Metrics == nil {
		m, err := NewMetrics(nil)
		if err != nil {
			return nil, err
		}
		opts.Metrics = m
	}
	return &TokenSource{opts: opts, sem: make(chan struct{}, 1)}, nil
}

func (s *TokenSource) lock(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *TokenSource) unlock() { <-s.sem }

// Token returns the current token, loading it from the store on first use and refreshing it when
// it carries an expiry that has passed (Salesforce tokens carry none: a 401 is their expiry signal).
func (s *TokenSource) Token(ctx context.Context) (*oauth2.Token, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	if s.tok == nil || s.reauth != "" {
		if err := s.load(ctx); err != nil {
			return nil, err
		}
	}
	if s.tok.AccessToken != "" && (s.tok.Expiry.IsZero() || s.tok.Valid()) {
		return s.tok, nil
	}
	return s.refresh(ctx)
}

// Refresh replaces stale after the CRM rejected it. If the current token already differs from
// stale (another worker refreshed, or another replica saved a newer token), that token is returned
// without calling the token endpoint.
func (s *TokenSource) Refresh(ctx context.Context, stale *oauth2.Token) (*oauth2.Token, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	if s.tok != nil && stale != nil && s.tok.AccessToken != stale.AccessToken && s.reauth == "" {
		return s.tok, nil
	}
	// Another replica may have refreshed already.
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	if stale != nil && s.tok.AccessToken != stale.AccessToken && s.tok.AccessToken != "" {
		return s.tok, nil
	}
	return s.refresh(ctx)
}

// load reads the token from the store; caller holds sem.
func (s *TokenSource) load(ctx context.Context) error {
	tok, err := s.opts.Store.LoadToken(ctx, s.opts.Connection)
	if err != nil {
		return err // the store's error names the operation and the connection
	}
	if tok == nil || (tok.AccessToken == "" && tok.RefreshToken == "") {
		return &Error{Kind: KindNeedsReauth, Message: fmt.Sprintf("connection %s has no token: connect it first", s.opts.Connection)}
	}
	if s.reauth != "" {
		if tok.RefreshToken == s.refused {
			return &Error{Kind: KindNeedsReauth, Code: "invalid_grant", Message: s.reauth}
		}
		s.reauth, s.refused = "", ""
	}
	s.tok = tok
	return nil
}

// refresh calls the token endpoint; caller holds sem.
func (s *TokenSource) refresh(ctx context.Context) (*oauth2.Token, error) {
	m := s.opts.Metrics
	old := s.tok
	if old.RefreshToken == "" {
		m.tokenRefreshes.WithLabelValues(s.opts.Connection, "needs_reauth").Inc()
		return nil, &Error{Kind: KindNeedsReauth, Message: fmt.Sprintf("connection %s: access token rejected and no refresh token to renew it", s.opts.Connection)}
	}
	hctx := context.WithValue(ctx, oauth2.HTTPClient, s.opts.HTTPClient)
	nt, err := s.opts.Config.TokenSource(hctx, &oauth2.Token{RefreshToken: old.RefreshToken}).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && isInvalidGrant(re) {
			reason := fmt.Sprintf("refresh token refused by the CRM (%s): an admin must connect %s again", firstNonEmpty(re.ErrorDescription, re.ErrorCode, "invalid_grant"), s.opts.Connection)
			s.reauth, s.refused = reason, old.RefreshToken
			m.tokenRefreshes.WithLabelValues(s.opts.Connection, "needs_reauth").Inc()
			if s.opts.Reauth != nil {
				if rerr := s.opts.Reauth.NeedsReauth(ctx, s.opts.Connection, reason); rerr != nil {
					return nil, errors.Join(&Error{Kind: KindNeedsReauth, Code: "invalid_grant", Message: reason}, fmt.Errorf("report needs_reauth: %w", rerr))
				}
			}
			return nil, &Error{Kind: KindNeedsReauth, Code: "invalid_grant", Message: reason}
		}
		m.tokenRefreshes.WithLabelValues(s.opts.Connection, "error").Inc()
		e := &Error{Kind: KindTransient, Message: fmt.Sprintf("refresh token of connection %s", s.opts.Connection)}
		if re != nil {
			e.Status = re.Response.StatusCode
			e.Code = re.ErrorCode
			if e.Status >= 400 && e.Status < 500 && e.Status != http.StatusTooManyRequests {
				e.Kind = KindAuth
			}
		} else if ctx.Err() != nil {
			return nil, ctx.Err()
		} else {
			e.Err = stripURL(err)
		}
		return nil, e
	}
	extra := map[string]any{}
	for _, k := range s.opts.ExtraKeys {
		if v := nt.Extra(k); v != nil && v != "" {
			extra[k] = v
		} else if v := old.Extra(k); v != nil {
			extra[k] = v
		}
	}
	nt = nt.WithExtra(extra)
	// Keep the new token even if saving it fails: with refresh-token rotation the old one is spent.
	s.tok = nt
	if err := s.opts.Store.SaveToken(ctx, s.opts.Connection, nt); err != nil {
		m.tokenRefreshes.WithLabelValues(s.opts.Connection, "save_error").Inc()
		s.opts.Logger.Error().Err(err).Str("connection", s.opts.Connection).Msg("refreshed token not saved; kept in memory")
		return nt, nil
	}
	m.tokenRefreshes.WithLabelValues(s.opts.Connection, "ok").Inc()
	s.opts.Logger.Info().Str("connection", s.opts.Connection).Msg("access token refreshed")
	return nt, nil
}

// isInvalidGrant recognises a refused refresh token: OAuth invalid_grant (Salesforce, newer
// HubSpot) or HubSpot's BAD_REFRESH_TOKEN.
func isInvalidGrant(re *oauth2.RetrieveError) bool {
	if re.ErrorCode == "invalid_grant" {
		return true
	}
	return strings.Contains(string(re.Body), "BAD_REFRESH_TOKEN") || strings.Contains(string(re.Body), `"invalid_grant"`)
}

// StaticToken is an Auth for tokens that never expire (HubSpot private apps): Refresh fails with
// KindAuth, since a rejected static token cannot be renewed.
type StaticToken struct {
	tok *oauth2.Token
}

// NewStaticToken returns an Auth that always sends accessToken as a bearer token.
func NewStaticToken(accessToken string) *StaticToken {
	return &StaticToken{tok: &oauth2.Token{AccessToken: accessToken, TokenType: "Bearer"}}
}

// Token returns the static token.
func (s *StaticToken) Token(context.Context) (*oauth2.Token, error) { return s.tok, nil }

// Refresh fails: a static token that the CRM rejects must be replaced by an admin.
func (s *StaticToken) Refresh(context.Context, *oauth2.Token) (*oauth2.Token, error) {
	return nil, &Error{Kind: KindAuth, Status: http.StatusUnauthorized, Message: "static access token rejected by the CRM: replace it in the configuration"}
}

// storedToken is the serialised form of a token, extras included.
type storedToken struct {
	AccessToken  string         `json:"access_token"`
	TokenType    string         `json:"token_type,omitempty"`
	RefreshToken string         `json:"refresh_token,omitempty"`
	Expiry       time.Time      `json:"expiry,omitzero"`
	Extra        map[string]any `json:"extra,omitempty"`
}

// MarshalToken serialises tok for storage, keeping its Extra fields instance_url, id, issued_at,
// scope and hub_id (oauth2.Token's own JSON form drops them). The result holds secrets: encrypt it.
func MarshalToken(tok *oauth2.Token) ([]byte, error) {
	st := storedToken{AccessToken: tok.AccessToken, TokenType: tok.TokenType, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry}
	for _, k := range []string{"instance_url", "id", "issued_at", "scope", "hub_id"} {
		if v := tok.Extra(k); v != nil && v != "" {
			if st.Extra == nil {
				st.Extra = map[string]any{}
			}
			st.Extra[k] = v
		}
	}
	return json.Marshal(st)
}

// UnmarshalToken reverses MarshalToken.
func UnmarshalToken(b []byte) (*oauth2.Token, error) {
	var st storedToken
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("decode token: %w", err)
	}
	tok := &oauth2.Token{AccessToken: st.AccessToken, TokenType: st.TokenType, RefreshToken: st.RefreshToken, Expiry: st.Expiry}
	if st.Extra != nil {
		tok = tok.WithExtra(st.Extra)
	}
	return tok, nil
}
