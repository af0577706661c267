package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	hssandbox "github.com/mapsync/mapsync/sandbox/hubspot"
	sfsandbox "github.com/mapsync/mapsync/sandbox/salesforce"
)

// SandboxWebhookSecret is the Standard Webhooks secret of the sandbox connections' generic
// receivers in the config `mapsync sandbox` writes (a test value, like the sandboxes' own).
const SandboxWebhookSecret = "whsec_bWFwc3luYy1zYW5kYm94LXdlYmhvb2sta2V5" // "mapsync-sandbox-webhook-key"

// sandboxes are the running CRM simulators of `mapsync sandbox` and `mapsync demo`.
type sandboxes struct {
	SalesforceURL string
	HubSpotURL    string
	Salesforce    *sfsandbox.Sandbox
	HubSpot       *hssandbox.Sandbox
	servers       []*http.Server
}

type sandboxOptions struct {
	sfAddr, hsAddr string
	deals          int
	seed           uint64
	// noLimits turns the simulated API limits off (load tests and benchmarks).
	noLimits bool
	// tokenTTL is the OAuth access-token lifetime of both sandboxes; 0 keeps each one's default.
	tokenTTL time.Duration
	// sfDailyLimit, hsDailyLimit, hsBurstLimit (calls per rolling 10 s) and hsSearchPerSecond
	// override the simulated limits; 0 keeps each sandbox's default.
	sfDailyLimit, hsDailyLimit, hsBurstLimit, hsSearchPerSecond int
}

// startSandboxes listens on the given addresses (empty: that CRM is not started) and serves the
// simulators until Close.
func (a *app) startSandboxes(o sandboxOptions) (*sandboxes, error) {
	sb := &sandboxes{}
	serve := func(addr string, h http.Handler) (string, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return "", fmt.Errorf("listen on %s: %w", addr, err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		sb.servers = append(sb.servers, srv)
		go srv.Serve(ln) //nolint:errcheck // ends with Close
		return "http://" + ln.Addr().String(), nil
	}
	var err error
	if o.sfAddr != "" {
		so := sfsandbox.Options{Deals: o.deals, Seed: o.seed, Now: time.Now, Logger: a.log,
			TokenTTL: o.tokenTTL, DailyLimit: o.sfDailyLimit}
		if o.noLimits {
			so.DailyLimit = 1 << 30
		}
		sb.Salesforce = sfsandbox.New(so)
		if sb.SalesforceURL, err = serve(o.sfAddr, sb.Salesforce); err != nil {
			sb.Close()
			return nil, err
		}
	}
	if o.hsAddr != "" {
		// The custom properties the written config names (deal: map_progress, map_status, ...),
		// as the Salesforce sandbox has its DefaultCustomFields.
		ho := hssandbox.Options{Deals: o.deals, Seed: o.seed, Now: time.Now, Logger: a.log,
			CustomProperties: hssandbox.DefaultCustomProperties(), TokenTTL: o.tokenTTL,
			DailyLimit: o.hsDailyLimit, BurstLimit: o.hsBurstLimit, SearchPerSecond: o.hsSearchPerSecond}
		if o.noLimits {
			ho.BurstLimit, ho.DailyLimit, ho.SearchPerSecond = -1, -1, -1
		}
		sb.HubSpot = hssandbox.New(ho)
		if sb.HubSpotURL, err = serve(o.hsAddr, sb.HubSpot); err != nil {
			sb.Close()
			return nil, err
		}
	}
	return sb, nil
}

// Close stops the servers and the simulators' background deliveries.
func (sb *sandboxes) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range sb.servers {
		s.Shutdown(ctx) //nolint:errcheck // best effort at exit
	}
	if sb.Salesforce != nil {
		sb.Salesforce.Close()
	}
	if sb.HubSpot != nil {
		sb.HubSpot.Close()
	}
}

// The push mappings of the sandbox connections, to the custom fields the sandboxes declare
// (sfsandbox.DefaultCustomFields, hssandbox.DefaultCustomProperties); `mapsync mappings validate`
// passes on them.
const (
	sandboxPushSalesforce = `    push:
      object: deal
      when: plan.state != "cancelled"
      fields:
        MAP_Progress__c: plan.percent_complete
        MAP_Status__c: '{"on_track": "On Track", "at_risk": "At Risk", "off_track": "Off Track", "completed": "Completed", "cancelled": "Cancelled"}[plan.status]'
        MAP_Next_Step__c:
          value: 'plan.next_action == nil ? "" : plan.next_action.title + (plan.next_action.due == nil ? "" : " (due " + date(plan.next_action.due) + ")")'
          truncate: true
        MAP_Security_Review_Date__c: {value: 'plan.milestones["Security approved"].reached_at', if: empty}
        MAP_Plan_URL__c: plan.url
`
	sandboxPushHubSpot = `    push:
      object: deal
      when: plan.state != "cancelled"
      conflict: keep_crm_edits
      fields:
        map_progress: plan.percent_complete
        map_status: plan.status
        map_next_step: {value: 'plan.next_action?.title ?? ""', truncate: true}
        map_security_review_date: {value: 'plan.milestones["Security approved"].reached_at', if: empty}
        map_plan_url: plan.url
`
)

