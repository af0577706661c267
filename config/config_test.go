package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mapsync/mapsync/mapping"
)

func TestExampleConfigLoads(t *testing.T) {
	cfg, err := LoadFile(filepath.Join("..", "config.example.yaml"))
	if err != nil {
		t.Fatalf("config.example.yaml: %v", err)
	}
	if got := len(cfg.Connections); got != 2 {
		t.Fatalf("got %d connections, want 2", got)
	}
	sf, ok := cfg.Connection("sandbox-salesforce")
	if !ok || sf.OAuth.RefreshToken.Reveal() != "sandbox-refresh-token" || sf.Overlap.D() != 2*time.Minute {
		t.Fatalf("sandbox-salesforce not loaded as written: %+v", sf)
	}
}

func TestGoodConfigDefaults(t *testing.T) {
	t.Setenv(EnvDatabaseURL, "")
	cfg, err := LoadFile("testdata/minimal.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cn := cfg.Connections[0]
	checks := map[string][2]any{
		"database.url":  {cfg.Database.URL.Reveal(), DefaultDatabaseURL},
		"server.addr":   {cfg.Server.Addr, DefaultAddr},
		"log.format":    {cfg.Log.Format, "json"},
		"base_url":      {cn.BaseURL, "https://api.hubapi.com"},
		"schedule":      {*cn.Schedule, DefaultSchedule},
		"overlap":       {cn.Overlap.D(), 2 * time.Minute},
		"daily_reserve": {*cn.Limits.DailyReservePercent, 20.0},
		"push.window":   {cfg.Push.Window.D(), time.Second},
		"push.sweep":    {cfg.Push.SweepInterval.D(), 10 * time.Second},
		"push.log_ret":  {cfg.Push.LogRetention.D(), 30 * 24 * time.Hour},
		"push.lease":    {cfg.Push.Lease.D(), 5 * time.Minute},
		"invitations":   {cfg.Server.InvitationTTL.D(), 14 * 24 * time.Hour},
		"smtp":          {cfg.SMTP.Host + cfg.SMTP.TLS, ""},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s: got %v, want %v", name, c[0], c[1])
		}
	}
}

func TestBadConfigs(t *testing.T) {
	tests := map[string][]string{
		"unknown_key.bad.yaml": {
			`connections[0].oauth.refersh_token: unknown key (did you mean "refresh_token"?) (line 9)`,
			`connections[0].oauth.refresh_token: required`,
		},
		"wrong_types.bad.yaml": {
			`database.max_open_conns: want a whole number, got "lots" (line 2)`,
			`connections[0].sandbox: want true or false, got "maybe" (line 6)`,
			`connections[0].overlap: want a duration such as 90s or 5m, got "2 minutes" (line 7)`,
		},
		"many.bad.yaml": {
			`log.level: want one of trace, debug, info, warn, error; got "loud" (line 2)`,
			`log.format: want json or console, got "xml" (line 3)`,
			`connections[0].name: want lowercase letters`,
			`connections[0].kind: want salesforce or hubspot, got "pipedrive" (line 6)`,
			`connections[1].time_zone: unknown time zone "Mars/Olympus"`,
			`connections[1].schedule: invalid cron expression "every now and then"`,
			`connections[1].fields.invoice: unknown object`,
			`connections[2].name: "dup" is already the name of connections[1] (line 14)`,
			`connections[2].login_url: plain http is allowed only with sandbox: true (line 16)`,
			`connections[2].oauth.client_id: required`,
			`connections[2].instance_hosts[1]: want a bare host name such as acme.my.salesforce.com, got "https://evil.example/" (line 17)`,
			`connections[3].instance_hosts: is for salesforce connections`,
		},
		"syntax.bad.yaml": {"invalid YAML", "(line 3)"},
		"push.bad.yaml": {
			`connections[0].push.when: expected bool, but got string (line 7)`,
			`connections[0].push.conflict: want overwrite or keep_crm_edits, got "keep_edits" (line 8)`,
			`connections[0].push.fields.map_progress: plan has no field percent (column 6)`,
			`connections[0].push.fields.map_status.if: want empty or always, got "blank" (line 11)`,
			`connections[0].push.fields.map_next_step: plan.next_action has no field titel (line 3, column 22)`,
			`connections[1].push: want a mapping, got a list (line 19)`,
			`connections[2].push.fields.map_date: if: empty compares with the CRM's value, which is not pulled: add map_date to connections[2].fields.deal (line 28)`,
		},
		"push_jobs.bad.yaml": {
			`push.window: want between 10ms and 1h, got 2h0m0s (line 2)`,
			`push.sweep_interval: want between 1s and 1h, got 100ms (line 3)`,
			`push.log_retention: want between 1h and 87600h (10 years), got 1m0s (line 4)`,
			`push.lease: want between 1s and 24h, got 500ms (line 5)`,
		},
		"smtp.bad.yaml": {
			`server.invitation_ttl: want between 1h and 2160h (90 days), got 2400h0m0s`,
			`smtp.tls: none sends mail in plain text: allowed only for a relay on loopback`,
			`smtp.username: give username and password together`,
			`smtp.from: want an address such as`,
		},
		"webhooks.bad.yaml": {
			`connections[0].webhooks.organization_id: want a Salesforce org id`,
			`connections[0].webhooks.secrets[0]: want "whsec_" followed by the key in base64 (the value is not shown)`,
			`connections[0].webhooks.secrets[1]: the part after "whsec_" is not valid base64`,
			`connections[0].webhooks.secrets[2]: the key is 5 bytes; want at least 16`,
			`connections[0].webhooks.tolerance: want between 1s and 1h, got 2h0m0s`,
		},
	}
	for file, wants := range tests {
		t.Run(file, func(t *testing.T) {
			_, err := LoadFile(filepath.Join("testdata", file))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *config.Error", err)
			}
			for _, w := range wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q; got:\n%v", w, err)
				}
			}
		})
	}
}

