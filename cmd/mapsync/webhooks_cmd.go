package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mapsync/mapsync/internal/jobs"
	"github.com/mapsync/mapsync/store"
)

func newWebhooksCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "webhooks", Short: "Inspect received webhook events and retry dead letters"}
	var (
		connection, status, output string
		limit                      int
	)
	list := &cobra.Command{
		Use:   "list [--connection NAME] [--status pending|done|dead]",
		Short: "List received webhook events (dead letters: --status dead), oldest first",
		Args:  cobra.NoArgs,
		RunE: a.withStore(true, func(cmd *cobra.Command, _ []string, s *store.Store) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			f := store.WebhookEventFilter{Limit: limit}
			switch status {
			case "":
			case store.WebhookPending, store.WebhookDone, store.WebhookDead:
				f.Statuses = []string{status}
			default:
				return usageError{fmt.Errorf("--status: want pending, done or dead, got %q", status)}
			}
			names := map[int64]string{}
			conns, err := s.Connections(cmd.Context())
			if err != nil {
				return err
			}
			for _, c := range conns {
				names[c.ID] = c.Name
				if c.Name == connection {
					f.ConnectionID = c.ID
				}
			}
			if connection != "" && f.ConnectionID == 0 {
				return fmt.Errorf("no stored connection named %q", connection)
			}
			evs, err := s.WebhookEvents(cmd.Context(), f)
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(a.stdout)
				for _, e := range evs {
					e.Payload = "" // raw bodies are for the database, not for terminals and logs
					enc.Encode(e)
				}
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tCONNECTION\tSOURCE\tTYPE\tOBJECT\tCRM ID\tSTATUS\tATTEMPTS\tRECEIVED\tERROR")
			for _, e := range evs {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.ID, names[e.ConnectionID], e.Source, e.Type, e.Object, e.CRMID,
					e.Status, e.Attempts, e.ReceivedAt.UTC().Format("2006-01-02 15:04:05"), e.LastError)
			}
			return tw.Flush()
		}),
	}
	list.Flags().StringVar(&connection, "connection", "", "only this connection's events")
	list.Flags().StringVar(&status, "status", "", "only events with this status: pending, done or dead")
	list.Flags().IntVar(&limit, "limit", 100, "list at most this many")
	list.Flags().StringVarP(&output, "output", "o", "text", "text or json (one object per line)")
	retry := &cobra.Command{
		Use:   "retry ID...",
		Short: "Put dead webhook events back to pending with a new processing job; a running `mapsync serve` works it",
		Args:  cobra.MinimumNArgs(1),
		RunE: a.withStore(true, func(cmd *cobra.Command, args []string, s *store.Store) error {
			// An insert-only River client: the job is inserted with the event's change, and
			// `mapsync serve` (any replica) works it.
			jc, err := jobs.New(cmd.Context(), s, jobs.Config{Logger: a.log})
			if err != nil {
				return err
			}
			for _, arg := range args {
				id, err := strconv.ParseInt(arg, 10, 64)
				if err != nil {
					return usageError{fmt.Errorf("event id %q is not a number", arg)}
				}
				if err := s.RetryWebhookEvent(cmd.Context(), id, enqueueWebhookEvents(jc)); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "event %d pending again\n", id)
			}
			return nil
		}),
	}
	cmd.AddCommand(list, retry)
	return cmd
}
