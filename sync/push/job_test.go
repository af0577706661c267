package push_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/internal/jobs"
	"github.com/mapsync/mapsync/internal/metrictest"
	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
	"github.com/mapsync/mapsync/sync/push"
)

const jobTemplate = `key: small
name: Small plan
conversation: {name: "{{deal.name}} plan"}
selection: {rule: '!deal.is_closed'}
roles:
  - {key: owner, label: Seller, side: seller, fill: {from: deal_owner}}
phases:
  - key: main
    name: Main
    actions:
      - {key: call, title: Discovery call, type: task, owner: owner, due: {from: plan_start, days: 1}}
      - {key: sign, title: Sign, type: task, owner: owner, due: {from: plan_start, days: 5}}
`

// fakeEngine stands for the push engine: it records each Push and answers with the error set
// for the connection; drain makes it finish the connection's claimable marks as a push would.
type fakeEngine struct {
	s     *store.Store
	mu    sync.Mutex
	calls map[string][]int64 // connection -> job ids
	errs  map[string]error
	gate  map[string]chan struct{} // a push of the connection waits until it is closed
	drain bool
}

func newFakeEngine(s *store.Store) *fakeEngine {
	return &fakeEngine{s: s, calls: map[string][]int64{}, errs: map[string]error{}, gate: map[string]chan struct{}{}}
}

func (f *fakeEngine) Push(ctx context.Context, connection string, opts push.Options) (push.Summary, error) {
	f.mu.Lock()
	f.calls[connection] = append(f.calls[connection], opts.JobID)
	err, drain, gate := f.errs[connection], f.drain, f.gate[connection]
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return push.Summary{Connection: connection}, ctx.Err()
		}
	}
	if err != nil {
		return push.Summary{Connection: connection}, err
	}
	sum := push.Summary{Connection: connection}
	if drain {
		marks, err := f.s.ClaimPlanMarks(ctx, "fake", 1000, time.Minute)
		if err != nil {
			return sum, err
		}
		for _, m := range marks {
			if m.Connection != connection {
				if _, err := f.s.DonePlanMark(ctx, m.PlanID, -1); err != nil { // release
					return sum, err
				}
				continue
			}
			if _, err := f.s.DonePlanMark(ctx, m.PlanID, m.PlanVersion); err != nil {
				return sum, err
			}
			sum.Written++
		}
	}
	return sum, nil
}

func (f *fakeEngine) callsOf(conn string) []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int64(nil), f.calls[conn]...)
}

// waitCalls waits until conn was pushed n times.
func (f *fakeEngine) waitCalls(t *testing.T, conn string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(f.callsOf(conn)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s pushed %d times within 20s, want %d", conn, len(f.callsOf(conn)), n)
		}
		time.Sleep(10 * time.Millisecond) //nolint:forbidigo // polling the engine's calls until a deadline
	}
}

type bundle struct {
	s       *store.Store
	client  *jobs.Client
	engine  *fakeEngine
	reg     *prometheus.Registry
	started bool
}

