package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/store"
)

func newConnectionsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "connections", Short: "Show CRM connections' health and authorise them again"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the configured connections with their status (active, needs_reauth) and its reason",
		Args:  cobra.NoArgs,
		RunE: a.withStore(true, func(cmd *cobra.Command, _ []string, s *store.Store) error {
			stored, err := s.Connections(cmd.Context())
			if err != nil {
				return err
			}
			byName := map[string]store.Connection{}
			for _, c := range stored {
				byName[c.Name] = c
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tKIND\tSTATUS\tREASON")
			for _, cn := range a.cfg.Connections {
				status, reason := "not yet used", ""
				if c, ok := byName[cn.Name]; ok {
					status, reason = c.Status, c.StatusReason
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", cn.Name, cn.Kind, status, reason)
			}
			return tw.Flush()
		}),
	})

	var fromStdin bool
	reauth := &cobra.Command{
		Use:   "reauth NAME",
		Short: "Replace a connection's stored OAuth token with a new refresh token and mark it active",
		Long: `reauth is the way out of needs_reauth (the CRM refused the refresh token: revoked, expired, or
the user lost access). It stores a new refresh token, encrypted, in place of the refused one and
marks the connection active; the next pull logs in with it.

The token is read from stdin with --refresh-token-stdin (one line, never from a flag, so it stays
out of shell history), else taken from the connection's oauth.refresh_token in the configuration.`,
		Args: cobra.ExactArgs(1),
		RunE: a.withStore(true, func(cmd *cobra.Command, args []string, s *store.Store) error {
			cn, ok := a.cfg.Connection(args[0])
			if !ok {
				return fmt.Errorf("no connection %q in the configuration", args[0])
			}
			if cn.OAuth == (config.OAuth{}) {
				return fmt.Errorf("connection %s uses a private-app token, not OAuth: put the new token in private_app_token", cn.Name)
			}
			refresh := cn.OAuth.RefreshToken.Reveal()
			if fromStdin {
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if err != nil && line == "" {
					return errors.New("--refresh-token-stdin: no token on stdin")
				}
				refresh = strings.TrimSpace(line)
			}
			if refresh == "" {
				return fmt.Errorf("connection %s: no refresh token (give one on stdin with --refresh-token-stdin)", cn.Name)
			}
			if _, err := requireCipher(); err != nil {
				return err
			}
			if _, err := s.EnsureConnection(cmd.Context(), cn.Name, cn.Kind); err != nil {
				return err
			}
			if err := s.Reconnect(cmd.Context(), cn.Name, &oauth2.Token{RefreshToken: refresh}); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "connection %s is active; the next pull logs in with the new refresh token\n", cn.Name)
			return nil
		}),
	}
	reauth.Flags().BoolVar(&fromStdin, "refresh-token-stdin", false, "read the new refresh token from stdin")
	cmd.AddCommand(reauth)
	return cmd
}
