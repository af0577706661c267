package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/mapsync/mapsync/config"
	exampletemplates "github.com/mapsync/mapsync/examples/templates"
	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/secrets"
	"github.com/mapsync/mapsync/server"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/pull"
)

func newDemoCmd(a *app) *cobra.Command {
	var (
		deals    int
		seed     uint64
		database string
		serve    bool
		addr     string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run mapsync end to end on the embedded database against the built-in CRM sandboxes",
		Long: `Demo needs no account and no setup. It starts the Salesforce and HubSpot sandboxes on loopback,
creates an embedded database, imports the example templates, pulls both CRMs, gives every open
deal its mutual action plan, moves one plan forward as a seller would, and prints what happened.
With --serve it then serves the plan API and prints a token and curl commands to try.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.validateLogFlags(); err != nil {
				return err
			}
			if a.logFormat == "" {
				a.logFormat = "console"
			}
			if a.logLevel == "" {
				a.logLevel = "warn"
			}
			return a.runDemo(cmd.Context(), demoOptions{deals: deals, seed: seed, database: database, serve: serve, addr: addr})
		},
	}
	f := cmd.Flags()
	f.IntVar(&deals, "deals", 200, "deals per sandbox")
	f.Uint64Var(&seed, "seed", 1, "dataset seed")
	f.StringVar(&database, "database", "", "database URL (default: a new SQLite file in a temporary folder)")
	f.BoolVar(&serve, "serve", false, "serve the plan API afterwards until interrupted")
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "listen address with --serve")
	return cmd
}

type demoOptions struct {
	deals    int
	seed     uint64
	database string
	serve    bool
	addr     string
}

func (a *app) runDemo(ctx context.Context, o demoOptions) error {
	a.setupLogger()
	out := a.stdout
	step := func(format string, args ...any) { fmt.Fprintf(out, "\n==> "+format+"\n", args...) }

	if os.Getenv(secrets.EnvKey) == "" {
		key, err := secrets.GenerateKey()
		if err != nil {
			return err
		}
		os.Setenv(secrets.EnvKey, key) // this process only: the demo's tokens are throwaway
	}
	if o.database == "" {
		dir, err := os.MkdirTemp("", "mapsync-demo-")
		if err != nil {
			return err
		}
		o.database = "sqlite:" + filepath.Join(dir, "demo.db")
	}

	step("starting the CRM sandboxes (%d deals each, seed %d)", o.deals, o.seed)
	sb, err := a.startSandboxes(sandboxOptions{sfAddr: "127.0.0.1:0", hsAddr: "127.0.0.1:0", deals: o.deals, seed: o.seed})
	if err != nil {
		return err
	}
	defer sb.Close()
	fmt.Fprintf(out, "    Salesforce %s\n    HubSpot    %s\n", sb.SalesforceURL, sb.HubSpotURL)

	cfg, err := config.Load("demo", []byte(sb.configYAML(o.database)))
	if err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	cfg.Templates.Dir = ""
	a.cfg = cfg
	a.setupLogger()

	step("creating the database %s", o.database)
	s, err := a.openStore(ctx, false)
	if err != nil {
		return err
	}
	applied, err := s.MigrateUp(ctx)
	s.Close()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "    %d migration(s) applied\n", len(applied))

	rt, err := a.newRuntime(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()

	step("importing the example templates")
	files, err := fs.Glob(exampletemplates.FS, "*.yaml")
	if err != nil {
		return err
	}
	srcs, err := readTemplates(exampletemplates.FS, files)
	if err != nil {
		return err
	}
	if err := importSources(ctx, rt.store, srcs, func(t *plans.Template, v int, _ bool) {
		how := selectionLabel(t)
		if t.Selection != nil && !t.Selection.Additive {
			how = fmt.Sprintf("priority %3d", t.Selection.Priority)
		}
		fmt.Fprintf(out, "    %-26s v%d  %-12s  %s\n", t.Key, v, how, t.Name)
	}); err != nil {
		return err
	}

	var samplePlan *plans.Plan
	for _, cn := range cfg.Connections {
		step("pulling %s", cn.Name)
		p, err := rt.puller(ctx, cn.Name, nil)
		if err != nil {
			return err
		}
		sum, err := p.Run(ctx, pull.Request{Trigger: store.TriggerManual})
		if err != nil {
			return err
		}
		printSummary(a, sum)

		in, err := rt.instantiator(ctx, cn.Name)
		if err != nil {
			return err
		}
		is, err := in.CatchUp(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "    plans: %d deals evaluated, %d plans created, %d already had one, %d closed or matching no template\n",
			is.Evaluated, is.Created, is.Existing, is.NoMatch)

		again, err := p.Run(ctx, pull.Request{Trigger: store.TriggerManual})
		if err != nil {
			return err
		}
		changed := 0
		for _, os := range again.Objects {
			changed += os.Inserted + os.Updated
		}
		fmt.Fprintf(out, "    a second pull right after: %d API calls, %d records changed, %s\n", again.APICalls, changed, again.Took)

		if samplePlan == nil {
			if samplePlan, err = pickSample(ctx, rt.store, cn.Name); err != nil {
				return err
			}
		}
	}
	if samplePlan == nil {
		return errors.New("no plan was created: no open deal matched a template")
	}

	step("one of the plans")
	printPlan(a, "sample", samplePlan)

	step("the seller completes the first two actions")
	svc, err := plans.NewService(rt.store, plans.ServiceOptions{})
	if err != nil {
		return err
	}
	seller := plans.Actor{ID: "demo-seller", Name: "Demo Seller", Side: plans.SideSeller}
	done := 0
	for _, ph := range samplePlan.Phases {
		for _, ac := range ph.Actions {
			if done == 2 {
				break
			}
			status := plans.StatusDone
			if _, _, err := svc.Change(ctx, samplePlan.ID, seller, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
				cur, err := actionVersion(p, ac.ID)
				if err != nil {
					return nil, err
				}
				return p.UpdateAction(c, ac.ID, plans.ActionPatch{Version: cur, Status: &status})
			}); err != nil {
				return fmt.Errorf("complete %q: %w", ac.Title, err)
			}
			fmt.Fprintf(out, "    done: %s\n", ac.Title)
			done++
		}
	}
	updated, err := rt.store.Plan(ctx, samplePlan.ID)
	if err != nil {
		return err
	}
	pr := updated.Progress(time.Now())
	fmt.Fprintf(out, "    progress %d%% (buyer view %d%%), status %s, next: %s\n", pr.PercentComplete, pr.BuyerPercentComplete, pr.Status, pr.NextActionTitle)
	events, err := rt.store.Events(ctx, samplePlan.ID, "", 100)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "    %d events recorded for this plan (GET /api/v1/plans/%s/events)\n", len(events), samplePlan.ID)

	if !o.serve {
		fmt.Fprintf(out, "\nDone. Run `mapsync demo --serve` to explore the plan API, or `mapsync sandbox --help` to serve the CRM sandboxes alone.\n")
		return nil
	}
	tok, err := rt.store.CreateAPIToken(ctx, fmt.Sprintf("demo-%d", time.Now().Unix()))
	if err != nil {
		return err
	}
	h, err := server.New(server.Options{Store: rt.store, Logger: a.log, Registerer: rt.reg, Gatherer: rt.reg})
	if err != nil {
		return err
	}
	return a.serveHTTP(ctx, o.addr, h, func(ad net.Addr) {
		base := "http://" + ad.String()
		step("serving the plan API on %s (Ctrl-C stops)", base)
		fmt.Fprintf(out, "    export TOKEN=%s\n", tok)
		fmt.Fprintf(out, "    curl -s -H \"Authorization: Bearer $TOKEN\" %s/api/v1/plans?limit=5\n", base)
		fmt.Fprintf(out, "    curl -s -H \"Authorization: Bearer $TOKEN\" %s/api/v1/plans/%s\n", base, samplePlan.ID)
		fmt.Fprintf(out, "    curl -s -H \"Authorization: Bearer $TOKEN\" '%s/api/v1/plans/%s?audience=buyer'\n", base, samplePlan.ID)
		fmt.Fprintf(out, "    curl -s %s/metrics | grep mapsync_\n", base)
	})
}

// actionVersion returns the current version of an action.
func actionVersion(p *plans.Plan, actionID string) (int, error) {
	for _, ph := range p.Phases {
		for _, ac := range ph.Actions {
			if ac.ID == actionID {
				return ac.Version, nil
			}
		}
	}
	return 0, fmt.Errorf("action %s not found", actionID)
}

// pickSample returns a plan worth showing: the richest on-track one among the first plans.
func pickSample(ctx context.Context, s *store.Store, connection string) (*plans.Plan, error) {
	list, _, err := s.ListPlans(ctx, plans.PlanFilter{Connection: connection, Limit: 100})
	if err != nil {
		return nil, err
	}
	var best *plans.Plan
	bestActions := -1
	for _, ps := range list {
		p, err := s.Plan(ctx, ps.ID)
		if err != nil {
			return nil, err
		}
		if p.Progress(time.Now()).Status != plans.ProgressOnTrack {
			continue
		}
		n := 0
		for _, ph := range p.Phases {
			n += len(ph.Actions)
		}
		if n > bestActions && n <= 20 {
			best, bestActions = p, n
		}
	}
	if best == nil && len(list) > 0 {
		return s.Plan(ctx, list[0].ID)
	}
	return best, nil
}
