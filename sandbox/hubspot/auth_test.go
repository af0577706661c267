package hubspot

import (
	"io"
	"net/url"
	"strings"
	"testing"
	"time"
)

func refresh(t *testing.T, b *testBundle, form url.Values) response {
	t.Helper()
	resp, err := b.srv.Client().Post(b.srv.URL+"/oauth/v1/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

func refreshForm(token string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {ClientID}, "client_secret": {ClientSecret}, "refresh_token": {token}}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{TokenTTL: time.Minute})

	t.Run("missing and unknown tokens get INVALID_AUTHENTICATION", func(t *testing.T) {
		for _, tok := range []string{"-", "nope"} {
			r := b.do(t, "GET", "/crm/v3/objects/deals", nil, tok)
			wantStatus(t, r, 401)
			m := r.json(t)
			if m["category"] != "INVALID_AUTHENTICATION" || m["status"] != "error" || m["correlationId"] == "" {
				t.Errorf("token %q: got body %s, want INVALID_AUTHENTICATION error", tok, r.body)
			}
		}
	})
	t.Run("private app token works", func(t *testing.T) {
		wantStatus(t, b.do(t, "GET", "/crm/v3/objects/deals", nil), 200)
	})
	t.Run("refresh issues an expiring token", func(t *testing.T) {
		r := refresh(t, b, refreshForm(RefreshToken))
		wantStatus(t, r, 200)
		m := r.json(t)
		tok, _ := m["access_token"].(string)
		if tok == "" || m["token_type"] != "bearer" || m["expires_in"] != float64(60) || m["refresh_token"] != RefreshToken {
			t.Fatalf("got token reply %s", r.body)
		}
		wantStatus(t, b.do(t, "GET", "/crm/v3/objects/deals", nil, tok), 200)
		if r := b.do(t, "GET", "/crm/v3/objects/deals", nil, tok); r.header.Get("X-HubSpot-RateLimit-Daily") != "" {
			t.Errorf("got daily rate-limit header for an OAuth token, want none")
		}
		b.clock.Advance(75 * time.Second)
		r = b.do(t, "GET", "/crm/v3/objects/deals", nil, tok)
		wantStatus(t, r, 401)
		m = r.json(t)
		if m["category"] != "EXPIRED_AUTHENTICATION" || !strings.Contains(m["message"].(string), "expired 15 second(s) ago") {
			t.Errorf("got %s, want EXPIRED_AUTHENTICATION 15 s ago", r.body)
		}
	})
	t.Run("expire all tokens", func(t *testing.T) {
		tok := refresh(t, b, refreshForm(RefreshToken)).json(t)["access_token"].(string)
		wantStatus(t, b.do(t, "GET", "/crm/v3/owners", nil, tok), 200)
		b.sb.ExpireTokens()
		r := b.do(t, "GET", "/crm/v3/owners", nil, tok)
		wantStatus(t, r, 401)
		if got := r.json(t)["category"]; got != "EXPIRED_AUTHENTICATION" {
			t.Errorf("got category %v, want EXPIRED_AUTHENTICATION", got)
		}
	})
	t.Run("bad refresh token and bad client", func(t *testing.T) {
		r := refresh(t, b, refreshForm("wrong"))
		wantStatus(t, r, 400)
		if got := r.json(t)["status"]; got != "BAD_REFRESH_TOKEN" {
			t.Errorf("got status %v, want BAD_REFRESH_TOKEN", got)
		}
		f := refreshForm(RefreshToken)
		f.Set("client_secret", "x")
		wantStatus(t, refresh(t, b, f), 400)
	})
}

func TestRevokeRefreshToken(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	wantStatus(t, refresh(t, b, refreshForm(RefreshToken)), 200)
	b.do(t, "POST", "/__sandbox/faults", map[string]any{"kind": "revoke_refresh_token"})
	r := refresh(t, b, refreshForm(RefreshToken))
	wantStatus(t, r, 400)
	if got := r.json(t)["status"]; got != "BAD_REFRESH_TOKEN" {
		t.Errorf("got %v, want BAD_REFRESH_TOKEN", got)
	}
	b.do(t, "DELETE", "/__sandbox/faults", nil)
	wantStatus(t, refresh(t, b, refreshForm(RefreshToken)), 200)
}
