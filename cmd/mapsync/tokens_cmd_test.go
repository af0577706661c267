package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/secrets"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// TestTokensCreate checks `mapsync tokens create` on both databases: a bad name and a taken name
// each fail with exit 1 and one clear line on stderr, and nothing on stdout.
func TestTokensCreate(t *testing.T) {
	t.Setenv(secrets.EnvKey, "")
	t.Setenv(EnvConfig, "")
	urls := map[store.Dialect]string{
		store.SQLite:   "sqlite:" + filepath.Join(t.TempDir(), "m.db"),
		store.Postgres: storetest.NewSchema(t),
	}
	for dialect, url := range urls {
		t.Run(string(dialect), func(t *testing.T) {
			t.Setenv(config.EnvDatabaseURL, url)
			t.Chdir(t.TempDir())
			mustRun(t, "migrate", "up")

			fails := func(wantErr string, args ...string) {
				t.Helper()
				code, out, errOut := runCLI(t, args...)
				if code != 1 || out != "" || errOut != "mapsync: "+wantErr+"\n" {
					t.Errorf("mapsync %s: got exit %d, stdout %q, stderr %q; want exit 1, no output, stderr %q",
						strings.Join(args, " "), code, out, errOut, "mapsync: "+wantErr+"\n")
				}
			}
			for _, name := range []string{"bad name!", "CI", ".ci", strings.Repeat("x", 64)} {
				fails(`token name "`+name+`" is invalid: use `+store.APITokenNameRule, "tokens", "create", name)
			}

			tok := strings.TrimSpace(mustRun(t, "tokens", "create", "ci"))
			if !strings.HasPrefix(tok, store.APITokenPrefix) || strings.ContainsAny(tok, " \n") {
				t.Fatalf("token output %q", tok)
			}
			fails(`token "ci" already exists; revoke it first or choose another name`, "tokens", "create", "ci")
			if out := mustRun(t, "tokens", "list"); strings.Count(out, "\nci ") != 1 {
				t.Errorf("tokens list: want one token ci, got\n%s", out)
			}

			mustRun(t, "tokens", "revoke", "ci")
			fails(`no valid token "ci" to revoke (see mapsync tokens list)`, "tokens", "revoke", "ci")
			if again := strings.TrimSpace(mustRun(t, "tokens", "create", "ci")); again == tok || !strings.HasPrefix(again, store.APITokenPrefix) {
				t.Errorf("create after revoke: got %q", again)
			}
			mustRun(t, "tokens", "create", "ops.bot-1_x")
		})
	}
}
