package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/mapsync/mapsync/server"
)

// serveHTTP serves handler on addr until ctx ends, then shuts down gracefully. ready, when not
// nil, receives the bound address once the listener is open.
func (a *app) serveHTTP(ctx context.Context, addr string, handler http.Handler, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return a.serveListener(ctx, ln, handler, ready)
}

// serveListener is serveHTTP on a listener already open (the demo takes its address before its
// story runs); it closes ln.
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
	var addr string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the plan API (/api/v1), /metrics, /healthz and /readyz",
		Long: `Serve opens the store (refusing a schema that is behind), imports templates.dir, and serves the
HTTP API until interrupted. API requests need "Authorization: Bearer TOKEN" (mapsync tokens create NAME).
/metrics, /healthz and /readyz need no token: bind the listener accordingly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.validateLogFlags(); err != nil {
				return err
			}
			ctx := cmd.Context()
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
			hooks, err := rt.webhooks(ctx, nil)
			if err != nil {
				return err
			}
			h, err := server.New(server.Options{Store: rt.store, Logger: a.log, Registerer: rt.reg, Gatherer: rt.reg, Deals: dealSource{rt}, Webhooks: hooks})
			if err != nil {
				return err
			}
			return a.serveHTTP(ctx, addr, h, nil)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "listen address (default server.addr from the configuration)")
	return cmd
}
