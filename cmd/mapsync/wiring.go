package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/oauth2"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/connectors/hubspot"
	"github.com/mapsync/mapsync/connectors/salesforce"
	"github.com/mapsync/mapsync/internal/jobs"
	"github.com/mapsync/mapsync/scheduler"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/pull"
)

// runtime is what one process shares between its workers: the store, one metrics registry, one
// rate governor per connection, and the connectors built from the configuration.
type runtime struct {
	a           *app
	cfg         *config.Config
	store       *store.Store
	reg         *prometheus.Registry
	connMetrics *connectors.Metrics
	pullMetrics *pull.Metrics

	mu        sync.Mutex
	governors map[string]*connectors.Governor // one per connection, shared by every worker
	runLocker *scheduler.Locker               // the per-connection run lock, built once

	// jobs inserts River jobs (InsertTx in store transactions); set by the daemon before it
	// serves, nil in processes that run no jobs (see jobs_wiring.go).
	jobs *jobs.Client
	// dm counts the daemon's pulls and plans; set by the daemon.
	dm *daemonMetrics
	// push is the push pipeline, built once (push_wiring.go).
	push *pushParts
}

// newRuntime opens the store (refusing a schema that is behind) and builds the shared parts.
func (a *app) newRuntime(ctx context.Context) (*runtime, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	s, err := a.openStore(ctx, true)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(s.DB().DB, "mapsync"), // go_sql_* pool gauges, labelled db_name="mapsync"
	)
	cm, err := connectors.NewMetrics(reg)
	if err != nil {
		s.Close()
		return nil, err
	}
	pm, err := pull.NewMetrics(reg)
	if err != nil {
		s.Close()
		return nil, err
	}
	rt := &runtime{
		a: a, cfg: cfg, store: s, reg: reg, connMetrics: cm, pullMetrics: pm,
		governors: map[string]*connectors.Governor{},
	}
	rt.installPushHook() // push_jobs_wiring.go
	return rt, nil
}

func (rt *runtime) Close() { rt.store.Close() }

// connection resolves a configured connection by name and makes sure the store knows it.
func (rt *runtime) connection(ctx context.Context, name string) (*config.Connection, *store.Connection, error) {
	cn, ok := rt.cfg.Connection(name)
	if !ok {
		names := make([]string, 0, len(rt.cfg.Connections))
		for _, c := range rt.cfg.Connections {
			names = append(names, c.Name)
		}
		return nil, nil, fmt.Errorf("no connection named %q in the configuration (configured: %v)", name, names)
	}
	sc, err := rt.store.EnsureConnection(ctx, cn.Name, cn.Kind)
	if err != nil {
		return nil, nil, err
	}
	return cn, sc, nil
}

// connector builds the connector of a configured connection: its auth (a private-app token, or
// an OAuth token source over the encrypted store, seeded once with the configured refresh
// token), the shared governor and metrics.
func (rt *runtime) connector(ctx context.Context, cn *config.Connection) (connectors.Connector, error) {
	log := rt.a.log.With().Str("connection", cn.Name).Logger()
	retry := connectors.RetryPolicy{AttemptTimeout: cn.Timeout.D()}
	gov := rt.governor(cn)
	oauthSource := func(endpoint oauth2.Endpoint, extra []string) (connectors.Auth, error) {
		if _, err := requireCipher(); err != nil {
			return nil, fmt.Errorf("connection %s uses OAuth, whose tokens are stored encrypted: %w", cn.Name, err)
		}
		if _, err := rt.store.SeedToken(ctx, cn.Name, &oauth2.Token{RefreshToken: cn.OAuth.RefreshToken.Reveal()}); err != nil {
			return nil, err
		}
		return connectors.NewTokenSource(connectors.TokenSourceOptions{
			Connection: cn.Name,
			Config: &oauth2.Config{
				ClientID: cn.OAuth.ClientID, ClientSecret: cn.OAuth.ClientSecret.Reveal(), Endpoint: endpoint,
			},
			Store: rt.store, Reauth: rt.store, Metrics: rt.connMetrics, Logger: log, ExtraKeys: extra,
		})
	}
	switch cn.Kind {
	case config.KindSalesforce:
		auth, err := oauthSource(salesforce.OAuthEndpoint(cn.LoginURL), salesforce.TokenExtraKeys())
		if err != nil {
			return nil, err
		}
		return salesforce.New(salesforce.Options{
			Connection: cn.Name, Auth: auth, Instance: instancePolicy(cn), APIVersion: cn.APIVersion,
			Retry: retry, Governor: gov, Metrics: rt.connMetrics, Logger: log,
		})
	case config.KindHubSpot:
		var auth connectors.Auth
		if cn.PrivateAppToken != "" {
			auth = connectors.NewStaticToken(cn.PrivateAppToken.Reveal())
		} else {
			var err error
			if auth, err = oauthSource(hubspot.OAuthEndpoint(cn.BaseURL), nil); err != nil {
				return nil, err
			}
		}
		return hubspot.New(hubspot.Options{
			Connection: cn.Name, BaseURL: cn.BaseURL, Auth: auth,
			// HubSpot allows 5 searches per second per account and sends no headers to pace by;
			// 4 leaves room for clock jitter and for the account's other integrations.
			SearchPerSecond: 4,
			Retry:           retry, Governor: gov, Metrics: rt.connMetrics, Logger: log,
		})
	}
	return nil, fmt.Errorf("connection %s: unknown kind %q", cn.Name, cn.Kind)
}