// setup opens a store on backend with the push jobs on a River client (not started) and the
// enqueue hook registered with the hook clock now.
func setup(t *testing.T, backend store.Dialect, now func() time.Time) *bundle {
	t.Helper()
	s := storetest.Open(t, backend)
	b := &bundle{s: s, engine: newFakeEngine(s), reg: prometheus.NewRegistry()}
	m, err := push.NewJobMetrics(b.reg, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	workers := jobs.NewWorkers()
	push.AddJobs(workers, push.JobConfig{Engine: b.engine, Store: s, Window: time.Second, Metrics: m, Logger: zerolog.Nop()})
	b.client, err = jobs.New(t.Context(), s, jobs.Config{Workers: workers, Logger: zerolog.Nop(), TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	s.OnPlansMarked(push.EnqueueHook(b.client, time.Second, now))
	t.Cleanup(func() {
		if !b.started {
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 30*time.Second)
		defer cancel()
		if err := b.client.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return b
}

func (b *bundle) start(t *testing.T) {
	t.Helper()
	if err := b.client.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	b.started = true
}

// pushJobs lists the push jobs of conn in any state.
func (b *bundle) pushJobs(t *testing.T, conn string) []*rivertype.JobRow {
	t.Helper()
	res, err := b.client.River().JobList(t.Context(), river.NewJobListParams().Kinds(push.JobKind).First(10000).States())
	if err != nil {
		t.Fatal(err)
	}
	var out []*rivertype.JobRow
	for _, j := range res.Jobs {
		var a push.JobArgs
		if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
			t.Fatal(err)
		}
		if a.Connection == conn {
			out = append(out, j)
		}
	}
	return out
}

// waitJob waits until conn's only push job is in state want and returns it.
func (b *bundle) waitJob(t *testing.T, conn string, want rivertype.JobState) *rivertype.JobRow {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last []*rivertype.JobRow
	for time.Now().Before(deadline) {
		last = b.pushJobs(t, conn)
		if len(last) == 1 && last[0].State == want {
			return last[0]
		}
		time.Sleep(20 * time.Millisecond) //nolint:forbidigo // polling River's table until a deadline
	}
	for _, j := range last {
		t.Logf("job %d: %s, attempt %d, errors %v", j.ID, j.State, j.Attempt, j.Errors)
	}
	t.Fatalf("%s: want one push job %s, got %d jobs", conn, want, len(last))
	return nil
}

// createPlans creates a plan for each deal of conn and returns them.
func createPlans(t *testing.T, s *store.Store, conn string, deals ...string) []*plans.Plan {
	t.Helper()
	tpl, err := plans.Parse([]byte(jobTemplate))
	if err != nil {
		t.Fatal(err)
	}
	tpl.Version = 1
	var out []*plans.Plan
	for _, id := range deals {
		d := plans.Deal{ConnectionName: conn, CRM: "hubspot", ID: id, Name: "Deal " + id, Stage: "open", OwnerID: "o1",
			Owner: &plans.Person{ID: "o1", Name: "Sam Seller", Email: "sam@vendor.test"}}
		p, events, err := plans.Instantiate(tpl, d, time.Date(2026, 3, 6, 15, 0, 0, 0, time.UTC), time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		stored, _, err := s.CreatePlan(t.Context(), p, events)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, stored)
	}
	return out
}

// toggle changes plan p once (an action's status back and forth) through the store.
func toggle(t *testing.T, s *store.Store, id string, i int) {
	t.Helper()
	p, err := s.Plan(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	base := p.Version
	a := p.ActionByKey("call")
	st := plans.StatusDone
	if i%2 == 1 {
		st = plans.StatusNotStarted
	}
	ev, err := p.UpdateAction(plans.Change{By: plans.Actor{ID: "o1", Name: "Sam", Side: plans.SideSeller}, At: time.Date(2026, 3, 7, 0, 0, i, 0, time.UTC)},
		a.ID, plans.ActionPatch{Version: a.Version, Status: &st})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpdatePlan(t.Context(), p, base, ev); err != nil {
		t.Fatal(err)
	}
}

// TestEnqueueCoalesces: plan creations and 50 changes of one window, on two connections, are one
// push job per connection (River's unique insert by args and period, on both databases), each
// run once; a change in a later window is a job of its own.
func TestEnqueueCoalesces(t *testing.T) {
	for _, backend := range storetest.Backends {
		t.Run(string(backend), func(t *testing.T) { testEnqueueCoalesces(t, backend) })
	}
}

func testEnqueueCoalesces(t *testing.T, backend store.Dialect) {
	{
		var mu sync.Mutex
		clock := time.Now()
		now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
		b := setup(t, backend, now)
		hs := createPlans(t, b.s, "hs", "d1", "d2", "d3")
		sf := createPlans(t, b.s, "sf", "o1", "o2")
		all := append(hs, sf...)
		for i := range 50 {
			toggle(t, b.s, all[i%len(all)].ID, i/len(all))
		}
		for _, conn := range []string{"hs", "sf"} {
			js := b.pushJobs(t, conn)
			if len(js) != 1 {
				t.Fatalf("%s: %d push jobs after 50 changes in one window, want 1", conn, len(js))
			}
			if want := clock.Truncate(time.Second).Add(time.Second); !js[0].ScheduledAt.Equal(want) {
				t.Errorf("%s: job scheduled at %s, want the window's end %s", conn, js[0].ScheduledAt, want)
			}
		}
		b.engine.drain = true
		b.start(t)
		first := b.waitJob(t, "hs", rivertype.JobStateCompleted)
		b.waitJob(t, "sf", rivertype.JobStateCompleted)
		if got := b.engine.callsOf("hs"); len(got) != 1 || got[0] != first.ID {
			t.Errorf("hs pushed by jobs %v, want once by job %d", got, first.ID)
		}
		if got := b.engine.callsOf("sf"); len(got) != 1 {
			t.Errorf("sf pushed %d times, want 1", len(got))
		}
		// The next window: a new job, run once.
		mu.Lock()
		clock = clock.Add(time.Second)
		mu.Unlock()
		toggle(t, b.s, hs[0].ID, 100)
		if js := b.pushJobs(t, "hs"); len(js) != 2 {
			t.Fatalf("hs: %d push jobs after a change in the next window, want 2", len(js))
		}
		b.engine.waitCalls(t, "hs", 2)
		deadline := time.Now().Add(20 * time.Second)
		for n := 0.0; n != 2; n = metrictest.Sum(t, b.reg, "mapsync_push_jobs_total", map[string]string{"connection": "hs", "outcome": "succeeded"}) {
			if time.Now().After(deadline) {
				t.Fatalf("mapsync_push_jobs_total{hs,succeeded} = %g, want 2", n)
			}
			time.Sleep(10 * time.Millisecond) //nolint:forbidigo // polling the metric until a deadline
		}
	}
}

// TestJobOutcomes: a connection that needs reauthorisation cancels its job (no retry) while
// another connection's push goes on; a transient failure is retried by River with backoff.
func TestJobOutcomes(t *testing.T) {
	for _, backend := range storetest.Backends {
		t.Run(string(backend), func(t *testing.T) {
			b := setup(t, backend, nil)
			b.engine.errs["revoked"] = fmt.Errorf("push revoked: %w", push.ErrNeedsReauth)
			b.engine.errs["flaky"] = errors.New("crm answered 503")
			b.start(t)
			for _, c := range []string{"revoked", "flaky", "fine"} {
				if _, err := b.client.Insert(t.Context(), push.JobArgs{Connection: c}, push.InsertOpts(time.Now(), time.Second)); err != nil {
					t.Fatal(err)
				}
			}
			b.waitJob(t, "fine", rivertype.JobStateCompleted)
			j := b.waitJob(t, "revoked", rivertype.JobStateCancelled)
			if len(j.Errors) != 1 || j.Attempt != 1 {
				t.Errorf("revoked: attempt %d, errors %v; want one attempt with its error", j.Attempt, j.Errors)
			}
			// River retries it after a backoff that grows with the attempts (about 1s after the
			// first): the job is retryable, never cancelled or discarded, and each attempt's error is kept.
			j = b.waitJob(t, "flaky", rivertype.JobStateRetryable)
			if len(j.Errors) == 0 || j.Errors[0].Error != "crm answered 503" || len(j.Errors) != j.Attempt {
				t.Errorf("flaky: attempt %d, errors %v; want every attempt's error", j.Attempt, j.Errors)
			}
			if n := metrictest.Sum(t, b.reg, "mapsync_push_jobs_total", map[string]string{"connection": "flaky", "outcome": "failed"}); n < 1 {
				t.Errorf("mapsync_push_jobs_total{flaky,failed} = %g, want at least 1", n)
			}
			for conn, outcome := range map[string]string{"revoked": "needs_reauth", "fine": "succeeded"} {
				if n := metrictest.Sum(t, b.reg, "mapsync_push_jobs_total", map[string]string{"connection": conn, "outcome": outcome}); n != 1 {
					t.Errorf("mapsync_push_jobs_total{%s,%s} = %g, want 1", conn, outcome, n)
				}
			}
		})
	}
}

// TestSweep: marks no job covers (written without the hook, or left claimed by a killed push
// whose lease expired) get a push job; a connection whose job waits for a retry or runs (within
// the lease), whose marks are held by a live lease, or that needs authorising again, does not
// get another.
func TestSweep(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		// Plans written by a process without the hook.
		createPlans(t, s, "cli", "c1", "c2")
		createPlans(t, s, "held", "h1")
		createPlans(t, s, "retrying", "r1")
		// "revoked" needs to be authorised again: its pushes would only be cancelled.
		createPlans(t, s, "revoked", "v1")
		if _, err := s.EnsureConnection(ctx, "revoked", "hubspot"); err != nil {
			t.Fatal(err)
		}
		if err := s.NeedsReauth(ctx, "revoked", "invalid_grant: token revoked"); err != nil {
			t.Fatal(err)
		}
		// "held": a push holds the marks with a live lease.
		marks, err := s.ClaimPlanMarks(ctx, "other-process", 100, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range marks {
			if m.Connection != "held" {
				if _, err := s.DonePlanMark(ctx, m.PlanID, -1); err != nil { // release the others
					t.Fatal(err)
				}
			}
		}
		engine := newFakeEngine(s)
		engine.errs["retrying"] = errors.New("crm down")
		workers := jobs.NewWorkers()
		push.AddJobs(workers, push.JobConfig{Engine: engine, Store: s, Window: time.Second, Logger: zerolog.Nop()})
		client, err := jobs.New(ctx, s, jobs.Config{Workers: workers, Logger: zerolog.Nop(), TestOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		b := &bundle{s: s, client: client, engine: engine}
		// "busy" has a push running now (live: it started within the lease).
		createPlans(t, s, "busy", "b1")
		gate := make(chan struct{})
		engine.gate["busy"] = gate
		if _, err := client.Insert(ctx, push.JobArgs{Connection: "busy"}, push.InsertOpts(time.Now(), time.Second)); err != nil {
			t.Fatal(err)
		}
		// "retrying" already has a job waiting for its retry.
		if _, err := client.Insert(ctx, push.JobArgs{Connection: "retrying"}, push.InsertOpts(time.Now(), time.Second)); err != nil {
			t.Fatal(err)
		}
		b.start(t)
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_ = client.Stop(sctx)
		})
		b.started = false // stopped above
		b.waitJob(t, "retrying", rivertype.JobStateRetryable)
		b.waitJob(t, "busy", rivertype.JobStateRunning)
		sweep := func() {
			t.Helper()
			res, err := client.Insert(ctx, push.SweepArgs{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				j, err := client.River().JobGet(ctx, res.Job.ID)
				if err != nil {
					t.Fatal(err)
				}
				if j.State == rivertype.JobStateCompleted {
					return
				}
				if j.State == rivertype.JobStateRetryable || j.State == rivertype.JobStateDiscarded {
					t.Fatalf("sweep failed: %v", j.Errors)
				}
				time.Sleep(20 * time.Millisecond) //nolint:forbidigo // polling River's table until a deadline
			}
			t.Fatal("sweep did not complete within 20s")
		}
		sweep()
		b.waitJob(t, "cli", rivertype.JobStateCompleted)
		if got := engine.callsOf("cli"); len(got) != 1 {
			t.Errorf("cli pushed %d times after the sweep, want 1", len(got))
		}
		if js := b.pushJobs(t, "busy"); len(js) != 1 {
			t.Errorf("busy: %d push jobs while its push runs, want only that one", len(js))
		}
		close(gate)
		b.waitJob(t, "busy", rivertype.JobStateCompleted)
		if js := b.pushJobs(t, "revoked"); len(js) != 0 {
			t.Errorf("revoked: %d push jobs for a connection that needs reauthorisation, want 0", len(js))
		}
		if js := b.pushJobs(t, "held"); len(js) != 0 {
			t.Errorf("held: %d push jobs while a live lease holds its marks, want 0", len(js))
		}
		if js := b.pushJobs(t, "retrying"); len(js) != 1 {
			t.Errorf("retrying: %d jobs; want only the one job waiting for its retry", len(js))
		}
		// The lease of "held" expires (its process was killed): the next sweep covers it.
		if _, err := s.DB().ExecContext(ctx, s.DB().Rebind(`UPDATE plan_marks SET claimed_until = ? WHERE connection = 'held'`), time.Now().Add(-time.Second).UTC()); err != nil {
			t.Fatal(err)
		}
		sweep()
		b.waitJob(t, "held", rivertype.JobStateCompleted)
	})
}

// TestLogClean: push_log rows older than the retention are deleted, newer ones kept.
func TestLogClean(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if err := s.RecordPush(ctx, "hs", []store.PushOutcome{{Object: "deal", CRMID: "new", Outcome: "written", Fields: map[string]any{"a": 1}}}); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if _, err := s.DB().ExecContext(ctx, s.DB().Rebind(`INSERT INTO push_log (connection, object, crm_id, outcome, created_at) VALUES ('hs', 'deal', ?, 'written', ?)`),
				fmt.Sprintf("old%d", i), time.Now().Add(-31*24*time.Hour).UTC()); err != nil {
				t.Fatal(err)
			}
		}
		w := push.NewLogCleanWorker(s, 30*24*time.Hour, zerolog.Nop())
		if err := w.Work(ctx, &river.Job[push.LogCleanArgs]{JobRow: &rivertype.JobRow{ID: 1}}); err != nil {
			t.Fatal(err)
		}
		var ids []string
		if err := s.DB().SelectContext(ctx, &ids, `SELECT crm_id FROM push_log ORDER BY crm_id`); err != nil {
			t.Fatal(err)
		}
		if len(ids) != 1 || ids[0] != "new" {
			t.Errorf("push_log after cleaning: %v, want [new]", ids)
		}
	})
}

// TestBacklogGauges: the backlog and the oldest mark's age are read at scrape.
func TestBacklogGauges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		reg := prometheus.NewRegistry()
		if _, err := push.NewJobMetrics(reg, s, func(c string) bool { return c != "pull-only" }); err != nil {
			t.Fatal(err)
		}
		if _, ok := metrictest.Value(t, reg, "mapsync_push_backlog", map[string]string{"connection": "hs"}); ok {
			t.Fatal("backlog of hs before any plan")
		}
		createPlans(t, s, "hs", "d1", "d2")
		createPlans(t, s, "pull-only", "p1")
		if n, _ := metrictest.Value(t, reg, "mapsync_push_backlog", map[string]string{"connection": "hs"}); n != 2 {
			t.Errorf("mapsync_push_backlog{hs} = %g, want 2", n)
		}
		if _, ok := metrictest.Value(t, reg, "mapsync_push_backlog", map[string]string{"connection": "pull-only"}); ok {
			t.Error("backlog of a connection without a push mapping is reported")
		}
		if age, ok := metrictest.Value(t, reg, "mapsync_push_oldest_mark_age_seconds", map[string]string{"connection": "hs"}); !ok || age < 0 || age > 600 {
			t.Errorf("mapsync_push_oldest_mark_age_seconds{hs} = %g (present %v), want a small age", age, ok)
		}
	})
}
