package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/internal/pgtest"
	"github.com/mapsync/mapsync/secrets"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// TestFaultRevokedTokenInServe: in one running serve, the CRM revokes one connection's refresh
// token: that connection becomes needs_reauth and its scheduled pulls stop asking the CRM for
// tokens, while the other connection's scheduled pulls go on succeeding; `connections reauth`
// (run beside the daemon) brings it back without a restart.
func TestFaultRevokedTokenInServe(t *testing.T) {
	pgtest.Faults(t)
	key, _ := secrets.GenerateKey()
	t.Setenv(secrets.EnvKey, key)
	t.Setenv(config.EnvDatabaseURL, "")
	db := storetest.NewSchema(t)
	cfg, sb := sandboxConfigWith(t, db, 20, func(s string) string {
		s = strings.Replace(s, "    time_zone: America/New_York\n", "    time_zone: America/New_York\n    schedule: \"@every 1s\"\n    full_schedule: \"\"\n", 1)
		return strings.Replace(s, "    time_zone: Europe/Berlin\n", "    time_zone: Europe/Berlin\n    schedule: \"@every 1s\"\n    full_schedule: \"\"\n", 1)
	})
	p := startServe(t, cfg)
	ctx := context.Background()
	s, err := store.Open(ctx, db, store.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// succeededSince counts connection's runs that started after since and succeeded.
	succeededSince := func(connection string, since time.Time) func() (bool, string) {
		return func() (bool, string) {
			c, err := s.ConnectionByName(ctx, connection)
			if err != nil {
				return false, err.Error()
			}
			runs, err := s.Runs(ctx, c.ID, 100)
			n := 0
			for _, r := range runs {
				if r.Status == store.RunSucceeded && r.StartedAt.After(since) {
					n++
				}
			}
			return n >= 2, fmt.Sprintf("%d succeeded runs of %s since %s, %v", n, connection, since.Format(time.TimeOnly), err)
		}
	}
	start := time.Now().Add(-time.Hour)
	waitFor(t, 60*time.Second, "both connections pulled on schedule", func() (bool, string) {
		a, why := succeededSince("sandbox-salesforce", start)()
		b, why2 := succeededSince("sandbox-hubspot", start)()
		return a && b, why + "; " + why2
	})

	sb.Salesforce.RevokeRefreshToken()
	sb.Salesforce.ExpireTokens()
	waitFor(t, 30*time.Second, "sandbox-salesforce needs_reauth", func() (bool, string) {
		c, err := s.ConnectionByName(ctx, "sandbox-salesforce")
		return err == nil && c.Status == store.ConnectionNeedsReauth, fmt.Sprintf("%+v, %v", c, err)
	})
	marked := time.Now()
	tokenCalls := sb.Salesforce.Requests("oauth.token")
	if tokenCalls == 0 {
		t.Fatalf("the sandbox counted no token requests (endpoint name?): %+v", sb.Salesforce.Counters())
	}
	waitFor(t, 30*time.Second, "sandbox-hubspot's schedule goes on", succeededSince("sandbox-hubspot", marked))
	if got := sb.Salesforce.Requests("oauth.token") - tokenCalls; got != 0 {
		t.Errorf("sandbox-salesforce asked the CRM for a token %d times while needs_reauth, want 0", got)
	}

	sb.Salesforce.RestoreRefreshToken()
	var out, errOut bytes.Buffer
	root := newRootCmd(&out, &errOut)
	root.SetIn(strings.NewReader("sandbox-refresh-token\n"))
	root.SetArgs([]string{"--config", cfg, "connections", "reauth", "sandbox-salesforce", "--refresh-token-stdin"})
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatalf("reauth: %v\n%s", err, errOut.String())
	}
	reauthed := time.Now()
	waitFor(t, 30*time.Second, "sandbox-salesforce's schedule resumes after reauth, without a restart", succeededSince("sandbox-salesforce", reauthed))
	if code := p.stop(t, 30*time.Second); code != 0 {
		t.Errorf("serve's exit code after SIGTERM: %d\n%s", code, p.logs.String())
	}
}
