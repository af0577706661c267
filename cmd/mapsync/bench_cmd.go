package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/internal/bench"
	hssandbox "github.com/mapsync/mapsync/sandbox/hubspot"
	sfsandbox "github.com/mapsync/mapsync/sandbox/salesforce"
	"github.com/mapsync/mapsync/secrets"
	"github.com/mapsync/mapsync/server"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/instantiate"
	"github.com/mapsync/mapsync/sync/pull"
)

// defaultBenchDatabaseURL is the PostgreSQL server bench uses when nothing names one (the test
// server of scripts/test.sh).
const defaultBenchDatabaseURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

type benchOptions struct {
	json        bool
	db          string
	databaseURL string
	crmLatency  time.Duration
	scale       float64
	out         string
	cpuProfile  string
}

func newBenchCmd(a *app) *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench [SCENARIO...]",
		Short: "Measure mapsync on the CRM sandboxes and a real database, against its limits and targets",
		Long: `Bench runs named scenarios (all by default) of mapsync's own code against the built-in CRM
sandboxes, started in this process on loopback, and prints one row per figure: scenario, figure,
value, unit, the limit or target it is held against, and pass or FAIL. Every figure is measured in
this run on this machine, whose CPU, memory, Go and database versions are printed first.

Scenarios: ` + benchScenarioList() + `.

The database is PostgreSQL by default: --database-url, else the configuration's database when it is
PostgreSQL, else $MAPSYNC_TEST_DATABASE_URL, else ` + defaultBenchDatabaseURL + `. Each scenario
gets a fresh schema there, dropped when it ends. --db embedded uses the embedded database (SQLite)
in temporary files instead; --db FILE keeps them as FILE-SCENARIO.db (refused if one exists).

--json prints {"scenario": {"figure": value, ...}, ...} instead of the table. --crm-latency makes
the sandboxes answer every API request that much later (80ms mimics the real APIs); --scale shrinks
(or grows) every scenario's size for a quick run. --out DIR writes the pictures (SVG) there;
--cpuprofile FILE a CPU profile of this process while the scenarios run.
Progress goes to stderr. Exit 1 when a scenario could not run; a missed target is a FAIL row.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.validateLogFlags(); err != nil {
				return err
			}
			if o.scale <= 0 || o.scale > 10 {
				return usageError{fmt.Errorf("--scale: want more than 0 and at most 10, got %g", o.scale)}
			}
			if o.crmLatency < 0 {
				return usageError{fmt.Errorf("--crm-latency: want a positive duration, got %s", o.crmLatency)}
			}
			if o.db != "" && o.databaseURL != "" {
				return usageError{errors.New("--db (the embedded database) and --database-url (PostgreSQL) contradict each other")}
			}
			list, err := bench.Select(args)
			if err != nil {
				return usageError{err}
			}
			if a.logLevel == "" {
				a.logLevel = "warn" // the runtime's info lines (every pull run) would drown the progress
			}
			if a.logFormat == "" {
				a.logFormat = "console"
			}
			return a.runBench(cmd.Context(), o, list)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.json, "json", false, "print the figures as JSON instead of a table")
	f.StringVar(&o.db, "db", "", "use the embedded database: 'embedded' (temporary files) or FILE (kept as FILE-SCENARIO.db)")
	f.StringVar(&o.databaseURL, "database-url", "", "PostgreSQL server to measure on, postgres://... (default: the configuration's, $MAPSYNC_TEST_DATABASE_URL, or the local test server)")
	f.DurationVar(&o.crmLatency, "crm-latency", 0, "latency the sandboxes add to every API request, e.g. 80ms")
	f.Float64Var(&o.scale, "scale", 1, "size factor of every scenario, e.g. 0.1 for a quick run")
	f.StringVar(&o.out, "out", "", "write the pictures (SVG) to this folder, e.g. docs/bench")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the scenarios to this file (go tool pprof)")
	return cmd
}

// benchScenarioList names the registered scenarios with what each measures.
func benchScenarioList() string {
	var parts []string
	for _, s := range bench.Scenarios() {
		parts = append(parts, s.Name+" ("+s.Doc+")")
	}
	return strings.Join(parts, "; ")
}

func (a *app) runBench(ctx context.Context, o benchOptions, list []bench.Scenario) error {
	a.setupLogger()
	if os.Getenv(secrets.EnvKey) == "" {
		key, err := secrets.GenerateKey()
		if err != nil {
			return err
		}
		os.Setenv(secrets.EnvKey, key) // this process only: the sandboxes' tokens are throwaway
	}
	dbs, err := a.benchDatabases(ctx, o)
	if err != nil {
		return err
	}
	defer dbs.close()
	machine := dbs.machine(ctx)
	fmt.Fprintf(a.stderr, "bench: %s\n", machine)
	if o.out != "" {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
	}
	outcomes := bench.Run(ctx, list, bench.Options{
		Backend: dbs.backend, Scale: o.scale, CRMLatency: o.crmLatency, Log: a.log, Progress: a.stderr,
		NewStack: func(ctx context.Context, scenario string, so bench.StackOptions) (bench.Stack, error) {
			return a.newBenchStack(ctx, dbs, scenario, so)
		},
	})
	if o.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if o.out != "" {
		for _, oc := range outcomes {
			for _, ch := range oc.Result.Charts {
				path := filepath.Join(o.out, ch.File+".svg")
				if err := bench.WriteSVG(path, ch); err != nil {
					return err
				}
				fmt.Fprintf(a.stderr, "bench: wrote %s\n", path)
			}
		}
	}
	if o.json {
		err = bench.WriteJSON(a.stdout, outcomes)
	} else {
		err = bench.WriteTable(a.stdout, machine, outcomes)
	}
	if err != nil {
		return err
	}
	if errs, _ := bench.Failed(outcomes); errs > 0 {
		return fmt.Errorf("%d of %d scenario(s) could not run (see above)", errs, len(outcomes))
	}
	return nil
}

// benchDBs makes a fresh database for each stack: a PostgreSQL schema or an SQLite file.
type benchDBs struct {
	backend store.Dialect
	pgURL   string  // PostgreSQL: the server's URL
	admin   *sql.DB // PostgreSQL: creates and drops the schemas
	file    string  // SQLite: FILE of --db FILE ("" for temporary files)
	tmp     string  // SQLite: the temporary folder
	n       map[string]int
	log     io.Writer // says which databases it creates
}

func (a *app) benchDatabases(ctx context.Context, o benchOptions) (*benchDBs, error) {
	d := &benchDBs{n: map[string]int{}, log: a.stderr}
	if o.db != "" {
		d.backend = store.SQLite
		if o.db != "embedded" {
			d.file = strings.TrimSuffix(strings.TrimPrefix(o.db, "sqlite:"), ".db")
			return d, nil
		}
		tmp, err := os.MkdirTemp("", "mapsync-bench-")
		if err != nil {
			return nil, err
		}
		d.tmp = tmp
		return d, nil
	}
	d.backend = store.Postgres
	d.pgURL = o.databaseURL
	if d.pgURL == "" {
		if cfg, err := a.loadConfig(); err == nil && isPostgresURL(cfg.Database.URL.Reveal()) {
			d.pgURL = cfg.Database.URL.Reveal()
		} else if err != nil && a.configPath != "" {
			return nil, err // a named configuration that does not load is an error, not a default
		}
	}
	if d.pgURL == "" {
		d.pgURL = os.Getenv("MAPSYNC_TEST_DATABASE_URL")
	}
	if d.pgURL == "" {
		d.pgURL = defaultBenchDatabaseURL
	}
	if !isPostgresURL(d.pgURL) {
		return nil, usageError{fmt.Errorf("--database-url: want postgres://..., got %q (use --db embedded for the embedded database)", redactURL(d.pgURL))}
	}
	admin, err := sql.Open("postgres", d.pgURL)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := admin.PingContext(pctx); err != nil {
		admin.Close()
		return nil, fmt.Errorf("PostgreSQL at %s does not answer: %w (start it, name another with --database-url, or measure the embedded database with --db embedded)", redactURL(d.pgURL), err)
	}
	d.admin = admin
	return d, nil
}

func isPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	return u.Redacted()
}

// machine reads the machine and database versions.
func (d *benchDBs) machine(ctx context.Context) bench.Machine {
	if d.admin != nil {
		return bench.ReadMachine(ctx, d.admin, true)
	}
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return bench.ReadMachine(ctx, nil, false)
	}
	defer db.Close()
	return bench.ReadMachine(ctx, db, false)
}

// create returns a fresh database's URL for one stack of scenario, and how to drop it.
func (d *benchDBs) create(ctx context.Context, scenario string) (string, func(), error) {
	d.n[scenario]++
	name := scenario
	if n := d.n[scenario]; n > 1 {
		name = fmt.Sprintf("%s-%d", scenario, n)
	}
	switch {
	case d.admin != nil:
		b := make([]byte, 4)
		rand.Read(b)
		schema := "mapsync_bench_" + strings.ReplaceAll(name, "-", "_") + "_" + hex.EncodeToString(b)
		if _, err := d.admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
			return "", nil, fmt.Errorf("create schema %s: %w", schema, err)
		}
		u, _ := url.Parse(d.pgURL)
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		fmt.Fprintf(d.log, "bench %s: PostgreSQL schema %s\n", scenario, schema)
		drop := func() {
			dctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if _, err := d.admin.ExecContext(dctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
				fmt.Fprintf(d.log, "bench %s: could not drop schema %s: %v\n", scenario, schema, err)
			}
		}
		return u.String(), drop, nil
	case d.file != "":
		path := d.file + "-" + name + ".db"
		if _, err := os.Stat(path); err == nil {
			return "", nil, fmt.Errorf("--db: %s exists: remove it or name another FILE", path)
		}
		return "sqlite:" + path, func() {}, nil
	default:
		path := filepath.Join(d.tmp, name+".db")
		return "sqlite:" + path, func() {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(path + suffix)
			}
		}, nil
	}
}

func (d *benchDBs) close() {
	if d.admin != nil {
		d.admin.Close()
	}
	if d.tmp != "" {
		os.RemoveAll(d.tmp)
	}
}

// benchStack is a bench.Stack: sandboxes, a fresh database and a runtime built from the config
// `mapsync sandbox --write-config` writes for them.
type benchStack struct {
	a    *app
	rt   *runtime
	sb   *sandboxes
	drop func()
}

var _ bench.Stack = (*benchStack)(nil)

func (a *app) newBenchStack(ctx context.Context, dbs *benchDBs, scenario string, o bench.StackOptions) (_ *benchStack, err error) {
	so := sandboxOptions{deals: o.Deals, seed: o.Seed, noLimits: !o.Limits, hsBurstLimit: o.HubSpotBurstLimit}
	both := !o.Salesforce && !o.HubSpot
	if o.Salesforce || both {
		so.sfAddr = "127.0.0.1:0"
	}
	if o.HubSpot || both {
		so.hsAddr = "127.0.0.1:0"
	}
	sb, err := a.startSandboxes(so)
	if err != nil {
		return nil, err
	}
	st := &benchStack{a: a, sb: sb, drop: func() {}}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	dbURL, drop, err := dbs.create(ctx, scenario)
	if err != nil {
		return nil, err
	}
	st.drop = drop
	cfg, err := config.Load("bench", []byte(sb.configYAML(dbURL)))
	if err != nil {
		return nil, fmt.Errorf("bench config: %w", err)
	}
	cfg.Templates.Dir = ""
	sub := &app{stdout: a.stdout, stderr: a.stderr, log: a.log, cfg: cfg}
	s, err := sub.openStore(ctx, false)
	if err != nil {
		return nil, err
	}
	_, err = s.MigrateUp(ctx)
	s.Close()
	if err != nil {
		return nil, err
	}
	if st.rt, err = sub.newRuntime(ctx); err != nil {
		return nil, err
	}
	return st, nil
}

func (st *benchStack) Store() *store.Store            { return st.rt.store }
func (st *benchStack) Salesforce() *sfsandbox.Sandbox { return st.sb.Salesforce }
func (st *benchStack) HubSpot() *hssandbox.Sandbox    { return st.sb.HubSpot }
func (st *benchStack) SalesforceURL() string          { return st.sb.SalesforceURL }
func (st *benchStack) HubSpotURL() string             { return st.sb.HubSpotURL }
func (st *benchStack) WebhookSecret() string          { return hssandbox.ClientSecret }

func (st *benchStack) Puller(ctx context.Context, connection string, progress func(pull.Progress)) (*pull.Puller, error) {
	return st.rt.puller(ctx, connection, progress)
}

func (st *benchStack) PullAndInstantiate(ctx context.Context, connection string, req pull.Request) error {
	if req.Trigger == "" {
		req.Trigger = store.TriggerManual
	}
	_, err := st.rt.pullOnce(ctx, connection, req, 0, nil)
	return err
}

func (st *benchStack) Instantiator(ctx context.Context, connection string) (*instantiate.Instantiator, error) {
	return st.rt.instantiator(ctx, connection)
}

func (st *benchStack) Connector(ctx context.Context, connection string) (connectors.Connector, error) {
	cn, _, err := st.rt.connection(ctx, connection)
	if err != nil {
		return nil, err
	}
	return st.rt.connector(ctx, cn)
}

func (st *benchStack) Governor(connection string) *connectors.Governor {
	cn, ok := st.rt.cfg.Connection(connection)
	if !ok {
		return nil
	}
	return st.rt.governor(cn)
}

func (st *benchStack) Calls(connection string) (int64, int64) { return st.rt.calls(connection) }

// Server builds the HTTP handler as `mapsync serve` does (rt.daemon in daemon.go): a River
// client, the webhook receivers from the configuration enqueueing each stored batch's job in its
// transaction (enqueueWebhookEvents), the API and the console on the same store and registry.
// Keep it in step with the daemon's wiring. The River client is not started: jobs are inserted
// as serve inserts them, but nothing works them, so what is measured is the receiving. Call it
// once per stack (the metrics register once).
func (st *benchStack) Server(ctx context.Context) (http.Handler, error) {
	jc, err := st.rt.newJobs(ctx, 5*time.Second)
	if err != nil {
		return nil, err
	}
	hooks, err := st.rt.webhooks(ctx, enqueueWebhookEvents(jc), nil)
	if err != nil {
		return nil, err
	}
	h, err := server.New(server.Options{Store: st.rt.store, Logger: st.a.log, Registerer: st.rt.reg, Gatherer: st.rt.reg,
		Deals: dealSource{st.rt}, Webhooks: hooks, Admin: adminSource{st.rt}})
	if err != nil {
		return nil, err
	}
	return st.rt.console(ctx, h, nil)
}

func (st *benchStack) ImportTemplates(ctx context.Context, docs map[string][]byte) error {
	var srcs []templateSource
	for name, data := range docs {
		srcs = append(srcs, templateSource{name: name, data: data})
	}
	return importSources(ctx, st.rt.store, srcs, nil)
}

func (st *benchStack) Close() {
	if st.rt != nil {
		st.rt.Close()
	}
	st.sb.Close()
	st.drop()
}
