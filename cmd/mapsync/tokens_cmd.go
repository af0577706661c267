package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mapsync/mapsync/store"
)

func newTokensCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "tokens", Short: "Manage API tokens (stored hashed)"}
	create := a.withStore(true, func(cmd *cobra.Command, args []string, s *store.Store) error {
		name := args[0]
		tok, err := s.CreateAPIToken(cmd.Context(), name)
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("token %q already exists; revoke it first or choose another name", name)
		}
		if err != nil {
			return fmt.Errorf("create token %s: %w", name, err)
		}
		fmt.Fprintln(a.stdout, tok)
		return nil
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "create NAME",
		Short: "Create an API token and print it alone on stdout (it is shown only once)",
		Long: "Create an API token and print it alone on stdout; it is shown only once, and only its\n" +
			"SHA-256 is stored. NAME is " + store.APITokenNameRule + ",\n" +
			"unique among tokens not revoked.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Checked before the database is opened: a bad name needs no database to be refused.
			if err := store.ValidateAPITokenName(args[0]); err != nil {
				return fmt.Errorf("token name %q is invalid: use %s", args[0], store.APITokenNameRule)
			}
			return create(cmd, args)
		},
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
			err := s.RevokeAPIToken(cmd.Context(), args[0])
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no valid token %q to revoke (see mapsync tokens list)", args[0])
			}
			if err != nil {
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
