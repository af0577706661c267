package salesforce

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// authState holds the issued access tokens.
type authState struct {
	mu             sync.RWMutex
	tokens         map[string]session
	refreshRevoked bool
}

type session struct {
	expires     time.Time
	fromRefresh bool
}

func (a *authState) init() { a.tokens = map[string]session{} }

func (a *authState) valid(tok string, now time.Time) bool {
	if tok == "" {
		return false
	}
	a.mu.RLock()
	t, ok := a.tokens[tok]
	a.mu.RUnlock()
	return ok && now.Before(t.expires)
}

func (a *authState) issue(orgID string, now time.Time, ttl time.Duration, fromRefresh bool) string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	tok := orgID[:15] + "!AR" + base64.RawURLEncoding.EncodeToString(b[:])
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, t := range a.tokens { // drop expired tokens so the map stays small
		if !now.Before(t.expires) {
			delete(a.tokens, k)
		}
	}
	a.tokens[tok] = session{expires: now.Add(ttl), fromRefresh: fromRefresh}
	return tok
}

// ExpireTokens invalidates every access token issued so far: the next API call with one gets
// 401 INVALID_SESSION_ID, and clients must refresh.
func (s *Sandbox) ExpireTokens() {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	clear(s.auth.tokens)
}

// RevokeRefreshToken makes the refresh_token grant fail with invalid_grant and invalidates the
// access tokens issued through it, as revoking a refresh token in Salesforce does.
func (s *Sandbox) RevokeRefreshToken() {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	s.auth.refreshRevoked = true
	for k, t := range s.auth.tokens {
		if t.fromRefresh {
			delete(s.auth.tokens, k)
		}
	}
}

// RestoreRefreshToken undoes RevokeRefreshToken.
func (s *Sandbox) RestoreRefreshToken() {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	s.auth.refreshRevoked = false
}

// AccessToken issues a valid access token directly, for tests that skip the OAuth dance.
func (s *Sandbox) AccessToken() string {
	return s.auth.issue(s.orgID, s.now(), s.opts.TokenTTL, false)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func (s *Sandbox) handleToken(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if r.Method != http.MethodPost {
		oauthError(w, http.StatusBadRequest, "invalid_request", "must use HTTP POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return
	}
	f := r.PostForm
	clientID, secret := f.Get("client_id"), f.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		clientID, secret = u, p
	}
	grant := f.Get("grant_type")
	if grant == "" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant type not supported")
		return
	}
	if clientID != ClientID {
		oauthError(w, http.StatusBadRequest, "invalid_client_id", "client identifier invalid")
		return
	}
	fromRefresh := false
	switch grant {
	case "refresh_token":
		if secret != "" && secret != ClientSecret {
			oauthError(w, http.StatusBadRequest, "invalid_client", "invalid client credentials")
			return
		}
		s.auth.mu.RLock()
		revoked := s.auth.refreshRevoked
		s.auth.mu.RUnlock()
		if f.Get("refresh_token") != RefreshToken || revoked {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "expired access/refresh token")
			return
		}
		fromRefresh = true
	case "password":
		if secret != ClientSecret {
			oauthError(w, http.StatusBadRequest, "invalid_client", "invalid client credentials")
			return
		}
		if !strings.EqualFold(f.Get("username"), Username) || !strings.HasPrefix(f.Get("password"), Password) {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "authentication failure")
			return
		}
	case "client_credentials":
		if secret != ClientSecret {
			oauthError(w, http.StatusBadRequest, "invalid_client", "invalid client credentials")
			return
		}
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant type not supported")
		return
	}
	now := s.now()
	tok := s.auth.issue(s.orgID, now, s.opts.TokenTTL, fromRefresh)
	id := rc.base + "/id/" + s.orgID + "/" + s.userID
	issued := strconv.FormatInt(now.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(ClientSecret))
	mac.Write([]byte(id + issued))
	writeJSON(w, http.StatusOK, map[string]string{
		"access_token": tok, "instance_url": rc.base, "id": id, "token_type": "Bearer", "issued_at": issued,
		"signature": base64.StdEncoding.EncodeToString(mac.Sum(nil)), "scope": "api refresh_token",
	})
}

// handleIdentity serves the identity URL (the token reply's id), which jsforce's identity()
// reads; the token may come as a bearer header or as ?oauth_token=.
func (s *Sandbox) handleIdentity(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	tok := bearer(r)
	if tok == "" {
		tok = r.URL.Query().Get("oauth_token")
	}
	if !s.auth.valid(tok, s.now()) {
		w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("Bad_OAuth_Token"))
		return
	}
	if r.PathValue("org") != s.orgID || r.PathValue("user") != s.userID {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	s.mu.RLock()
	u := s.objects["user"]
	rec := u.byID[s.userID]
	str := func(name string) string { return rec.vals[u.field(name).idx].s }
	username, name, email := str("Username"), str("Name"), str("Email")
	s.mu.RUnlock()
	v := latestVersion
	rest := rc.base + "/services/data/v" + v + "/"
	writeJSON(w, http.StatusOK, map[string]any{
		"id": rc.base + "/id/" + s.orgID + "/" + s.userID, "asserted_user": true, "user_id": s.userID,
		"organization_id": s.orgID, "username": username, "nick_name": strings.Split(email, "@")[0],
		"display_name": name, "email": email, "email_verified": true, "active": true, "user_type": "STANDARD",
		"language": "en_US", "locale": "en_US", "utcOffset": 0, "is_app_installed": true,
		"urls": map[string]string{
			"enterprise": rc.base + "/services/Soap/c/" + v + "/" + s.orgID[:15],
			"partner":    rc.base + "/services/Soap/u/" + v + "/" + s.orgID[:15],
			"rest":       rest, "sobjects": rest + "sobjects/", "query": rest + "query/", "limits": rest + "limits",
			"profile": rc.base + "/" + s.userID,
		},
	})
}

func (s *Sandbox) handleRevoke(w http.ResponseWriter, r *http.Request, _ *reqCtx) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return
	}
	tok := r.Form.Get("token")
	switch {
	case tok == RefreshToken:
		s.RevokeRefreshToken()
	case s.auth.valid(tok, s.now()):
		s.auth.mu.Lock()
		delete(s.auth.tokens, tok)
		s.auth.mu.Unlock()
	default:
		oauthError(w, http.StatusBadRequest, "invalid_token", "invalid token")
		return
	}
	w.WriteHeader(http.StatusOK)
}
