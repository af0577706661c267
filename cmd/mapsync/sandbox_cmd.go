package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	hssandbox "github.com/mapsync/mapsync/sandbox/hubspot"
	sfsandbox "github.com/mapsync/mapsync/sandbox/salesforce"
)

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
		so := sfsandbox.Options{Deals: o.deals, Seed: o.seed, Now: time.Now, Logger: a.log}
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
		ho := hssandbox.Options{Deals: o.deals, Seed: o.seed, Now: time.Now, Logger: a.log}
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
      deal: [MAP_Progress__c, MAP_Status__c]
`, sb.SalesforceURL, sfsandbox.ClientID, sfsandbox.ClientSecret, sfsandbox.RefreshToken)
	}
	if sb.HubSpotURL != "" {
		s += fmt.Sprintf(`  - name: sandbox-hubspot
    kind: hubspot
    sandbox: true
    base_url: %s
    private_app_token: %s
    time_zone: America/New_York
    fields:
      deal: [map_progress, map_status]
`, sb.HubSpotURL, hssandbox.PrivateAppToken)
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
deterministic dataset. Either address may be left out. It prints the URLs and credentials and runs
until interrupted. --write-config writes a mapsync configuration pointing at them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.sfAddr == "" && o.hsAddr == "" {
				return usageError{errors.New("give --salesforce-addr, --hubspot-addr or both")}
			}
			if o.deals < 0 || o.deals > 1_000_000 {
				return usageError{fmt.Errorf("--deals: want 0 to 1000000, got %d", o.deals)}
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
	return cmd
}
