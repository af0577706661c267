package config

import (
	"time"

	"github.com/mapsync/mapsync/mapping"
	"github.com/mapsync/mapsync/secrets"
)

// Config is mapsync's whole configuration, loaded once in cmd and passed down.
type Config struct {
	// Database says where the store lives.
	Database Database `yaml:"database"`
	// Log sets the logger.
	Log Log `yaml:"log"`
	// Server is the HTTP listener for webhooks, the plan API and metrics.
	Server Server `yaml:"server"`
	// Templates says where plan templates come from.
	Templates Templates `yaml:"templates"`
	// Connections are the CRM orgs / portals mapsync syncs with.
	Connections []Connection `yaml:"connections"`
	// Push tunes the push pipeline's jobs (the mappings are per connection).
	Push Push `yaml:"push"`
	// SMTP mails buyer invitation links; optional.
	SMTP SMTP `yaml:"smtp"`
}

// Push tunes the push pipeline's jobs in `mapsync serve`.
type Push struct {
	// Window coalesces plan changes: every change of a connection within one window is pushed by
	// one job at the window's end (default 1s).
	Window Duration `yaml:"window"`
	// SweepInterval is how often the leader looks for pending changes no job covers (written by
	// a process without the job hook, or left by a killed push) and enqueues their push
	// (default 10s).
	SweepInterval Duration `yaml:"sweep_interval"`
	// LogRetention is how long push_log rows are kept (default 720h, 30 days).
	LogRetention Duration `yaml:"log_retention"`
	// Lease is how long a push holds the plan marks it claimed (default 5m): the changes of a
	// push killed mid-way are pushed again by the next sweep after it. Keep it above the longest
	// push.
	Lease Duration `yaml:"lease"`
}

// Database configures the store.
type Database struct {
	// URL is a PostgreSQL URL (postgres://...) or "sqlite:PATH". Empty means the embedded
	// database at "sqlite:mapsync.db". MAPSYNC_DATABASE_URL overrides it.
	URL secrets.Secret `yaml:"url"`
	// MaxOpenConns caps open connections to PostgreSQL (default 10). SQLite always uses one.
	MaxOpenConns int `yaml:"max_open_conns"`
}

// Log configures the logger.
type Log struct {
	// Level is one of trace, debug, info, warn, error (default info).
	Level string `yaml:"level"`
	// Format is json (default) or console.
	Format string `yaml:"format"`
}

// Server configures the HTTP listener.
type Server struct {
	// Addr is the listen address (default 127.0.0.1:8080).
	Addr string `yaml:"addr"`
	// PublicURL is the URL the CRMs reach us at, used to verify HubSpot v3 signatures and to build
	// links; default http://<addr>.
	PublicURL string `yaml:"public_url"`
	// InvitationTTL is how long a buyer's invitation link works when the seller names no life
	// for it (default 336h, 14 days; 1h to 2160h).
	InvitationTTL Duration `yaml:"invitation_ttl"`
}

// SMTP is the mail server invitation links are mailed through. Without a host, links are only
// shown to the seller who made them.
type SMTP struct {
	// Host is the mail server's host name; "" means no mail.
	Host string `yaml:"host"`
	// Port is its port (default 587, or 465 with tls: implicit).
	Port int `yaml:"port"`
	// TLS is starttls (default: upgrade the connection, refuse a server that cannot), implicit
	// (TLS from the first byte, port 465) or none (plain text, only for a relay on loopback).
	TLS string `yaml:"tls"`
	// Username and Password authenticate (PLAIN, over TLS only); both or neither.
	Username string `yaml:"username"`
	// Password is the account's password or app token.
	Password secrets.Secret `yaml:"password"`
	// From is the sender, e.g. "Acme Deals <deals@acme.example>". Required with a host.
	From string `yaml:"from"`
}

// Templates configures plan templates.
type Templates struct {
	// Dir is a folder of *.yaml / *.json templates imported at start (default: none).
	Dir string `yaml:"dir"`
}