func TestEnvExpansion(t *testing.T) {
	t.Setenv("MS_TEST_TOKEN", "pat # with: yaml chars")
	t.Setenv("MS_TEST_CONNS", "7")
	t.Setenv(EnvDatabaseURL, "")
	doc := `
database:
  max_open_conns: ${MS_TEST_CONNS}
  url: ${MS_TEST_UNSET_URL:-sqlite:/tmp/x.db}
server:
  public_url: "http://cost$$.example.com"
connections:
  - name: hs
    kind: hubspot
    private_app_token: ${MS_TEST_TOKEN}
`
	cfg, err := Load("inline", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Connections[0].PrivateAppToken.Reveal(); got != "pat # with: yaml chars" {
		t.Errorf("token: got %q", got)
	}
	if cfg.Database.MaxOpenConns != 7 {
		t.Errorf("max_open_conns: got %d, want 7", cfg.Database.MaxOpenConns)
	}
	if got := cfg.Database.URL.Reveal(); got != "sqlite:/tmp/x.db" {
		t.Errorf("default: got %q", got)
	}
	if cfg.Server.PublicURL != "http://cost$.example.com" {
		t.Errorf("$$: got %q", cfg.Server.PublicURL)
	}

	_, err = Load("inline", []byte("connections:\n  - name: hs\n    kind: hubspot\n    private_app_token: ${MS_TEST_SURELY_UNSET}\n"))
	if err == nil || !strings.Contains(err.Error(), "connections[0].private_app_token: environment variable MS_TEST_SURELY_UNSET is not set") ||
		!strings.Contains(err.Error(), "(line 4)") {
		t.Fatalf("unset variable: got %v", err)
	}
}

func TestDatabaseURLOverride(t *testing.T) {
	t.Setenv(EnvDatabaseURL, "postgres://u@h:5432/db")
	cfg, err := LoadFile("testdata/minimal.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Database.URL.Reveal(); got != "postgres://u@h:5432/db" {
		t.Fatalf("got %q, want the override", got)
	}
}

// TestElideSecrets fails if any printed form of a loaded config shows a secret.
func TestElideSecrets(t *testing.T) {
	t.Setenv(EnvDatabaseURL, "postgres://admin:pg-password-1@db:5432/mapsync")
	doc := `
connections:
  - name: sf
    kind: salesforce
    oauth: {client_id: cid, client_secret: client-secret-2, refresh_token: refresh-token-3}
  - name: hs
    kind: hubspot
    private_app_token: pat-token-4
    webhooks: {client_secret: app-secret-5, secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}
`
	cfg, err := Load("inline", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(cfg)
	ys, _ := yaml.Marshal(cfg)
	for _, out := range []string{string(js), string(ys), fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg)} {
		for _, secret := range []string{"pg-password-1", "client-secret-2", "refresh-token-3", "pat-token-4", "app-secret-5", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"} {
			if strings.Contains(out, secret) {
				t.Fatalf("secret %q printed in %s", secret, out)
			}
		}
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, err := LoadFile(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want ErrNotExist", err)
	}
}

func TestDailyReserveZeroMeansNone(t *testing.T) {
	t.Setenv(EnvDatabaseURL, "")
	for _, tc := range []struct {
		limits string
		want   float64
	}{
		{"", DefaultDailyReservePercent},
		{"\n    limits: {daily_reserve_percent: 0}", 0},
		{"\n    limits: {daily_reserve_percent: 35}", 35},
	} {
		cfg, err := Load("reserve.yaml", []byte("connections:\n  - name: hs\n    kind: hubspot\n    private_app_token: pat-123"+tc.limits+"\n"))
		if err != nil {
			t.Fatalf("%q: %v", tc.limits, err)
		}
		if got := cfg.Connections[0].Limits.DailyReservePercent; got == nil || *got != tc.want {
			t.Errorf("%q: daily_reserve_percent %v, want %v", tc.limits, got, tc.want)
		}
	}
}

// TestOneProblemOneLine checks that a value of the wrong type is the only problem reported for
// its connection: before, yaml.v3 stopped decoding at the refused value and validation then saw
// the connection's name and kind as missing.
func TestOneProblemOneLine(t *testing.T) {
	t.Setenv(EnvDatabaseURL, "")
	tests := map[string]struct {
		doc  string
		want []string
	}{
		"bad overlap": {
			doc:  "connections:\n  - name: hs\n    kind: hubspot\n    private_app_token: pat\n    overlap: 2 minutes\n",
			want: []string{`connections[0].overlap: want a duration such as 90s or 5m, got "2 minutes" (line 5)`},
		},
		"bad overlap before name and kind": {
			doc:  "connections:\n  - overlap: 2 minutes\n    name: hs\n    kind: hubspot\n    private_app_token: pat\n",
			want: []string{`connections[0].overlap: want a duration such as 90s or 5m, got "2 minutes" (line 2)`},
		},
		"wrong types in two connections": {
			doc: "connections:\n  - name: a\n    kind: hubspot\n    private_app_token: pat\n    sandbox: maybe\n" +
				"  - name: b\n    kind: hubspot\n    private_app_token: pat\n    timeout: soon\n",
			want: []string{
				`connections[0].sandbox: want true or false, got "maybe" (line 5)`,
				`connections[1].timeout: want a duration such as 90s or 5m, got "soon" (line 9)`,
			},
		},
		"list where a mapping belongs": {
			doc:  "server: [a, b]\nconnections:\n  - name: hs\n    kind: hubspot\n    private_app_token: pat\n",
			want: []string{`server: want a mapping of keys, got a list (line 1)`},
		},
		"duplicate key": {
			doc:  "connections:\n  - name: hs\n    kind: hubspot\n    kind: hubspot\n    private_app_token: pat\n",
			want: []string{`connections[0].kind: duplicate key (line 4)`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Load("inline.yaml", []byte(tc.doc))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *config.Error", err)
			}
			var got []string
			for _, p := range ce.Problems {
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestPushLoads(t *testing.T) {
	t.Parallel()
	cfg, err := LoadFile("testdata/push.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Connections[0].Push
	if p == nil || p.Conflict != "keep_crm_edits" || len(p.Fields) != 3 || p.Fields[2].If != "if_empty" || p.Fields[0].Pos.Line != 11 {
		t.Fatalf("got %+v, want the three fields with their policy and lines", p)
	}
	if _, err := mapping.Compile(*p); err != nil {
		t.Errorf("compile: %v", err)
	}
}

func TestSMTPDefaults(t *testing.T) {
	t.Setenv(EnvDatabaseURL, "")
	for doc, want := range map[string]string{
		"smtp: {host: mail.example.com, from: deals@example.com}":                                "mail.example.com:587 starttls",
		"smtp: {host: mail.example.com, tls: implicit, from: deals@example.com}":                 "mail.example.com:465 implicit",
		"smtp: {host: 127.0.0.1, port: 2525, tls: none, from: \"Deals <deals@example.com>\"}":    "127.0.0.1:2525 none",
		"smtp: {host: mail.example.com, username: u, password: p, from: deals@example.com}":      "mail.example.com:587 starttls",
		"server: {invitation_ttl: 24h}\nsmtp: {host: localhost, tls: none, from: a@example.com}": "localhost:587 none",
	} {
		cfg, err := Load("inline", []byte(doc+"\nconnections: [{name: hs, kind: hubspot, private_app_token: pat}]\n"))
		if err != nil {
			t.Errorf("%s: %v", doc, err)
			continue
		}
		got := fmt.Sprintf("%s:%d %s", cfg.SMTP.Host, cfg.SMTP.Port, cfg.SMTP.TLS)
		if strings.Contains(doc, "invitation_ttl") && cfg.Server.InvitationTTL.D() != 24*time.Hour {
			t.Errorf("invitation_ttl: got %s, want 24h", cfg.Server.InvitationTTL.D())
		}
		if got != want {
			t.Errorf("%s: got %s, want %s", doc, got, want)
		}
	}
}