// configYAML renders a mapsync configuration whose connections point at the sandboxes.
func (sb *sandboxes) configYAML(databaseURL string) string {
	s := fmt.Sprintf(`# Written by mapsync sandbox: connections to the built-in CRM sandboxes.
database:
  url: %s
log:
  level: info
  format: console
templates:
  dir: examples/templates
connections:
`, databaseURL)
	if sb.SalesforceURL != "" {
		s += fmt.Sprintf(`  - name: sandbox-salesforce
    kind: salesforce
    sandbox: true
    login_url: %s
    oauth:
      client_id: %s
      client_secret: %s
      refresh_token: %s
    time_zone: Europe/Berlin
    fields:
      # The mapped fields, so pushes compare with the CRM's values (if: empty needs them).
      deal: [MAP_Progress__c, MAP_Status__c, MAP_Next_Step__c, MAP_Security_Review_Date__c, MAP_Plan_URL__c]
    # /webhooks/salesforce/sandbox-salesforce accepts the sandbox org's outbound messages;
    # /webhooks/generic/sandbox-salesforce requests signed with this Standard Webhooks secret.
    webhooks:
      organization_id: %s
      secrets: [%s]
%s`, sb.SalesforceURL, sfsandbox.ClientID, sfsandbox.ClientSecret, sfsandbox.RefreshToken, sb.Salesforce.OrgID(), SandboxWebhookSecret, sandboxPushSalesforce)
	}
	if sb.HubSpotURL != "" {
		s += fmt.Sprintf(`  - name: sandbox-hubspot
    kind: hubspot
    sandbox: true
    base_url: %s
    private_app_token: %s
    time_zone: America/New_York
    fields:
      # The mapped properties, so pushes compare with the CRM's values (keep_crm_edits needs them).
      deal: [map_progress, map_status, map_next_step, map_security_review_date, map_plan_url]
    # /webhooks/hubspot/sandbox-hubspot verifies the sandbox app's v3 signatures with its client
    # secret; /webhooks/generic/sandbox-hubspot requests signed with this secret.
    webhooks:
      client_secret: %s
      secrets: [%s]
%s`, sb.HubSpotURL, hssandbox.PrivateAppToken, hssandbox.ClientSecret, SandboxWebhookSecret, sandboxPushHubSpot)
	}
	return s
}

