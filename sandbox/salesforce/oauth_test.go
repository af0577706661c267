package salesforce_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mapsync/mapsync/sandbox/salesforce"
)

func TestTokenGrants(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	tests := []struct {
		name       string
		form       url.Values
		wantStatus int
		wantError  string
	}{
		{"refresh token", url.Values{"grant_type": {"refresh_token"}, "client_id": {salesforce.ClientID}, "refresh_token": {salesforce.RefreshToken}}, 200, ""},
		{"password", url.Values{"grant_type": {"password"}, "client_id": {salesforce.ClientID}, "client_secret": {salesforce.ClientSecret},
			"username": {salesforce.Username}, "password": {salesforce.Password + "SECURITYTOKEN"}}, 200, ""},
		{"client credentials", url.Values{"grant_type": {"client_credentials"}, "client_id": {salesforce.ClientID}, "client_secret": {salesforce.ClientSecret}}, 200, ""},
		{"wrong refresh token", url.Values{"grant_type": {"refresh_token"}, "client_id": {salesforce.ClientID}, "refresh_token": {"nope"}}, 400, "invalid_grant"},
		{"wrong password", url.Values{"grant_type": {"password"}, "client_id": {salesforce.ClientID}, "client_secret": {salesforce.ClientSecret},
			"username": {salesforce.Username}, "password": {"bad"}}, 400, "invalid_grant"},
		{"wrong client", url.Values{"grant_type": {"refresh_token"}, "client_id": {"x"}, "refresh_token": {salesforce.RefreshToken}}, 400, "invalid_client_id"},
		{"wrong secret", url.Values{"grant_type": {"client_credentials"}, "client_id": {salesforce.ClientID}, "client_secret": {"x"}}, 400, "invalid_client"},
		{"unknown grant", url.Values{"grant_type": {"magic"}, "client_id": {salesforce.ClientID}}, 400, "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out map[string]string
			status := b.form(t, "/services/oauth2/token", tt.form, &out)
			if status != tt.wantStatus {
				t.Fatalf("got status %d, want %d (%v)", status, tt.wantStatus, out)
			}
			if tt.wantError != "" {
				if out["error"] != tt.wantError || out["error_description"] == "" {
					t.Fatalf("got %v, want error %q with a description", out, tt.wantError)
				}
				return
			}
			for _, k := range []string{"access_token", "instance_url", "id", "token_type", "issued_at", "signature"} {
				if out[k] == "" {
					t.Errorf("reply lacks %s: %v", k, out)
				}
			}
			if _, ok := out["expires_in"]; ok {
				t.Errorf("reply has expires_in; Salesforce sends none")
			}
			if out["instance_url"] != b.srv.URL {
				t.Errorf("got instance_url %q, want %q", out["instance_url"], b.srv.URL)
			}
			wantID := b.srv.URL + "/id/" + b.sb.OrgID() + "/" + b.sb.UserID()
			if out["id"] != wantID {
				t.Errorf("got id %q, want %q", out["id"], wantID)
			}
			if _, ok := out["refresh_token"]; ok {
				t.Errorf("reply carries a refresh_token; rotation is off")
			}
		})
	}
}

func TestTokenChunkedBody(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	body := url.Values{"grant_type": {"refresh_token"}, "client_id": {salesforce.ClientID}, "refresh_token": {salesforce.RefreshToken}}.Encode()
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < len(body); i += 7 {
			_, _ = pw.Write([]byte(body[i:min(i+7, len(body))]))
		}
		_ = pw.Close()
	}()
	req, err := http.NewRequestWithContext(t.Context(), "POST", b.srv.URL+"/services/oauth2/token", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.TransferEncoding = []string{"chunked"} // a body of unknown length goes out chunked
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || out["access_token"] == "" {
		t.Fatalf("got %d %v, want 200 with a token", resp.StatusCode, out)
	}
}

