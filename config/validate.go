package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/mapsync/mapsync/mapping"
)

var connectionName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// orgID is a Salesforce organization id, 15 or 18 characters.
var orgID = regexp.MustCompile(`^00D[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$`)

// DecodeWebhookSecret returns the key of a Standard Webhooks secret: "whsec_" followed by the
// key in base64. The error says what is wrong without showing the value.
func DecodeWebhookSecret(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return nil, errors.New(`want "whsec_" followed by the key in base64 (the value is not shown)`)
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, errors.New(`the part after "whsec_" is not valid base64 (the value is not shown)`)
	}
	if len(key) < 16 {
		return nil, fmt.Errorf("the key is %d bytes; want at least 16 (24 to 64 is usual)", len(key))
	}
	return key, nil
}

// hostName is a bare host, optionally with a port (for sandbox endpoints).
var hostName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$`)

// Objects whose fields may be listed under connections[].fields.
var fieldObjects = map[string]bool{"deal": true, "contact": true, "deal_contact": true, "owner": true}

// CronParser parses the schedules in the configuration: standard five fields, or descriptors
// such as @hourly and @every 10m.
var CronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// validate checks values and cross-field rules after defaults are applied. Problems carry paths;
// Load fills their lines.
func (c *Config) validate() []Problem {
	var ps []Problem
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	dbURL := c.Database.URL.Reveal()
	switch {
	case strings.HasPrefix(dbURL, "sqlite:"):
		if strings.TrimPrefix(dbURL, "sqlite:") == "" {
			add("database.url", "sqlite: needs a file path, e.g. sqlite:mapsync.db")
		}
	case strings.HasPrefix(dbURL, "postgres://"), strings.HasPrefix(dbURL, "postgresql://"):
		if _, err := url.Parse(dbURL); err != nil {
			add("database.url", "not a valid PostgreSQL URL (the value is not shown: it may hold a password)")
		}
	default:
		add("database.url", "want postgres://USER@HOST:PORT/DB or sqlite:PATH")
	}
	if c.Database.MaxOpenConns < 1 {
		add("database.max_open_conns", "want at least 1, got %d", c.Database.MaxOpenConns)
	}
	switch c.Log.Level {
	case "trace", "debug", "info", "warn", "error":
	default:
		add("log.level", "want one of trace, debug, info, warn, error; got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "console":
	default:
		add("log.format", "want json or console, got %q", c.Log.Format)
	}
	if _, _, err := net.SplitHostPort(c.Server.Addr); err != nil {
		add("server.addr", "want HOST:PORT, got %q", c.Server.Addr)
	}
	if u, err := url.Parse(c.Server.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("server.public_url", "want an http(s) URL, got %q", c.Server.PublicURL)
	}
	if d := c.Server.InvitationTTL.D(); d < time.Hour || d > 90*24*time.Hour {
		add("server.invitation_ttl", "want between 1h and 2160h (90 days), got %s", d)
	}
	validateSMTP(add, c.SMTP)
	if w := c.Push.Window.D(); w < 10*time.Millisecond || w > time.Hour {
		add("push.window", "want between 10ms and 1h, got %s", w)
	}
	if d := c.Push.SweepInterval.D(); d < time.Second || d > time.Hour {
		add("push.sweep_interval", "want between 1s and 1h, got %s", d)
	}
	if r := c.Push.LogRetention.D(); r < time.Hour || r > 10*365*24*time.Hour {
		add("push.log_retention", "want between 1h and 87600h (10 years), got %s", r)
	}
	if l := c.Push.Lease.D(); l < time.Second || l > 24*time.Hour {
		add("push.lease", "want between 1s and 24h, got %s", l)
	}
	seen := map[string]int{}
	for i, cn := range c.Connections {
		p := fmt.Sprintf("connections[%d]", i)
		switch {
		case cn.Name == "":
			add(p+".name", "required")
		case !connectionName.MatchString(cn.Name):
			add(p+".name", "want lowercase letters, digits, '-' or '_' (up to 63), got %q", cn.Name)
		default:
			if j, dup := seen[cn.Name]; dup {
				add(p+".name", "%q is already the name of connections[%d]", cn.Name, j)
			}
			seen[cn.Name] = i
		}
		switch cn.Kind {
		case KindSalesforce:
			checkURL(add, p+".login_url", cn.LoginURL, cn.Sandbox)
			for j, h := range cn.InstanceHosts {
				if !hostName.MatchString(h) {
					add(fmt.Sprintf("%s.instance_hosts[%d]", p, j), "want a bare host name such as acme.my.salesforce.com, got %q", h)
				}
			}
			if cn.BaseURL != "" {
				add(p+".base_url", "is for hubspot connections; Salesforce uses login_url")
			}
			if cn.PrivateAppToken != "" {
				add(p+".private_app_token", "is for hubspot connections")
			}
			requireOAuth(add, p, cn.OAuth)
		case KindHubSpot:
			checkURL(add, p+".base_url", cn.BaseURL, cn.Sandbox)
			if len(cn.InstanceHosts) > 0 {
				add(p+".instance_hosts", "is for salesforce connections")
			}
			hasOAuth := cn.OAuth != (OAuth{})
			switch {
			case cn.PrivateAppToken != "" && hasOAuth:
				add(p, "set either private_app_token or oauth, not both")
			case cn.PrivateAppToken == "" && !hasOAuth:
				add(p, "set private_app_token or oauth (client_id, client_secret, refresh_token)")
			case hasOAuth:
				requireOAuth(add, p, cn.OAuth)
			}
		case "":
			add(p+".kind", "required: salesforce or hubspot")
		default:
			add(p+".kind", "want salesforce or hubspot, got %q", cn.Kind)
		}
		if _, err := time.LoadLocation(cn.TimeZone); err != nil {
			add(p+".time_zone", "unknown time zone %q (want an IANA name such as Europe/Berlin)", cn.TimeZone)
		}
		for key, s := range map[string]*string{"schedule": cn.Schedule, "full_schedule": cn.FullSchedule} {
			if s != nil && *s != "" {
				if _, err := CronParser.Parse(*s); err != nil {
					add(p+"."+key, "invalid cron expression %q: %v", *s, err)
				}
			}
		}
		if cn.Overlap < 0 || cn.Overlap.D() > 24*time.Hour {
			add(p+".overlap", "want between 0s and 24h, got %s", cn.Overlap.D())
		}
		if cn.Timeout.D() < time.Second || cn.Timeout.D() > 10*time.Minute {
			add(p+".timeout", "want between 1s and 10m, got %s", cn.Timeout.D())
		}
		for obj := range cn.Fields {
			if !fieldObjects[obj] {
				add(p+".fields."+obj, "unknown object (want deal, contact, deal_contact or owner)")
			}
		}
		if id := cn.Webhooks.OrganizationID; id != "" && !orgID.MatchString(id) {
			add(p+".webhooks.organization_id", "want a Salesforce org id (00D followed by 12 or 15 letters and digits), got %q", id)
		}
		for j, sec := range cn.Webhooks.Secrets {
			if _, err := DecodeWebhookSecret(sec.Reveal()); err != nil {
				add(fmt.Sprintf("%s.webhooks.secrets[%d]", p, j), "%v", err)
			}
		}
		if t := cn.Webhooks.Tolerance.D(); t < time.Second || t > time.Hour {
			add(p+".webhooks.tolerance", "want between 1s and 1h, got %s", t)
		}
		if cn.Limits.RequestsPerSecond < 0 {
			add(p+".limits.requests_per_second", "must not be negative")
		}
		if r := cn.Limits.DailyReservePercent; r != nil && (*r < 0 || *r >= 100) {
			add(p+".limits.daily_reserve_percent", "want 0 to 99, got %g", *r)
		}
		if cn.Push != nil {
			ps = append(ps, pushProblems(p+".push", cn.Push)...)
			ps = append(ps, unpulledProblems(p, cn)...)
		}
	}
	return ps
}

func requireOAuth(add func(string, string, ...any), p string, o OAuth) {
	if o.ClientID == "" {
		add(p+".oauth.client_id", "required")
	}
	if o.ClientSecret == "" {
		add(p+".oauth.client_secret", "required")
	}
	if o.RefreshToken == "" {
		add(p+".oauth.refresh_token", "required (the first refresh token; mapsync stores the ones it receives, encrypted)")
	}
}

func checkURL(add func(string, string, ...any), path, raw string, sandbox bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		add(path, "want an https URL, got %q", raw)
		return
	}
	if u.Scheme == "http" && !sandbox {
		add(path, "plain http is allowed only with sandbox: true")
	}
}

// pushProblems compiles a connection's push mapping and returns its problems under path, with
// the lines the mapping found (expression problems point into the expression's line).
func pushProblems(path string, spec *mapping.Spec) []Problem {
	_, err := mapping.Compile(*spec)
	var mps mapping.Problems
	if !errors.As(err, &mps) {
		return nil
	}
	out := make([]Problem, 0, len(mps))
	for _, mp := range mps {
		out = append(out, Problem{Path: join(path, mp.Path), Line: mp.Line, Message: mp.Message})
	}
	return out
}

// unpulledProblems reports mapped fields whose write depends on the CRM's value (if: empty, and
// every field under conflict: keep_crm_edits) but that the connection does not pull: the push
// would see them as empty and write over what a person entered.
func unpulledProblems(path string, cn Connection) []Problem {
	pulled := map[string]bool{}
	for _, f := range cn.Fields["deal"] {
		pulled[strings.ToLower(f)] = true
	}
	var out []Problem
	for _, f := range cn.Push.Fields {
		if pulled[strings.ToLower(f.Name)] {
			continue
		}
		var why string
		switch {
		case f.If == mapping.PolicyIfEmpty:
			why = "if: empty"
		case cn.Push.Conflict == mapping.ConflictKeepCRMEdits:
			why = "conflict: keep_crm_edits"
		default:
			continue
		}
		out = append(out, Problem{Path: join(path+".push.fields", f.Name), Line: f.Pos.Line,
			Message: fmt.Sprintf("%s compares with the CRM's value, which is not pulled: add %s to %s.fields.deal", why, f.Name, path)})
	}
	return out
}

// validateSMTP checks the smtp section (nothing when no host is set, except stray settings).
func validateSMTP(add func(path, format string, args ...any), m SMTP) {
	if m.Host == "" {
		if m.From != "" || m.Username != "" || m.Password != "" {
			add("smtp.host", "required when smtp has other settings")
		}
		return
	}
	if !hostName.MatchString(m.Host) && net.ParseIP(m.Host) == nil {
		add("smtp.host", "want a host name or IP address, got %q", m.Host)
	}
	if m.Port < 1 || m.Port > 65535 {
		add("smtp.port", "want 1 to 65535, got %d", m.Port)
	}
	switch m.TLS {
	case "starttls", "implicit":
	case "none":
		if ip := net.ParseIP(m.Host); m.Host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			add("smtp.tls", "none sends mail in plain text: allowed only for a relay on loopback (localhost, 127.0.0.1, ::1), not %q", m.Host)
		}
	default:
		add("smtp.tls", "want starttls, implicit or none, got %q", m.TLS)
	}
	if (m.Username == "") != (m.Password == "") {
		add("smtp.username", "give username and password together")
	}
	if a, err := mail.ParseAddress(m.From); err != nil || a.Address == "" {
		add("smtp.from", "want an address such as \"Acme Deals <deals@acme.example>\", got %q", m.From)
	}
}
