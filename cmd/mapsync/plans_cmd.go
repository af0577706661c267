package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/server"
	"github.com/mapsync/mapsync/sync/instantiate"
)

// instantiator builds the plan instantiator of a configured connection.
func (rt *runtime) instantiator(ctx context.Context, name string) (*instantiate.Instantiator, error) {
	cn, sc, err := rt.connection(ctx, name)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(cn.TimeZone)
	if err != nil {
		return nil, err
	}
	return instantiate.New(instantiate.Options{
		Connection: cn.Name, ConnectionID: sc.ID, Kind: cn.Kind, Location: loc, Store: rt.store, Logger: rt.a.log,
	})
}

func newPlansCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "plans", Short: "Create and inspect mutual action plans"}
	var (
		connection, deal, template, output string
	)
	create := &cobra.Command{
		Use:   "create --connection NAME --deal ID [--template KEY]",
		Short: "Create the plan of a pulled deal (once: an existing plan is returned as is)",
		Long: `Create makes the plan of a deal that a pull has stored: from --template, or from the
templates whose selection rules match the deal: the highest-priority one that is not additive, then
every matching additive one (each its own plan). A plan the deal already has comes back unchanged.
With --output json each plan is printed as the API returns it, one JSON object per plan, the main
plan first. Exits 1 when the deal is unknown or matches no template.`,
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
			in, err := rt.instantiator(cmd.Context(), connection)
			if err != nil {
				return err
			}
			results, err := in.ForDeal(cmd.Context(), deal, template)
			var (
				nm *plans.NoMatchError
				ud *instantiate.UnknownDealError
			)
			switch {
			case errors.As(err, &nm):
				return &exitError{code: 1, err: noMatchMessage(nm)}
			case errors.As(err, &ud):
				return fmt.Errorf("%w: pull it first with `mapsync sync run --connection %s`", err, connection)
			}
			// Plans made before a failure are stored: show them, then the error.
			for _, res := range results {
				if output == "json" {
					enc := json.NewEncoder(a.stdout)
					enc.SetIndent("", "  ")
					if err := enc.Encode(planJSON(res.Plan, time.Now())); err != nil {
						return err
					}
				} else {
					printPlan(a, res.Outcome, res.Plan)
				}
			}
			return err
		},
	}
	f := create.Flags()
	f.StringVar(&connection, "connection", "", "connection name (required)")
	f.StringVar(&deal, "deal", "", "the deal's CRM id (required)")
	f.StringVar(&template, "template", "", "template key (default: chosen by the selection rules)")
	f.StringVarP(&output, "output", "o", "text", "text or json (the plan as the API returns it)")
	create.MarkFlagRequired("connection")
	create.MarkFlagRequired("deal")
	cmd.AddCommand(create, newPlansListCmd(a), newPlansShowCmd(a))
	return cmd
}

// noMatchMessage lists, one line each, why every template with a selection rule passed the deal
// over, and the way out.
func noMatchMessage(nm *plans.NoMatchError) error {
	if len(nm.Misses()) == 0 {
		return nm
	}
	var b strings.Builder
	fmt.Fprintf(&b, "deal %s on %s matches no template's selection rule:", nm.DealID, nm.Connection)
	for _, m := range nm.Misses() {
		fmt.Fprintf(&b, "\n  %s: %s", m.Template, m.Reason)
	}
	b.WriteString("\nname one with --template KEY to make its plan anyway")
	return errors.New(b.String())
}

// planJSON is a plan exactly as GET /api/v1/plans/{plan} returns it to the seller side.
func planJSON(p *plans.Plan, now time.Time) server.PlanResponse {
	return server.PlanResponse{Plan: p, Progress: p.Progress(now)}
}

func printPlan(a *app, outcome string, p *plans.Plan) {
	pr := p.Progress(time.Now())
	fmt.Fprintf(a.stdout, "%s plan %s\n  %s (template %s v%d) for deal %s on %s\n", outcome, p.ID, p.Name, p.TemplateKey, p.TemplateVersion, p.DealID, p.Connection)
	actions := 0
	for _, ph := range p.Phases {
		actions += len(ph.Actions)
	}
	fmt.Fprintf(a.stdout, "  %d phases, %d actions, %d members; %d%% complete, status %s\n", len(p.Phases), actions, len(p.Members), pr.PercentComplete, pr.Status)
	for _, ph := range p.Phases {
		fmt.Fprintf(a.stdout, "  - %s\n", ph.Name)
		for _, ac := range ph.Actions {
			due := "no due date"
			if !ac.Due.IsZero() {
				due = "due " + ac.Due.String()
			}
			fmt.Fprintf(a.stdout, "      [%s] %s (%s, %s)\n", ac.Status, ac.Title, ac.OwnerRole, due)
		}
	}
}
