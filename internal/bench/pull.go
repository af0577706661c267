package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/pull"
)

func init() {
	Register(Scenario{
		Name: "pull",
		Doc:  "a first (full) pull of 100,000 deals and their contacts and roles from each sandbox by `mapsync sync run`: records/s against PostgreSQL's COPY of the same rows, API calls against the cheapest route, peak RSS",
		Run:  runPull,
	})
}

// pullDeals is the size: 100,000 deals (about 200,000 contacts and 200,000 roles).
const pullDeals = 100_000

// pullRun is what one CRM's pull measured.
type pullRun struct {
	kind     string
	records  int           // records the pull read (every object, roles included)
	took     time.Duration // the pull's own time, as its summary says
	calls    int64
	minCalls int
	rssMB    float64
	// limit: the COPY of the rows the pull stored, into a fresh database (PostgreSQL only).
	copyRecords int
	copyTook    time.Duration
	// stored is the records (and roles) in the database each second of the pull, for the chart.
	stored Series
}

func (p pullRun) rate() float64 { return float64(p.records) / p.took.Seconds() }

func (p pullRun) copyRate() float64 {
	if p.copyTook <= 0 {
		return 0
	}
	return float64(p.copyRecords) / p.copyTook.Seconds()
}

// runPull runs `mapsync sync run` as a child process against each sandbox in turn (the
// sandboxes run in this process, so the child's peak RSS is mapsync's alone), then, on
// PostgreSQL, COPYs the rows it stored into a fresh database through the pull's own staging and
// merge (store.CopyLimit): the limit the pull's records/s is held against, on the same machine in
// the same run.
func runPull(ctx context.Context, env *Env) (Result, error) {
	var r Result
	exe, err := os.Executable()
	if err != nil {
		return r, fmt.Errorf("find the mapsync executable: %w", err)
	}
	deals := env.Scaled(pullDeals)
	var runs []pullRun
	for _, kind := range []string{"salesforce", "hubspot"} {
		run, err := measurePull(ctx, env, exe, kind, deals)
		if err != nil {
			return r, fmt.Errorf("%s: %w", kind, err)
		}
		runs = append(runs, run)
	}
	var all pullRun
	for _, p := range runs {
		all.records += p.records
		all.took += p.took
		all.calls += p.calls
		all.minCalls += p.minCalls
		all.rssMB = max(all.rssMB, p.rssMB)
		all.copyRecords += p.copyRecords
		all.copyTook += p.copyTook
	}
	rate := Figure{Key: "records_per_s", Value: all.rate(), Unit: "records/s"}
	if all.copyTook > 0 {
		r.Add(rate.AtLeast(0.8*all.copyRate(), "0.8 × COPY"),
			Figure{Key: "copy_limit_records_per_s", Value: all.copyRate(), Unit: "records/s"}.Limit("PostgreSQL COPY of the same rows"))
	} else {
		r.Add(rate)
		r.Notef("no COPY limit on %s: COPY is PostgreSQL's", env.Backend)
	}
	r.Add(Figure{Key: "api_calls", Value: float64(all.calls), Unit: "calls"}.AtMost(float64(all.minCalls), "the cheapest documented route"),
		Figure{Key: "min_api_calls", Value: float64(all.minCalls), Unit: "calls"}.Limit("pull.MinCalls"),
		Figure{Key: "peak_rss_mb", Value: all.rssMB, Unit: "MB"}.Below(200, "target"))
	for _, p := range runs {
		f := Figure{Key: p.kind + "_records_per_s", Value: p.rate(), Unit: "records/s"}
		if p.copyTook > 0 {
			f = f.AtLeast(0.8*p.copyRate(), "0.8 × COPY")
			r.Add(f, Figure{Key: p.kind + "_copy_limit_records_per_s", Value: p.copyRate(), Unit: "records/s"}.Limit("COPY"))
		} else {
			r.Add(f)
		}
		r.Add(Figure{Key: p.kind + "_api_calls", Value: float64(p.calls), Unit: "calls"}.AtMost(float64(p.minCalls), "minimum"),
			Figure{Key: p.kind + "_min_api_calls", Value: float64(p.minCalls), Unit: "calls"}.Limit("pull.MinCalls"),
			Figure{Key: p.kind + "_peak_rss_mb", Value: p.rssMB, Unit: "MB"}.Below(200, "target"))
		note := fmt.Sprintf("%s: %d deals, %d records read in %s by `mapsync sync run` (a first pull, so full), %d API calls (minimum %d)",
			p.kind, deals, p.records, p.took.Round(time.Millisecond), p.calls, p.minCalls)
		if p.copyTook > 0 {
			note += fmt.Sprintf("; COPY of the %d stored records and their roles into a fresh database took %s", p.copyRecords, p.copyTook.Round(time.Millisecond))
		}
		r.Notef("%s", note)
	}
	r.Notef("records/s of both pulls together: all records over the sum of the pulls' times; peak RSS: the larger child's")
	ch := Chart{File: "pull-throughput", Title: fmt.Sprintf("First pull of %d deals: records stored per second (%s)", deals, env.Backend),
		XLabel: "seconds since the pull started", YLabel: "records stored per second (over 3 s)"}
	for _, p := range runs {
		ch.Series = append(ch.Series, p.stored)
	}
	r.Charts = append(r.Charts, ch)
	return r, nil
}