// Connection is one CRM org (Salesforce) or portal (HubSpot).
type Connection struct {
	// Name identifies the connection in logs, metrics, the CLI and the API; unique.
	Name string `yaml:"name"`
	// Kind is salesforce or hubspot.
	Kind string `yaml:"kind"`
	// Sandbox marks a test endpoint: the Salesforce instance_url may then be any host the admin
	// configured (e.g. the built-in sandbox on loopback) instead of a Salesforce domain.
	Sandbox bool `yaml:"sandbox"`
	// LoginURL is the Salesforce OAuth host (default https://login.salesforce.com).
	LoginURL string `yaml:"login_url"`
	// InstanceHosts pins the hosts a Salesforce instance_url may name (e.g. acme.my.salesforce.com):
	// the access token is sent nowhere else. Empty: the login host when it is a My Domain (or, for a
	// sandbox connection, the login host and port), else any Salesforce API domain.
	InstanceHosts []string `yaml:"instance_hosts"`
	// BaseURL is the HubSpot API base (default https://api.hubapi.com).
	BaseURL string `yaml:"base_url"`
	// APIVersion is the Salesforce REST version (default 62.0).
	APIVersion string `yaml:"api_version"`
	// OAuth holds OAuth client credentials and the initial refresh token.
	OAuth OAuth `yaml:"oauth"`
	// PrivateAppToken is a HubSpot private-app access token (instead of OAuth).
	PrivateAppToken secrets.Secret `yaml:"private_app_token"`
	// TimeZone is the IANA zone due dates are computed in (default UTC).
	TimeZone string `yaml:"time_zone"`
	// Schedule is the cron expression of incremental pulls (default "*/5 * * * *"); "" disables.
	Schedule *string `yaml:"schedule"`
	// FullSchedule is the cron expression of full reconciles (default "0 3 * * *"); "" disables.
	FullSchedule *string `yaml:"full_schedule"`
	// Overlap is how far before the cursor an incremental pull starts again (default 2m).
	Overlap Duration `yaml:"overlap"`
	// Fields lists extra CRM fields to pull per object (deal, contact, deal_contact, owner).
	Fields map[string][]string `yaml:"fields"`
	// Limits tunes the rate governor.
	Limits Limits `yaml:"limits"`
	// Timeout is the per-request HTTP timeout (default 30s).
	Timeout Duration `yaml:"timeout"`
	// Push maps plan data to the CRM fields mapsync writes (object, when, conflict, fields); nil
	// when the connection is pull-only. See package mapping for the expression language; Load
	// compiles it and reports every problem with its line.
	Push *mapping.Spec `yaml:"push"`
	// Webhooks configures the webhook receivers of the connection (/webhooks/.../NAME); a
	// receiver whose setting is absent refuses every request.
	Webhooks Webhooks `yaml:"webhooks"`
}

// Webhooks holds what the receivers of one connection verify requests with.
type Webhooks struct {
	// ClientSecret is the HubSpot app's client secret, which signs its requests
	// (X-HubSpot-Signature-v3). Default: oauth.client_secret of a HubSpot connection.
	ClientSecret secrets.Secret `yaml:"client_secret"`
	// OrganizationID is the Salesforce org id (15 or 18 characters) outbound messages must carry;
	// Salesforce does not sign them. Empty refuses outbound messages.
	OrganizationID string `yaml:"organization_id"`
	// Secrets sign requests to /webhooks/generic/NAME per the Standard Webhooks spec: each
	// "whsec_" and base64 of the key. Several are accepted at once while a key is rotated.
	Secrets []secrets.Secret `yaml:"secrets"`
	// Tolerance is how old (or how far ahead) a signed timestamp may be (default 5m).
	Tolerance Duration `yaml:"tolerance"`
}

// OAuth holds a connection's OAuth client.
type OAuth struct {
	// ClientID is the connected app's / app's client id.
	ClientID string `yaml:"client_id"`
	// ClientSecret is the client secret.
	ClientSecret secrets.Secret `yaml:"client_secret"`
	// RefreshToken seeds the token store on first use; afterwards the store's (encrypted) token wins.
	RefreshToken secrets.Secret `yaml:"refresh_token"`
}

// Limits tunes a connection's rate governor.
type Limits struct {
	// RequestsPerSecond caps our request rate (default 10 for Salesforce, 15 for HubSpot).
	RequestsPerSecond float64 `yaml:"requests_per_second"`
	// DailyReservePercent of the CRM's daily API budget is left for other integrations (default
	// 20 when the key is absent; 0 leaves no reserve).
	DailyReservePercent *float64 `yaml:"daily_reserve_percent"`
}