func newSandboxCmd(a *app) *cobra.Command {
	var (
		o           sandboxOptions
		writeConfig string
	)
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Serve the built-in Salesforce and HubSpot simulators",
		Long: `Sandbox serves faithful in-process simulators of the Salesforce and HubSpot APIs (OAuth, SOQL,
search, batch writes, limits, webhooks, fault injection under /__sandbox/) on loopback, with a
deterministic dataset. Either address may be left out. It prints the URLs, credentials and limits
and runs until interrupted. --write-config writes a mapsync configuration pointing at them (its
custom fields exist in both sandboxes). --token-ttl and the --*-limit flags tune the simulated
token lifetime and API limits; --no-limits turns the limits off.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.sfAddr == "" && o.hsAddr == "" {
				return usageError{errors.New("give --salesforce-addr, --hubspot-addr or both")}
			}
			if o.deals < 0 || o.deals > 1_000_000 {
				return usageError{fmt.Errorf("--deals: want 0 to 1000000, got %d", o.deals)}
			}
			if err := o.checkLimitFlags(cmd); err != nil {
				return usageError{err}
			}
			a.setupLogger()
			sb, err := a.startSandboxes(o)
			if err != nil {
				return err
			}
			defer sb.Close()
			if sb.SalesforceURL != "" {
				fmt.Fprintf(a.stdout, "Salesforce sandbox: %s\n  login URL %s, client id %s, client secret %s, refresh token %s\n  (password grant: %s / %s)\n",
					sb.SalesforceURL, sb.SalesforceURL, sfsandbox.ClientID, sfsandbox.ClientSecret, sfsandbox.RefreshToken, sfsandbox.Username, sfsandbox.Password)
			}
			if sb.HubSpotURL != "" {
				fmt.Fprintf(a.stdout, "HubSpot sandbox: %s\n  private-app token %s; OAuth client id %s, secret %s, refresh token %s\n",
					sb.HubSpotURL, hssandbox.PrivateAppToken, hssandbox.ClientID, hssandbox.ClientSecret, hssandbox.RefreshToken)
			}
			fmt.Fprintln(a.stdout, o.limitsLine(sb))
			fmt.Fprintf(a.stdout, "%d deals, seed %d. Control API under /__sandbox/. Ctrl-C stops.\n", o.deals, o.seed)
			if writeConfig != "" {
				if err := os.WriteFile(writeConfig, []byte(sb.configYAML("sqlite:mapsync.db")), 0o600); err != nil {
					return fmt.Errorf("write config: %w", err)
				}
				fmt.Fprintf(a.stdout, "wrote %s: try `mapsync --config %s migrate up && mapsync --config %s sync run --connection sandbox-hubspot`\n", writeConfig, writeConfig, writeConfig)
			}
			<-cmd.Context().Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.sfAddr, "salesforce-addr", "", "listen address of the Salesforce sandbox, e.g. 127.0.0.1:8701")
	f.StringVar(&o.hsAddr, "hubspot-addr", "", "listen address of the HubSpot sandbox, e.g. 127.0.0.1:8702")
	f.IntVar(&o.deals, "deals", 500, "how many deals to generate")
	f.Uint64Var(&o.seed, "seed", 1, "dataset seed (same seed, same data)")
	f.StringVar(&writeConfig, "write-config", "", "write a mapsync configuration for these sandboxes to this file")
	f.BoolVar(&o.noLimits, "no-limits", false, "turn the simulated API rate and daily limits off (load tests, benchmarks)")
	f.DurationVar(&o.tokenTTL, "token-ttl", 0, "OAuth access-token lifetime of both sandboxes, e.g. 5m (0: Salesforce 2h, HubSpot 30m)")
	f.IntVar(&o.sfDailyLimit, "salesforce-daily-limit", 0, fmt.Sprintf("Salesforce API requests per day (0: %d)", sfsandbox.DefaultDailyLimit))
	f.IntVar(&o.hsDailyLimit, "hubspot-daily-limit", 0, fmt.Sprintf("HubSpot API calls per day (0: %d)", hssandbox.DefaultDailyLimit))
	f.IntVar(&o.hsBurstLimit, "hubspot-burst-limit", 0, fmt.Sprintf("HubSpot API calls per rolling 10 seconds, search excluded (0: %d)", hssandbox.DefaultBurstLimit))
	f.IntVar(&o.hsSearchPerSecond, "hubspot-search-per-second", 0, fmt.Sprintf("HubSpot search requests per second (0: %d)", hssandbox.DefaultSearchPerSecond))
	return cmd
}

// limitsLine describes the token lifetimes and limits the running sandboxes apply.
func (o sandboxOptions) limitsLine(sb *sandboxes) string {
	orDefault := func(v, def int) int {
		if v == 0 {
			return def
		}
		return v
	}
	ttl := func(def time.Duration) time.Duration {
		if o.tokenTTL == 0 {
			return def
		}
		return o.tokenTTL
	}
	var parts []string
	if sb.Salesforce != nil {
		lim := fmt.Sprintf("%d requests/day", orDefault(o.sfDailyLimit, sfsandbox.DefaultDailyLimit))
		if o.noLimits {
			lim = "no limits"
		}
		parts = append(parts, fmt.Sprintf("Salesforce: tokens live %s, %s", ttl(sfsandbox.DefaultTokenTTL), lim))
	}
	if sb.HubSpot != nil {
		lim := fmt.Sprintf("%d calls/10s, %d calls/day, %d searches/s", orDefault(o.hsBurstLimit, hssandbox.DefaultBurstLimit),
			orDefault(o.hsDailyLimit, hssandbox.DefaultDailyLimit), orDefault(o.hsSearchPerSecond, hssandbox.DefaultSearchPerSecond))
		if o.noLimits {
			lim = "no limits"
		}
		parts = append(parts, fmt.Sprintf("HubSpot: OAuth tokens live %s, %s", ttl(hssandbox.DefaultTokenTTL), lim))
	}
	return "Limits: " + strings.Join(parts, "; ")
}

// checkLimitFlags rejects negative limits and limits given together with --no-limits.
func (o sandboxOptions) checkLimitFlags(cmd *cobra.Command) error {
	if o.tokenTTL < 0 {
		return fmt.Errorf("--token-ttl: want a positive duration, got %s", o.tokenTTL)
	}
	for _, fl := range []struct {
		name string
		v    int
	}{{"salesforce-daily-limit", o.sfDailyLimit}, {"hubspot-daily-limit", o.hsDailyLimit},
		{"hubspot-burst-limit", o.hsBurstLimit}, {"hubspot-search-per-second", o.hsSearchPerSecond}} {
		if fl.v < 0 {
			return fmt.Errorf("--%s: want a positive number (0 for the default; --no-limits turns limits off), got %d", fl.name, fl.v)
		}
		if o.noLimits && cmd.Flags().Changed(fl.name) {
			return fmt.Errorf("--%s and --no-limits contradict each other", fl.name)
		}
	}
	return nil
}