// measurePull pulls one sandbox with a `mapsync sync run` child and measures it.
func measurePull(ctx context.Context, env *Env, exe, kind string, deals int) (pullRun, error) {
	run := pullRun{kind: kind}
	opts := StackOptions{Salesforce: kind == "salesforce", HubSpot: kind == "hubspot", Deals: deals}
	conn := map[string]string{"salesforce": SalesforceConnection, "hubspot": HubSpotConnection}[kind]
	st, err := env.Stack(ctx, opts)
	if err != nil {
		return run, err
	}
	closed := false
	closeStack := func() {
		if !closed {
			closed = true
			st.Close()
		}
	}
	defer closeStack()
	dir, err := os.MkdirTemp("", "mapsync-bench-pull-")
	if err != nil {
		return run, err
	}
	defer os.RemoveAll(dir)
	// The sandboxes run without their simulated limits, and so does the child's governor (else
	// its default 10 or 15 requests/s would set the pace, not mapsync's pull).
	yaml := strings.ReplaceAll(st.ConfigYAML(), "\n    sandbox: true\n", "\n    sandbox: true\n    limits:\n      requests_per_second: 1000000\n")
	cfg := filepath.Join(dir, "mapsync.yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		return run, err
	}
	env.Progressf("%s: `mapsync sync run` of %d deals", kind, deals)
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, exe, "--config", cfg, "--log-level", "error", "sync", "run", "--connection", conn, "-o", "json")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MAPSYNC_DATABASE_URL=") && !strings.HasPrefix(kv, "MAPSYNC_CONFIG=") {
			cmd.Env = append(cmd.Env, kv) // the stack's database and configuration, not the caller's
		}
	}
	if err := cmd.Start(); err != nil {
		return run, fmt.Errorf("mapsync sync run: %w", err)
	}
	// The child's peak RSS is its VmHWM, read while it runs: the high-water mark of its own
	// memory since exec. (rusage's maxrss would also count the parent's pages the child shared
	// between fork and exec: this process holds the sandbox's dataset.)
	done := make(chan struct{})
	var hwm atomic.Int64
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if kb := vmHWM(cmd.Process.Pid); kb > hwm.Load() {
				hwm.Store(kb)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	stored := make(chan Series, 1)
	go func() { stored <- sampleStored(st, kind, done) }()
	err = cmd.Wait()
	close(done)
	run.stored = <-stored
	if err != nil {
		return run, fmt.Errorf("mapsync sync run: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	if hwm.Load() == 0 {
		return run, fmt.Errorf("could not read the peak RSS of mapsync sync run (/proc/PID/status VmHWM)")
	}
	run.rssMB = float64(hwm.Load()) * 1024 / 1e6
	var sum pull.Summary
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		return run, fmt.Errorf("read the summary of sync run: %w", err)
	}
	if sum.Status != store.RunSucceeded {
		return run, fmt.Errorf("sync run: %s: %s", sum.Status, sum.Error)
	}
	if run.took, err = time.ParseDuration(sum.Took); err != nil {
		return run, fmt.Errorf("summary took %q: %w", sum.Took, err)
	}
	read := map[connectors.Object]int{}
	for _, o := range sum.Objects {
		read[o.Object] = o.Read
		run.records += o.Read
	}
	run.calls = sum.APICalls
	run.minCalls = pull.MinCalls(kind, read)
	if env.Backend == store.SQLite || st.Store().Dialect() != store.Postgres {
		return run, nil
	}
	c, err := st.Store().ConnectionByName(ctx, conn)
	if err != nil {
		return run, err
	}
	load, err := st.Store().ReadCopyLoad(ctx, c.ID)
	if err != nil {
		return run, err
	}
	closeStack() // its rows are read; the limit gets a fresh database
	env.Progressf("%s: COPY of the %d stored records into a fresh database", kind, load.Records())
	lim, err := env.Stack(ctx, StackOptions{Salesforce: opts.Salesforce, HubSpot: opts.HubSpot, Deals: 1})
	if err != nil {
		return run, err
	}
	defer lim.Close()
	lc, err := lim.Store().EnsureConnection(ctx, "copy-limit", kind)
	if err != nil {
		return run, err
	}
	if run.copyTook, err = lim.Store().CopyLimit(ctx, lc.ID, load); err != nil {
		return run, err
	}
	run.copyRecords = load.Records()
	return run, nil
}

