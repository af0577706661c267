package hubspot

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Credentials the sandbox accepts.
const (
	// PrivateAppToken is the static private-app access token; it never expires.
	PrivateAppToken = "sandbox-token"
	// ClientID is the OAuth app's client id.
	ClientID = "sandbox-client-id"
	// ClientSecret is the OAuth app's client secret; it also signs webhook requests.
	ClientSecret = "sandbox-client-secret"
	// RefreshToken is the OAuth refresh token that POST /oauth/v1/token exchanges.
	RefreshToken = "sandbox-refresh-token"

	// PortalID is the sandbox account's hub id.
	PortalID = 24_681_357
	// AppID is the sandbox app's id (webhook events carry it).
	AppID = 3_141_592

	msgNoCredentials = "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)

// DefaultTokenTTL is the OAuth access-token lifetime when Options.TokenTTL is 0 (HubSpot's
// expires_in of 1800 s).
const DefaultTokenTTL = 30 * time.Minute

// authState tracks issued OAuth access tokens and the refresh token's state.
type authState struct {
	mu             sync.Mutex
	ttl            time.Duration
	tokens         map[string]time.Time // access token -> expiry
	refreshRevoked bool
}

func newAuthState(ttl time.Duration) *authState {
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	return &authState{ttl: ttl, tokens: map[string]time.Time{}}
}

// authenticate checks the bearer token; it writes the 401 itself and returns ok=false.
func (s *Sandbox) authenticate(w http.ResponseWriter, r *http.Request) (oauth, ok bool) {
	tok, found := bearerToken(r)
	if !found || tok == "" {
		writeError(w, http.StatusUnauthorized, catInvalidAuth, msgNoCredentials)
		return false, false
	}
	if tok == PrivateAppToken {
		return false, true
	}
	now := s.now()
	s.auth.mu.Lock()
	exp, known := s.auth.tokens[tok]
	s.auth.mu.Unlock()
	switch {
	case !known:
		writeError(w, http.StatusUnauthorized, catInvalidAuth, msgNoCredentials)
		return true, false
	case !now.Before(exp):
		ago := int(now.Sub(exp) / time.Second)
		writeJSON(w, http.StatusUnauthorized, apiError{Status: "error",
			Message:       fmt.Sprintf("The OAuth token used to make this call expired %d second(s) ago.", ago),
			CorrelationID: newCorrelationID(), Category: catExpiredAuth,
			Context: map[string][]string{"expire time": {exp.UTC().Format(isoMillis)}}})
		return true, false
	}
	return true, true
}

// bearerToken returns the token of an Authorization: Bearer header.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	tok, found := strings.CutPrefix(h, "Bearer ")
	if !found {
		tok, found = strings.CutPrefix(h, "bearer ")
	}
	return strings.TrimSpace(tok), found
}

// handleToken serves POST /oauth/v1/token (refresh_token and authorization_code grants).
func (s *Sandbox) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, "BAD_REQUEST", "could not read the form body")
		return
	}
	f := r.PostForm
	if f.Get("client_id") != ClientID {
		writeOAuthError(w, "BAD_CLIENT_ID", "missing or unknown client id")
		return
	}
	if f.Get("client_secret") != ClientSecret {
		writeOAuthError(w, "BAD_CLIENT_SECRET", "missing or invalid client secret")
		return
	}
	switch f.Get("grant_type") {
	case "refresh_token":
		s.auth.mu.Lock()
		revoked := s.auth.refreshRevoked
		s.auth.mu.Unlock()
		if f.Get("refresh_token") != RefreshToken || revoked {
			writeJSON(w, http.StatusBadRequest, map[string]string{"status": "BAD_REFRESH_TOKEN",
				"message": "missing or unknown refresh token", "correlationId": newCorrelationID(), "error": "invalid_grant"})
			return
		}
	case "authorization_code":
		if f.Get("code") == "" {
			writeOAuthError(w, "BAD_AUTH_CODE", "missing or unknown auth code")
			return
		}
	default:
		writeOAuthError(w, "BAD_GRANT_TYPE", "missing or unsupported grant type")
		return
	}
	tok := "sbx-" + uuid.NewString()
	s.auth.mu.Lock()
	s.auth.tokens[tok] = s.now().Add(s.auth.ttl)
	ttl := s.auth.ttl
	s.auth.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "bearer", "refresh_token": RefreshToken,
		"access_token": tok, "expires_in": int(ttl / time.Second), "hub_id": PortalID, "user_id": firstUserID,
		"scopes": []string{"oauth", "crm.objects.deals.read", "crm.objects.deals.write", "crm.objects.contacts.read",
			"crm.objects.contacts.write", "crm.objects.owners.read", "crm.schemas.deals.read"}})
}

// handleAccessTokenInfo serves GET /oauth/v1/access-tokens/{token}.
func (s *Sandbox) handleAccessTokenInfo(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	s.auth.mu.Lock()
	exp, ok := s.auth.tokens[tok]
	s.auth.mu.Unlock()
	if !ok || !s.now().Before(exp) {
		writeJSON(w, http.StatusNotFound, map[string]string{"status": "error", "message": "access token not found or expired",
			"correlationId": newCorrelationID()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": tok, "user": s.owners[0].email, "hub_id": PortalID,
		"app_id": AppID, "expires_in": int(exp.Sub(s.now()) / time.Second), "user_id": firstUserID,
		"token_type": "access", "hub_domain": "sandbox.hubspot.example", "scopes": []string{"oauth"}})
}

func writeOAuthError(w http.ResponseWriter, status, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"status": status, "message": msg, "correlationId": newCorrelationID()})
}

// ExpireTokens makes every OAuth access token issued so far expired; the private-app token is
// unaffected, as real private-app tokens do not expire.
func (s *Sandbox) ExpireTokens() {
	now := s.now()
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	for t, exp := range s.auth.tokens {
		if exp.After(now) {
			s.auth.tokens[t] = now.Add(-time.Second)
		}
	}
}

// RevokeRefreshToken makes POST /oauth/v1/token answer 400 BAD_REFRESH_TOKEN until ClearFaults.
func (s *Sandbox) RevokeRefreshToken() {
	s.auth.mu.Lock()
	s.auth.refreshRevoked = true
	s.auth.mu.Unlock()
}
