package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mapsync/mapsync/store"
)

// newSyncRunsCmd is `mapsync sync runs`: the latest runs of each connection (or one), newest
// first, with abandoned runs (their process stopped) shown as such.
func newSyncRunsCmd(a *app) *cobra.Command {
	var (
		connection, output string
		limit              int
	)
	cmd := &cobra.Command{
		Use:   "runs [--connection NAME]",
		Short: "List recent sync runs: mode, trigger, status, start, duration, error",
		Args:  cobra.NoArgs,
		RunE: a.withStore(true, func(cmd *cobra.Command, _ []string, s *store.Store) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			conns, err := s.Connections(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			if output == "text" {
				fmt.Fprintln(tw, "RUN\tCONNECTION\tMODE\tTRIGGER\tSTATUS\tSTARTED\tTOOK\tERROR")
			}
			found := false
			enc := json.NewEncoder(a.stdout)
			for _, c := range conns {
				if connection != "" && c.Name != connection {
					continue
				}
				found = true
				runs, err := s.Runs(cmd.Context(), c.ID, limit)
				if err != nil {
					return err
				}
				for _, r := range runs {
					if output == "json" {
						enc.Encode(struct {
							Connection string `json:"connection"`
							store.Run
						}{c.Name, r})
						continue
					}
					took := "-"
					if r.FinishedAt != nil {
						took = r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, c.Name, r.Mode, r.Trigger, r.Status,
						r.StartedAt.UTC().Format("2006-01-02 15:04:05"), took, r.Error)
				}
			}
			if connection != "" && !found {
				return fmt.Errorf("no stored connection named %q (it has not been synced yet)", connection)
			}
			if output == "text" {
				return tw.Flush()
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&connection, "connection", "", "only this connection's runs")
	cmd.Flags().IntVar(&limit, "limit", 20, "at most this many runs per connection")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json (one object per line)")
	return cmd
}
