package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestReauthAfterRevokedRefreshToken: a revoked refresh token marks the connection needs_reauth;
// pulls then refuse at once with the command to run, and `connections reauth` with a new token
// (read from stdin) makes the connection active and pulls work again.
func TestReauthAfterRevokedRefreshToken(t *testing.T) {
	cfg, sb := migratedSandbox(t, 20, nil)
	mustRun(t, "--config", cfg, "--log-level", "error", "sync", "run", "--connection", "sandbox-salesforce")

	sb.Salesforce.RevokeRefreshToken()
	sb.Salesforce.ExpireTokens()
	code, _, errOut := runCLI(t, "--config", cfg, "--log-level", "error", "sync", "run", "--connection", "sandbox-salesforce")
	if code != 1 || !strings.Contains(errOut, "invalid_grant") {
		t.Fatalf("revoked: exit %d, stderr %q; want 1 naming invalid_grant", code, errOut)
	}
	list := mustRun(t, "--config", cfg, "connections", "list")
	if !lineHas(list, "sandbox-salesforce", "salesforce", "needs_reauth") || !lineHas(list, "sandbox-hubspot", "hubspot", "not yet used") {
		t.Fatalf("connections list:\n%s\nwant sandbox-salesforce needs_reauth and sandbox-hubspot not yet used", list)
	}
	// The next pull does not ask the CRM again: it names the way out.
	before := sb.Salesforce.Requests("oauth.token") // the sandbox's endpoint name for /services/oauth2/token
	if before == 0 {
		t.Fatalf("the sandbox counted no token requests: %+v", sb.Salesforce.Counters())
	}
	code, _, errOut = runCLI(t, "--config", cfg, "sync", "run", "--connection", "sandbox-salesforce")
	if code != 1 || !strings.Contains(errOut, "mapsync connections reauth sandbox-salesforce") {
		t.Fatalf("pull while needs_reauth: exit %d, stderr %q; want 1 naming the reauth command", code, errOut)
	}
	if after := sb.Salesforce.Requests("oauth.token"); after != before {
		t.Errorf("pull while needs_reauth made %d token requests, want none", after-before)
	}

	// The admin authorises the app again; the CRM's new refresh token arrives on stdin.
	sb.Salesforce.RestoreRefreshToken()
	for _, tc := range []struct {
		stdin, want string
		code        int
	}{
		{"", "no token on stdin", 1},
		{"   \n", "no refresh token", 1},
		{"sandbox-refresh-token\n", "connection sandbox-salesforce is active", 0},
	} {
		var out, errOut bytes.Buffer
		root := newRootCmd(&out, &errOut)
		root.SetIn(strings.NewReader(tc.stdin))
		root.SetArgs([]string{"--config", cfg, "connections", "reauth", "sandbox-salesforce", "--refresh-token-stdin"})
		err := root.ExecuteContext(context.Background())
		got := out.String()
		if err != nil {
			got = err.Error()
		}
		if (err == nil) != (tc.code == 0) || !strings.Contains(got, tc.want) {
			t.Fatalf("reauth with stdin %q: %v, %q; want %q", tc.stdin, err, got, tc.want)
		}
		if strings.Contains(out.String()+errOut.String(), "sandbox-refresh-token") {
			t.Fatal("reauth printed the refresh token")
		}
	}
	mustRun(t, "--config", cfg, "--log-level", "error", "sync", "run", "--connection", "sandbox-salesforce")
	if list := mustRun(t, "--config", cfg, "connections", "list"); !lineHas(list, "sandbox-salesforce", "salesforce", "active") {
		t.Fatalf("connections list after reauth:\n%s\nwant sandbox-salesforce active", list)
	}

	// A private-app connection has no refresh token to replace.
	code, _, errOut = runCLI(t, "--config", cfg, "connections", "reauth", "sandbox-hubspot")
	if code != 1 || !strings.Contains(errOut, "private_app_token") {
		t.Fatalf("reauth of a private-app connection: exit %d, %q", code, errOut)
	}
	code, _, errOut = runCLI(t, "--config", cfg, "connections", "reauth", "nope")
	if code != 1 || !strings.Contains(errOut, `no connection "nope"`) {
		t.Fatalf("reauth of an unknown connection: exit %d, %q", code, errOut)
	}
}

// lineHas reports whether some line of s holds the words in order, separated by spaces.
func lineHas(s string, words ...string) bool {
	for _, line := range strings.Split(s, "\n") {
		if strings.Join(strings.Fields(line), " ") == strings.Join(words, " ") ||
			strings.HasPrefix(strings.Join(strings.Fields(line), " "), strings.Join(words, " ")+" ") {
			return true
		}
	}
	return false
}