func TestSessionErrors(t *testing.T) {
	t.Parallel()
	t.Run("missing and unknown tokens", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 1)
		for _, tok := range []string{"", "00Dbogus!ARxyz"} {
			b.token = tok
			resp := b.do(t, "GET", api+"/limits", nil)
			if resp.status != 401 || resp.errorCode(t) != "INVALID_SESSION_ID" {
				t.Fatalf("token %q: got %d %s, want 401 INVALID_SESSION_ID", tok, resp.status, resp.body)
			}
			if ct := resp.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("got Content-Type %q", ct)
			}
		}
	})
	t.Run("token expires after its TTL", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 1, func(o *salesforce.Options) { o.TokenTTL = time.Minute })
		if resp := b.do(t, "GET", api+"/limits", nil); resp.status != 200 {
			t.Fatalf("fresh token: got %d", resp.status)
		}
		b.clock.Advance(61 * time.Second)
		if resp := b.do(t, "GET", api+"/limits", nil); resp.status != 401 || resp.errorCode(t) != "INVALID_SESSION_ID" {
			t.Fatalf("expired token: got %d %s", resp.status, resp.body)
		}
	})
	t.Run("expire all tokens then refresh", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 1)
		b.sb.ExpireTokens()
		if resp := b.do(t, "GET", api+"/limits", nil); resp.status != 401 {
			t.Fatalf("got %d, want 401", resp.status)
		}
		var tok map[string]string
		b.form(t, "/services/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {salesforce.ClientID}, "refresh_token": {salesforce.RefreshToken}}, &tok)
		b.token = tok["access_token"]
		if resp := b.do(t, "GET", api+"/limits", nil); resp.status != 200 {
			t.Fatalf("refreshed token: got %d", resp.status)
		}
	})
	t.Run("revoked refresh token", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 1)
		resp := b.do(t, "POST", "/__sandbox/faults", map[string]string{"kind": "revoke_refresh_token"})
		if resp.status != 200 {
			t.Fatalf("control: %d %s", resp.status, resp.body)
		}
		if r := b.do(t, "GET", api+"/limits", nil); r.status != 401 {
			t.Fatalf("token from a revoked refresh token: got %d, want 401", r.status)
		}
		var out map[string]string
		status := b.form(t, "/services/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {salesforce.ClientID}, "refresh_token": {salesforce.RefreshToken}}, &out)
		if status != 400 || out["error"] != "invalid_grant" {
			t.Fatalf("got %d %v, want 400 invalid_grant", status, out)
		}
	})
}

func TestRevokeAndIdentity(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	r := b.do(t, "GET", "/id/"+b.sb.OrgID()+"/"+b.sb.UserID(), nil)
	var id map[string]any
	r.decode(t, &id)
	if r.status != 200 || id["user_id"] != b.sb.UserID() || id["organization_id"] != b.sb.OrgID() {
		t.Fatalf("identity: got %d %s", r.status, r.body)
	}
	if st := b.form(t, "/services/oauth2/revoke", url.Values{"token": {b.token}}, nil); st != 200 {
		t.Fatalf("revoke: got %d", st)
	}
	if r := b.do(t, "GET", api+"/limits", nil); r.status != 401 {
		t.Fatalf("revoked token: got %d, want 401", r.status)
	}
	if r := b.do(t, "GET", "/id/"+b.sb.OrgID()+"/"+b.sb.UserID(), nil); r.status != 403 {
		t.Fatalf("identity with a revoked token: got %d, want 403", r.status)
	}
	var out map[string]string
	if st := b.form(t, "/services/oauth2/revoke", url.Values{"token": {"nope"}}, &out); st != 400 || out["error"] != "invalid_token" {
		t.Fatalf("revoke unknown token: got %d %v", st, out)
	}
}

func TestVersionsAndAnyVersion(t *testing.T) {
	t.Parallel()
	b := setup(t, 3)
	tok := b.token
	b.token = ""
	resp := b.do(t, "GET", "/services/data/", nil)
	var versions []map[string]string
	resp.decode(t, &versions)
	if resp.status != 200 || len(versions) == 0 || versions[0]["url"] == "" {
		t.Fatalf("versions root without auth: got %d %s", resp.status, resp.body)
	}
	b.token = tok
	for _, v := range []string{"v42.0", "v50.0", "v62.0", "v66.0"} {
		r := b.do(t, "GET", "/services/data/"+v+"/sobjects/Opportunity/describe", nil)
		if r.status != 200 {
			t.Errorf("%s: got %d", v, r.status)
		}
	}
	if r := b.do(t, "GET", "/services/data/latest/limits", nil); r.status != 200 {
		t.Errorf("latest: got %d %s", r.status, r.body)
	}
	if r := b.do(t, "GET", "/services/data/v1/limits", nil); r.status != 404 || r.errorCode(t) != "NOT_FOUND" {
		t.Errorf("bad version: got %d %s", r.status, r.body)
	}
}
