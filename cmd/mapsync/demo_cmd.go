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
	sfsandbox "github.com/mapsync/mapsync/sandbox/salesforce"
	"github.com/mapsync/mapsync/secrets"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/pull"
)

func newDemoCmd(a *app) *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run mapsync end to end on the embedded database against the built-in CRM sandboxes",
		Long: `Demo needs no account and no setup. It starts the Salesforce and HubSpot sandboxes on loopback,
creates an embedded database, imports the example templates, pulls both CRMs, gives every open
deal its mutual action plan, moves one plan forward as a seller would, and prints what happened.
With --serve it then serves the web console and the plan API, and prints the console's URL, an
API token to sign in with, and curl commands to try.

The database is a temporary SQLite file, removed when the demo ends, unless --database names one
to keep (e.g. --database sqlite:demo.db). --serve checks that --addr is free before it starts.`,
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
			return a.runDemo(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.deals, "deals", 200, "deals per sandbox")
	f.Uint64Var(&o.seed, "seed", 1, "dataset seed")
	f.StringVar(&o.database, "database", "", "database URL to create and keep, e.g. sqlite:demo.db (default: a temporary SQLite file, removed at the end)")
	f.BoolVar(&o.serve, "serve", false, "serve the plan API afterwards until interrupted")
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address with --serve")
	return cmd
}

// demoSchedule is each connection's incremental pull schedule under demo --serve.
const demoSchedule = "@every 1m"

type demoOptions struct {
	deals    int
	seed     uint64
	database string
	serve    bool
	addr     string
}

// demo is one run of the demo story: what its steps share.
type demo struct {
	a   *app
	o   demoOptions
	cfg *config.Config
	sb  *sandboxes
	rt  *runtime
	// sample is the plan the story shows and moves forward.
	sample *plans.Plan
	// ln is the daemon's listener (--serve's address, else a loopback port), base its URL.
	ln   net.Listener
	base string
	// The daemon, started by the webhook chapter.
	stopDaemon context.CancelFunc
	daemonDone chan error
}

// demoStep is one chapter of the story: a heading, then what it does and prints.
type demoStep struct {
	title string
	run   func(ctx context.Context) error
}

// steps is the story, in order. A new chapter (webhooks, push) is one more entry here and one
// method on demo.
func (d *demo) steps() []demoStep {
	var steps []demoStep
	steps = append(steps, demoStep{"importing the example templates", d.importTemplates})
	for _, cn := range d.cfg.Connections {
		steps = append(steps, demoStep{"pulling " + cn.Name, func(ctx context.Context) error { return d.pull(ctx, cn.Name) }})
	}
	steps = append(steps,
		demoStep{"one of the plans", d.showSample},
		demoStep{"the seller completes the first two actions", d.completeActions},
		demoStep{"webhooks: a deal created and one archived in the HubSpot sandbox", d.webhooks},
	)
	return steps
}

func (d *demo) printf(format string, args ...any) { fmt.Fprintf(d.a.stdout, format, args...) }

func (d *demo) step(format string, args ...any) { d.printf("\n==> "+format+"\n", args...) }