// governor returns the connection's rate governor, built once from its limits: our own request
// rate, and the share of the CRM's daily budget left to the org's other integrations.
func (rt *runtime) governor(cn *config.Connection) *connectors.Governor {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if g, ok := rt.governors[cn.Name]; ok {
		return g
	}
	reserve := *cn.Limits.DailyReservePercent / 100
	if reserve == 0 {
		reserve = -1 // 0% configured: no reserve (GovernorOptions reads 0 as "default")
	}
	g := connectors.NewGovernors(connectors.GovernorOptions{
		Rate: cn.Limits.RequestsPerSecond, Burst: max(1, int(cn.Limits.RequestsPerSecond)), DailyReserve: reserve,
	}).For(cn.Name)
	rt.governors[cn.Name] = g
	return g
}

// puller builds the pull pipeline of a configured connection.
func (rt *runtime) puller(ctx context.Context, name string, progress func(pull.Progress)) (*pull.Puller, error) {
	cn, sc, err := rt.connection(ctx, name)
	if err != nil {
		return nil, err
	}
	if sc.Status == store.ConnectionNeedsReauth {
		// The CRM refused the stored refresh token; asking again would fail the same way.
		return nil, fmt.Errorf("connection %s needs to be authorised again (%s): run `mapsync connections reauth %s`", cn.Name, sc.StatusReason, cn.Name)
	}
	conn, err := rt.connector(ctx, cn)
	if err != nil {
		return nil, err
	}
	fields := connectionFields(cn) // the configured extra fields, plus what plans read
	return pull.New(pull.Options{
		Connection: cn.Name, ConnectionID: sc.ID, Connector: conn, Store: rt.store,
		Overlap: cn.Overlap.D(), Fields: fields, Metrics: rt.pullMetrics, Logger: rt.a.log,
		Progress: progress,
		Calls:    func() (int64, int64) { return rt.calls(cn.Name) },
		OnStored: rt.remarkOnPull(cn),
	})
}

// calls reports a connection's CRM requests and retries so far, from the connector metrics:
// the metrics are the one count of API calls, so a run's summary and the graphs agree.
func (rt *runtime) calls(connection string) (requests, retries int64) {
	return rt.connMetrics.Calls(connection)
}

// withTimeout returns a context for one CLI operation; d <= 0 means no limit.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// instancePolicy says where a Salesforce connection may send its access token: the configured
// instance_hosts; else the login host itself when it is a My Domain (an org's own host) or, for a
// sandbox connection, the login host and port; else any Salesforce API domain, the only choice
// when logging in at login.salesforce.com or test.salesforce.com, which serve every org.
func instancePolicy(cn *config.Connection) connectors.InstancePolicy {
	p := connectors.InstancePolicy{Sandbox: cn.Sandbox, Hosts: cn.InstanceHosts}
	if len(p.Hosts) > 0 {
		return p
	}
	u, err := url.Parse(cn.LoginURL)
	if err != nil || u.Host == "" {
		return p
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case cn.Sandbox:
		p.Hosts = []string{u.Host}
	case strings.HasSuffix(host, ".my.salesforce.com"):
		p.Hosts = []string{host}
	}
	return p
}
