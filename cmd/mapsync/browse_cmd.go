package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/sync/instantiate"
)

// newDealsCmd is `mapsync deals list`: find a pulled deal's id without opening the database.
func newDealsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "deals", Short: "Find pulled deals"}
	var (
		connection, query, stage, owner, hasPlan, after, output string
		limit                                                   int
	)
	list := &cobra.Command{
		Use:   "list --connection NAME [--filter TEXT] [--stage S] [--owner ID] [--has-plan true|false]",
		Short: "List a connection's live pulled deals by CRM id (name filter, stage, owner, plan or not)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			q := instantiate.ListQuery{Query: query, Stage: stage, Owner: owner, After: after, Limit: limit}
			if hasPlan != "" {
				b, err := strconv.ParseBool(hasPlan)
				if err != nil {
					return usageError{fmt.Errorf("--has-plan: want true or false, got %q", hasPlan)}
				}
				q.HasPlan = &b
			}
			rt, err := a.newRuntime(cmd.Context())
			if err != nil {
				return err
			}
			defer rt.Close()
			deals, next, err := dealSource{rt}.Deals(cmd.Context(), connection, q)
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSONLines(a.stdout, deals)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSTAGE\tAMOUNT\tCLOSE\tOWNER\tPLAN")
			for _, d := range deals {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\t%s\t%s\t%v\n", d.ID, d.Name, d.Stage, d.Amount, d.CloseDate, d.OwnerID, d.HasPlan)
			}
			tw.Flush()
			if next != "" {
				fmt.Fprintf(a.stdout, "more: --after %s\n", next)
			}
			return nil
		},
	}
	f := list.Flags()
	f.StringVar(&connection, "connection", "", "connection name (required)")
	f.StringVar(&query, "filter", "", "deals whose name contains this, ignoring case")
	f.StringVar(&stage, "stage", "", "deals in this stage")
	f.StringVar(&owner, "owner", "", "deals of this owner (CRM id)")
	f.StringVar(&hasPlan, "has-plan", "", "true: deals with a plan; false: without")
	f.StringVar(&after, "after", "", "the cursor printed after the previous page")
	f.IntVar(&limit, "limit", 50, "at most this many")
	f.StringVarP(&output, "output", "o", "text", "text or json (one object per line)")
	list.MarkFlagRequired("connection")
	cmd.AddCommand(list)
	return cmd
}

// newPlansListCmd is `mapsync plans list`.
func newPlansListCmd(a *app) *cobra.Command {
	var (
		connection, deal, status, output string
		limit                            int
	)
	cmd := &cobra.Command{
		Use:   "list [--connection NAME] [--deal ID] [--status active|closed|cancelled]",
		Short: "List plans with their deal, template and status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			rt, err := a.newRuntime(cmd.Context())
			if err != nil {
				return err
			}
			defer rt.Close()
			ps, _, err := rt.store.ListPlans(cmd.Context(), plans.PlanFilter{Connection: connection, DealID: deal, Status: plans.PlanStatus(status), Limit: limit})
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSONLines(a.stdout, ps)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PLAN\tCONNECTION\tDEAL\tTEMPLATE\tSTATUS\tNAME")
			for _, p := range ps {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s v%d\t%s\t%s\n", p.ID, p.Connection, p.DealID, p.TemplateKey, p.TemplateVersion, p.Status, p.Name)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&connection, "connection", "", "only this connection's plans")
	f.StringVar(&deal, "deal", "", "only this deal's plans")
	f.StringVar(&status, "status", "", "only plans with this status")
	f.IntVar(&limit, "limit", 50, "at most this many")
	f.StringVarP(&output, "output", "o", "text", "text or json (one object per line)")
	return cmd
}

// newPlansShowCmd is `mapsync plans show ID`.
func newPlansShowCmd(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "show PLAN_ID",
		Short: "Show one plan: phases and actions with status, role and due date",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			rt, err := a.newRuntime(cmd.Context())
			if err != nil {
				return err
			}
			defer rt.Close()
			p, err := rt.store.Plan(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("plan %q: %w", args[0], err)
			}
			if output == "json" {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(p)
			}
			printPlan(a, string(p.Status), p)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}