func (a *app) runDemo(ctx context.Context, o demoOptions) error {
	a.setupLogger()
	d := &demo{a: a, o: o}

	// --serve: take the address first, so a busy port fails now, not after the whole story.
	if o.serve {
		var err error
		if d.ln, err = net.Listen("tcp", o.addr); err != nil {
			return fmt.Errorf("--addr: listen on %s: %w", o.addr, err)
		}
		defer d.ln.Close()
	}
	if os.Getenv(secrets.EnvKey) == "" {
		key, err := secrets.GenerateKey()
		if err != nil {
			return err
		}
		os.Setenv(secrets.EnvKey, key) // this process only: the demo's tokens are throwaway
	}
	if d.o.database == "" {
		dir, err := os.MkdirTemp("", "mapsync-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir) // runs last, after the store is closed
		d.o.database = "sqlite:" + filepath.Join(dir, "demo.db")
	}

	d.step("starting the CRM sandboxes (%d deals each, seed %d)", o.deals, o.seed)
	sb, err := a.startSandboxes(sandboxOptions{sfAddr: "127.0.0.1:0", hsAddr: "127.0.0.1:0", deals: o.deals, seed: o.seed})
	if err != nil {
		return err
	}
	defer sb.Close()
	d.sb = sb
	d.printf("    Salesforce %s\n    HubSpot    %s\n", sb.SalesforceURL, sb.HubSpotURL)

	if d.cfg, err = config.Load("demo", []byte(sb.configYAML(d.o.database))); err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	if o.serve {
		// Served, each connection also pulls on a schedule, as a configured daemon would.
		for i := range d.cfg.Connections {
			if d.cfg.Connections[i].Schedule == nil {
				every := demoSchedule
				d.cfg.Connections[i].Schedule = &every
			}
		}
	}
	d.cfg.Templates.Dir = ""
	a.cfg = d.cfg
	a.setupLogger()

	d.step("creating the database %s", d.o.database)
	s, err := a.openStore(ctx, false)
	if err != nil {
		return err
	}
	applied, err := s.MigrateUp(ctx)
	s.Close()
	if err != nil {
		return err
	}
	d.printf("    %d migration(s) applied\n", len(applied))

	if d.rt, err = a.newRuntime(ctx); err != nil {
		return err
	}
	defer d.rt.Close()

	for _, st := range d.steps() {
		d.step("%s", st.title)
		if err := st.run(ctx); err != nil {
			return errors.Join(err, d.waitDaemon(true))
		}
	}
	if !o.serve {
		if err := d.waitDaemon(true); err != nil {
			return err
		}
		d.printf("\nDone. Run `mapsync demo --serve` to explore the plan API, or `mapsync sandbox --help` to serve the CRM sandboxes alone.\n")
		return nil
	}
	return d.serve(ctx)
}

func (d *demo) importTemplates(ctx context.Context) error {
	files, err := fs.Glob(exampletemplates.FS, "*.yaml")
	if err != nil {
		return err
	}
	srcs, err := readTemplates(exampletemplates.FS, files)
	if err != nil {
		return err
	}
	return importSources(ctx, d.rt.store, srcs, func(t *plans.Template, v int, _ bool) {
		how := selectionLabel(t)
		if t.Selection != nil && !t.Selection.Additive {
			how = fmt.Sprintf("priority %3d", t.Selection.Priority)
		}
		d.printf("    %-26s v%d  %-12s  %s\n", t.Key, v, how, t.Name)
	})
}

// pull runs a connection's first pull with its plan catch-up, as `sync run` does, then a second
// pull to show what an idle incremental run costs.
func (d *demo) pull(ctx context.Context, connection string) error {
	first, err := d.rt.pullOnce(ctx, connection, pull.Request{Trigger: store.TriggerManual}, 0, nil)
	if err != nil {
		return err
	}
	printSummary(d.a, first.Pull)
	printPlans(d.a, first)

	again, err := d.rt.pullOnce(ctx, connection, pull.Request{Trigger: store.TriggerManual}, 0, nil)
	if err != nil {
		return err
	}
	changed := 0
	for _, os := range again.Pull.Objects {
		changed += os.Inserted + os.Updated
	}
	d.printf("\na second pull right after: %d API calls, %d records changed, %s\n", again.Pull.APICalls, changed, again.Pull.Took)
	if d.sample == nil {
		d.sample, err = pickSample(ctx, d.rt.store, connection)
	}
	return err
}

func (d *demo) showSample(context.Context) error {
	if d.sample == nil {
		return errors.New("no plan was created: no open deal matched a template")
	}
	printPlan(d.a, "sample", d.sample)
	return nil
}

func (d *demo) completeActions(ctx context.Context) error {
	svc, err := plans.NewService(d.rt.store, plans.ServiceOptions{})
	if err != nil {
		return err
	}
	seller := plans.Actor{ID: "demo-seller", Name: "Demo Seller", Side: plans.SideSeller}
	done := 0
	for _, ph := range d.sample.Phases {
		for _, ac := range ph.Actions {
			if done == 2 {
				break
			}
			status := plans.StatusDone
			if _, _, err := svc.Change(ctx, d.sample.ID, seller, func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
				cur, err := actionVersion(p, ac.ID)
				if err != nil {
					return nil, err
				}
				return p.UpdateAction(c, ac.ID, plans.ActionPatch{Version: cur, Status: &status})
			}); err != nil {
				return fmt.Errorf("complete %q: %w", ac.Title, err)
			}
			d.printf("    done: %s\n", ac.Title)
			done++
		}
	}
	updated, err := d.rt.store.Plan(ctx, d.sample.ID)
	if err != nil {
		return err
	}
	pr := updated.Progress(time.Now())
	d.printf("    progress %d%% (buyer view %d%%), status %s, next: %s\n", pr.PercentComplete, pr.BuyerPercentComplete, pr.Status, pr.NextActionTitle)
	events, err := d.rt.store.Events(ctx, d.sample.ID, "", 100)
	if err != nil {
		return err
	}
	d.printf("    %d events recorded for this plan (GET /api/v1/plans/%s/events)\n", len(events), d.sample.ID)
	return nil
}