// sampleStored counts the records and roles written to the stack's database every half second
// until done, and returns the pull's throughput over its run: records stored per second over the
// last pullRateWindow at each count (pages commit thousands of records at a time, so a shorter
// window shows the commits, not the rate).
func sampleStored(st Stack, name string, done <-chan struct{}) Series {
	const (
		every          = 500 * time.Millisecond
		pullRateWindow = 3 * time.Second
	)
	var at []time.Duration
	var counts []int
	// On PostgreSQL the rows written are read from the statistics the server keeps anyway (each
	// backend publishes its counts at most a second after its commits: well inside the window),
	// not counted: a COUNT(*) of a table that grows to 500,000 rows scans it, twice a second, on
	// the cores the pull being measured shares. SQLite keeps no such counts.
	count := `SELECT (SELECT COUNT(*) FROM crm_records) + (SELECT COUNT(*) FROM deal_contacts)`
	if st.Store().Dialect() == store.Postgres {
		count = `SELECT COALESCE(SUM(n_tup_ins + n_tup_upd), 0) FROM pg_stat_user_tables
			WHERE schemaname = current_schema() AND relname IN ('crm_records', 'deal_contacts')`
	}
	t := time.NewTicker(every)
	defer t.Stop()
	start := time.Now()
	at, counts = append(at, 0), append(counts, 0)
	for {
		select {
		case <-done:
			s := Series{Name: name}
			for i := range at {
				j := i
				for j > 0 && at[i]-at[j-1] <= pullRateWindow {
					j--
				}
				if i == j {
					s.X, s.Y = append(s.X, at[i].Seconds()), append(s.Y, 0)
					continue
				}
				s.X = append(s.X, at[i].Seconds())
				s.Y = append(s.Y, float64(counts[i]-counts[j])/(at[i]-at[j]).Seconds())
			}
			return s
		case <-t.C:
		}
		var n int
		err := st.Store().DB().QueryRowContext(context.Background(), count).Scan(&n)
		if err != nil {
			continue // the child may hold the embedded database for a moment: the next count has it
		}
		at, counts = append(at, time.Since(start)), append(counts, n)
	}
}

// vmHWM reads a process's peak resident set size in kB from /proc/PID/status (0 when it cannot:
// the process has ended, or this is not Linux).
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}
