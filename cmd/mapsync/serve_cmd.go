package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// serveListener serves handler on ln until ctx ends, then shuts down gracefully; it closes ln.
// ready, when not nil, receives the bound address once serving.
func (a *app) serveListener(ctx context.Context, ln net.Listener, handler http.Handler, ready func(net.Addr)) error {
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	a.log.Info().Str("addr", ln.Addr().String()).Msg("http listening")
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	a.log.Info().Msg("http stopped")
	return nil
}

func newServeCmd(a *app) *cobra.Command {
	var (
		addr    string
		migrate bool
		grace   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon: the API, webhooks, schedules and their processing, until stopped",
		Long: `Serve opens the store (refusing a schema that is behind unless --migrate applies the migrations
first), imports templates.dir, and runs in one process until SIGTERM or Ctrl-C: the HTTP API (/api/v1),
the webhook receivers (/webhooks/{hubspot,salesforce,generic}/CONNECTION), /metrics, /healthz and
/readyz; and River, the job queue in the store's own database, which works the background jobs:
each batch of stored webhook events (deletions marked at once, named deals fetched, others by an
incremental pull; retried with backoff, dead letters after the last attempt) and the pulls each
connection's schedule (incremental) and full_schedule (reconcile) enqueue in its time zone; and the
pushes of plan changes to the CRM (one job per connection and push.window, a sweep for changes no job
covers, push_log kept for push.log_retention). Replicas
on one PostgreSQL share the jobs; only River's elected leader enqueues the schedules. Every pull is
followed by the plan catch-up. On SIGTERM it stops taking requests, then gives running jobs
--shutdown-timeout to finish (River runs what is cut short again) and exits 0.
API requests need "Authorization: Bearer TOKEN" (mapsync tokens create NAME).
/metrics, /healthz, /readyz and /webhooks need no token: bind the listener accordingly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.validateLogFlags(); err != nil {
				return err
			}
			ctx := cmd.Context()
			if migrate {
				if err := a.migrateFirst(ctx); err != nil {
					return err
				}
			}
			rt, err := a.newRuntime(ctx)
			if err != nil {
				return err
			}
			defer rt.Close()
			if addr == "" {
				addr = rt.cfg.Server.Addr
			}
			if dir := rt.cfg.Templates.Dir; dir != "" {
				if err := importTemplates(ctx, rt.store, []string{dir}, nil); err != nil {
					return fmt.Errorf("templates.dir: %w", err)
				}
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", addr, err)
			}
			defer ln.Close()
			return rt.daemon(ctx, ln, grace, nil)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "listen address (default server.addr from the configuration)")
	cmd.Flags().BoolVar(&migrate, "migrate", false, "apply pending migrations before starting")
	cmd.Flags().DurationVar(&grace, "shutdown-timeout", 30*time.Second, "on SIGTERM, how long work in flight may take to finish")
	return cmd
}