// serve keeps the daemon the webhook chapter started (as `mapsync serve` runs it: the plan API,
// the webhook receivers, River with its webhook and schedule jobs) until ctx ends; the sandboxes
// send their webhooks to it and each connection pulls on a schedule.
func (d *demo) serve(ctx context.Context) error {
	if d.daemonDone == nil {
		if err := d.startDaemon(ctx); err != nil {
			return err
		}
	}
	tok, err := d.rt.store.CreateAPIToken(ctx, fmt.Sprintf("demo-%d", time.Now().Unix()))
	if err != nil {
		return errors.Join(err, d.waitDaemon(true))
	}
	base := d.base
	if d.sb.Salesforce != nil {
		if _, err := d.sb.Salesforce.ConfigureOutbound(sfsandbox.OutboundConfig{ListenerURL: base + "/webhooks/salesforce/sandbox-salesforce",
			Rule: sfsandbox.RuleAnyChange}); err != nil {
			return errors.Join(err, d.waitDaemon(true))
		}
	}
	d.step("serving on %s: the web console, the plan API, the sandboxes' webhooks and the schedules (Ctrl-C stops)", base)
	d.printf("    console: open %s/console/ and sign in with the API token below\n", base)
	d.printf("    plan room (seller view): %s/room/%s\n", base, d.sample.ID)
	if link, who, err := demoBuyerLink(ctx, d.rt.store, d.sample, base); err != nil {
		d.printf("    (no buyer link: %v)\n", err)
	} else {
		d.printf("    buyer link for %s (open it in another browser or a private window): %s\n", who, link)
	}
	for _, cn := range d.cfg.Connections {
		if cn.Schedule != nil {
			d.printf("    %s pulls on schedule %q\n", cn.Name, *cn.Schedule)
		}
	}
	d.printf("    export TOKEN=%s\n", tok)
	d.printf("    curl -s -H \"Authorization: Bearer $TOKEN\" %s/api/v1/plans?limit=5\n", base)
	d.printf("    curl -s -H \"Authorization: Bearer $TOKEN\" %s/api/v1/plans/%s\n", base, d.sample.ID)
	d.printf("    curl -s -H \"Authorization: Bearer $TOKEN\" '%s/api/v1/plans/%s?audience=buyer'\n", base, d.sample.ID)
	d.printf("    curl -s %s/metrics | grep mapsync_\n", base)
	return d.waitDaemon(false)
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
