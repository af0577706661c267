package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mapsync/mapsync/store"
)

func newTokensCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "tokens", Short: "Manage API tokens (stored hashed)"}
	cmd.AddCommand(&cobra.Command{
		Use:   "create NAME",
		Short: "Create an API token and print it alone on stdout (it is shown only once)",
		Args:  cobra.ExactArgs(1),
		RunE: a.withStore(true, func(cmd *cobra.Command, args []string, s *store.Store) error {
			tok, err := s.CreateAPIToken(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("create token %s: %w", args[0], err)
			}
			fmt.Fprintln(a.stdout, tok)
			return nil
		}),
	}, &cobra.Command{
		Use:   "list",
		Short: "List API tokens (names and use, never the tokens)",
		Args:  cobra.NoArgs,
		RunE: a.withStore(true, func(cmd *cobra.Command, _ []string, s *store.Store) error {
			ts, err := s.ListAPITokens(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tCREATED\tLAST USED\tREVOKED")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.CreatedAt.Format("2006-01-02 15:04"), fmtTime(t.LastUsedAt), fmtTime(t.RevokedAt))
			}
			return tw.Flush()
		}),
	}, &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke an API token",
		Args:  cobra.ExactArgs(1),
		RunE: a.withStore(true, func(cmd *cobra.Command, args []string, s *store.Store) error {
			if err := s.RevokeAPIToken(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "revoked %s\n", args[0])
			return nil
		}),
	})
	return cmd
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format("2006-01-02 15:04")
}
