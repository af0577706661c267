package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/scheduler"
)

// statusConnections are the configured connections with their parsed schedules.
func (rt *runtime) statusConnections() ([]scheduler.StatusConnection, error) {
	var out []scheduler.StatusConnection
	for _, cn := range rt.cfg.Connections {
		loc, err := time.LoadLocation(cn.TimeZone)
		if err != nil {
			return nil, err
		}
		sc := scheduler.StatusConnection{Name: cn.Name, Kind: cn.Kind, Location: loc}
		if cn.Schedule != nil && *cn.Schedule != "" {
			if sc.Schedule, err = config.CronParser.Parse(*cn.Schedule); err != nil {
				return nil, err
			}
		}
		if cn.FullSchedule != nil && *cn.FullSchedule != "" {
			if sc.FullSchedule, err = config.CronParser.Parse(*cn.FullSchedule); err != nil {
				return nil, err
			}
		}
		out = append(out, sc)
	}
	return out, nil
}

// status gathers every configured connection's status now.
func (rt *runtime) status(ctx context.Context) ([]scheduler.ConnectionStatus, error) {
	conns, err := rt.statusConnections()
	if err != nil {
		return nil, err
	}
	return scheduler.Status(ctx, rt.store, conns, time.Now())
}

func newStatusCmd(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Each connection: state, last and next runs, lag, records, plans, push backlog, dead letters, token expiry",
		Long: `Status shows each configured connection: its state (ok; failing when the latest run failed or was
abandoned; needs_reauth; disabled), the latest run and the next scheduled ones, the lag since the latest
successful run, live records by object, plans, the push backlog and the age of its oldest change,
webhook events pending and dead (mapsync webhooks list --status dead), and when the stored OAuth
access token expires. --output json prints one object per connection, as GET /api/v1/connections.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			rt, err := a.newRuntime(cmd.Context())
			if err != nil {
				return err
			}
			defer rt.Close()
			sts, err := rt.status(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSONLines(a.stdout, sts)
			}
			ts := func(t *time.Time) string {
				if t == nil {
					return "-"
				}
				return t.UTC().Format("2006-01-02 15:04:05")
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CONNECTION\tSTATE\tLAST RUN\tNEXT RUN\tNEXT FULL\tLAG\tDEALS\tCONTACTS\tPLANS\tPUSH BACKLOG\tDEAD LETTERS\tTOKEN EXPIRES")
			for _, st := range sts {
				last, lag, backlog := "-", "-", fmt.Sprint(st.PushBacklog)
				if r := st.LastRun; r != nil {
					last = fmt.Sprintf("%s %s (%s)", ts(&r.StartedAt), r.Status, r.Mode)
				}
				if st.LagSeconds >= 0 {
					lag = (time.Duration(st.LagSeconds) * time.Second).String()
				}
				if st.PushBacklog > 0 {
					backlog += fmt.Sprintf(" (oldest %s)", time.Duration(st.PushOldestSeconds)*time.Second)
				}
				state := st.State
				if st.Reason != "" {
					state += ": " + st.Reason
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%d\t%s\n", st.Name, state, last, ts(st.NextRun), ts(st.NextFull), lag,
					st.Records["deal"], st.Records["contact"], st.Plans, backlog, st.DeadLetters, ts(st.TokenExpiresAt))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json (one object per connection)")
	return cmd
}