// Duration is a time.Duration written as "90s", "2m", "1h30m" in YAML.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Kinds of connection.
const (
	KindSalesforce = "salesforce"
	KindHubSpot    = "hubspot"
)

// Default values applied by Load.
const (
	DefaultDatabaseURL = "sqlite:mapsync.db"
	DefaultAddr        = "127.0.0.1:8080"
	DefaultSchedule    = "*/5 * * * *"
	DefaultFull        = "0 3 * * *"
	// DefaultPushWindow, DefaultPushSweepInterval and DefaultPushLogRetention are push's.
	DefaultPushWindow        = Duration(time.Second)
	DefaultPushSweepInterval = Duration(10 * time.Second)
	DefaultPushLogRetention  = Duration(30 * 24 * time.Hour)
	DefaultPushLease         = Duration(5 * time.Minute)
	// DefaultInvitationTTL is server.invitation_ttl's default (14 days).
	DefaultInvitationTTL = Duration(14 * 24 * time.Hour)
	// DefaultDailyReservePercent is the share of a CRM's daily API budget left to other integrations.
	DefaultDailyReservePercent = 20.0
)

func (c *Config) applyDefaults() {
	if c.Database.URL == "" {
		c.Database.URL = DefaultDatabaseURL
	}
	if c.Database.MaxOpenConns == 0 {
		c.Database.MaxOpenConns = 10
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "json"
	}
	if c.Server.Addr == "" {
		c.Server.Addr = DefaultAddr
	}
	if c.Server.PublicURL == "" {
		c.Server.PublicURL = "http://" + c.Server.Addr
	}
	if c.Server.InvitationTTL == 0 {
		c.Server.InvitationTTL = DefaultInvitationTTL
	}
	if c.SMTP.Host != "" && c.SMTP.TLS == "" {
		c.SMTP.TLS = "starttls"
	}
	if c.SMTP.Host != "" && c.SMTP.Port == 0 {
		c.SMTP.Port = 587
		if c.SMTP.TLS == "implicit" {
			c.SMTP.Port = 465
		}
	}
	if c.Push.Window == 0 {
		c.Push.Window = DefaultPushWindow
	}
	if c.Push.SweepInterval == 0 {
		c.Push.SweepInterval = DefaultPushSweepInterval
	}
	if c.Push.LogRetention == 0 {
		c.Push.LogRetention = DefaultPushLogRetention
	}
	if c.Push.Lease == 0 {
		c.Push.Lease = DefaultPushLease
	}
	for i := range c.Connections {
		cn := &c.Connections[i]
		switch cn.Kind {
		case KindSalesforce:
			if cn.LoginURL == "" {
				cn.LoginURL = "https://login.salesforce.com"
			}
			if cn.APIVersion == "" {
				cn.APIVersion = "62.0"
			}
			if cn.Limits.RequestsPerSecond == 0 {
				cn.Limits.RequestsPerSecond = 10
			}
		case KindHubSpot:
			if cn.BaseURL == "" {
				cn.BaseURL = "https://api.hubapi.com"
			}
			if cn.Limits.RequestsPerSecond == 0 {
				cn.Limits.RequestsPerSecond = 15
			}
		}
		if cn.TimeZone == "" {
			cn.TimeZone = "UTC"
		}
		if cn.Schedule == nil {
			s := DefaultSchedule
			cn.Schedule = &s
		}
		if cn.FullSchedule == nil {
			s := DefaultFull
			cn.FullSchedule = &s
		}
		if cn.Overlap == 0 {
			cn.Overlap = Duration(2 * time.Minute)
		}
		if cn.Limits.DailyReservePercent == nil {
			r := DefaultDailyReservePercent
			cn.Limits.DailyReservePercent = &r
		}
		if cn.Timeout == 0 {
			cn.Timeout = Duration(30 * time.Second)
		}
		if cn.Webhooks.ClientSecret == "" && cn.Kind == KindHubSpot {
			cn.Webhooks.ClientSecret = cn.OAuth.ClientSecret
		}
		if cn.Webhooks.Tolerance == 0 {
			cn.Webhooks.Tolerance = Duration(5 * time.Minute)
		}
	}
}

// Connection returns the connection with the given name.
func (c *Config) Connection(name string) (*Connection, bool) {
	for i := range c.Connections {
		if c.Connections[i].Name == name {
			return &c.Connections[i], true
		}
	}
	return nil, false
}
