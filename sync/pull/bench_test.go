package pull_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/connectors/hubspot"
	"github.com/mapsync/mapsync/connectors/salesforce"
	"github.com/mapsync/mapsync/sandbox/fakedata"
	hssandbox "github.com/mapsync/mapsync/sandbox/hubspot"
	sfsandbox "github.com/mapsync/mapsync/sandbox/salesforce"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
	"github.com/mapsync/mapsync/sync/pull"
)

// benchDeals is the dataset size of BenchmarkFullPull: MAPSYNC_BENCH_DEALS, default 100,000
// deals (about 200,000 contacts and 200,000 contact roles).
func benchDeals() int {
	if n, err := strconv.Atoi(os.Getenv("MAPSYNC_BENCH_DEALS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// heapSampler records the peak live heap (as of each GC cycle, runtime/metrics
// /gc/heap/live:bytes) while it runs: memory that is held, not garbage awaiting collection.
type heapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func sampleHeap() *heapSampler {
	h := &heapSampler{stop: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if v := liveHeap(); v > h.peak.Load() {
				h.peak.Store(v)
			}
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) Stop() uint64 { close(h.stop); h.wg.Wait(); return h.peak.Load() }

// BenchmarkFullPull pulls a whole CRM (owners, contacts, deals, contact roles) from a sandbox over
// loopback HTTP into a real store, and reports records/s, API calls against pull.MinCalls (the
// cheapest documented route), and how much the live heap grew during the pull. On PostgreSQL it
// then measures the limit in the same run: COPY of the very rows the pull stored into the same
// tables and indexes of a fresh schema (store.CopyLimit), reported as copy_limit_records/s and the
// pull's share of it (of_copy_limit). The sandbox runs as its own process (`mapsync sandbox
// --no-limits`), as a CRM would: its dataset is not in this process's heap, and its CPU is its
// own. Run:
//
//	go test ./sync/pull -run '^$' -bench FullPull -benchtime 1x
func BenchmarkFullPull(b *testing.B) {
	deals := benchDeals()
	for _, kind := range []string{"salesforce", "hubspot"} {
		for _, backend := range storetest.Backends {
			b.Run(kind+"/"+string(backend), func(b *testing.B) {
				benchFullPull(b, kind, backend, deals)
			})
		}
	}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// sandboxProcess starts `mapsync sandbox` for one CRM and returns its URL.
func sandboxProcess(b *testing.B, kind string, deals int) string {
	b.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mapsync-bench-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "mapsync")
		out, err := exec.Command("go", "build", "-o", binPath, "../../cmd/mapsync").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build mapsync: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	flag := map[string]string{"salesforce": "--salesforce-addr", "hubspot": "--hubspot-addr"}[kind]
	cmd := exec.Command(binPath, "--log-level", "error", "sandbox", flag, "127.0.0.1:0", "--deals", strconv.Itoa(deals), "--seed", "7", "--no-limits")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	prefix := map[string]string{"salesforce": "Salesforce sandbox: ", "hubspot": "HubSpot sandbox: "}[kind]
	for sc.Scan() {
		if url, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			go io.Copy(io.Discard, stdout) //nolint:errcheck // keep the pipe drained
			return url
		}
	}
	b.Fatalf("sandbox printed no %q line: %v", prefix, sc.Err())
	return ""
}

func benchFullPull(b *testing.B, kind string, backend store.Dialect, deals int) {
	ctx := context.Background()
	var (
		conn   connectors.Connector
		counts = map[connectors.Object]int{}
	)
	ds := fakedata.Generate(fakedata.Options{Deals: deals, Seed: 7})
	counts[connectors.ObjectDeal] = len(ds.Deals)
	counts[connectors.ObjectContact] = len(ds.Contacts)
	counts[connectors.ObjectOwner] = len(ds.Owners)
	for _, d := range ds.Deals {
		counts[connectors.ObjectDealContact] += len(d.Roles)
	}
	ds = nil
	s := storetest.Open(b, backend)
	sc, _ := s.EnsureConnection(ctx, "bench", kind)
	metrics, _ := connectors.NewMetrics(nil)
	url := sandboxProcess(b, kind, deals)
	switch kind {
	case "salesforce":
		s.SeedToken(ctx, "bench", &oauth2.Token{RefreshToken: sfsandbox.RefreshToken})
		ts, _ := connectors.NewTokenSource(connectors.TokenSourceOptions{Connection: "bench", Store: s, ExtraKeys: salesforce.TokenExtraKeys(), Metrics: metrics,
			Config: &oauth2.Config{ClientID: sfsandbox.ClientID, ClientSecret: sfsandbox.ClientSecret, Endpoint: salesforce.OAuthEndpoint(url)}})
		c, err := salesforce.New(salesforce.Options{Connection: "bench", Auth: ts, Instance: connectors.InstancePolicy{Sandbox: true}, Metrics: metrics, Logger: zerolog.Nop()})
		if err != nil {
			b.Fatal(err)
		}
		conn = c
	case "hubspot":
		// A first pull is full: the list endpoint, 100 a page, for every object; the contact
		// roles batch-read the associations of the deals the deal pull delivers, 1,000 a call.
		c, err := hubspot.New(hubspot.Options{Connection: "bench", BaseURL: url, Auth: connectors.NewStaticToken(hssandbox.PrivateAppToken), SearchPerSecond: -1, Metrics: metrics, Logger: zerolog.Nop()})
		if err != nil {
			b.Fatal(err)
		}
		conn = c
	}
	minCalls := pull.MinCalls(kind, counts)
	var records int
	for b.Loop() {
		runtime.GC()
		base := liveHeap()
		before, _ := metrics.Calls("bench")
		h := sampleHeap()
		p, err := pull.New(pull.Options{Connection: "bench", ConnectionID: sc.ID, Connector: conn, Store: s, Logger: zerolog.Nop()})
		if err != nil {
			b.Fatal(err)
		}
		sum, err := p.Run(ctx, pull.Request{})
		peak := h.Stop()
		if err != nil {
			b.Fatal(err)
		}
		records = 0
		for _, o := range sum.Objects {
			records += o.Read
		}
		after, _ := metrics.Calls("bench") // API requests; the OAuth token request is not one
		calls := after - before
		b.ReportMetric(float64(calls), "api_calls")
		b.ReportMetric(float64(calls)/float64(minCalls), "calls/min")
		b.ReportMetric(float64(peak-min(peak, base))/(1<<20), "live_heap_growth_MiB")
		b.Logf("%s %s: %d records (%v), %d API calls (minimum %d), took %s", kind, backend, records, objectsRead(sum), calls, minCalls, sum.Took)

		// Then an incremental pull with nothing changed.
		b.StopTimer()
		before, _ = metrics.Calls("bench")
		idle, err := p.Run(ctx, pull.Request{})
		if err != nil {
			b.Fatal(err)
		}
		after, _ = metrics.Calls("bench")
		b.ReportMetric(float64(after-before), "idle_api_calls")
		b.ReportMetric(float64(idle.Duration.Milliseconds()), "idle_ms")
		b.StartTimer()
	}
	rps := float64(records*b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rps, "records/s")
	if backend != store.Postgres {
		return
	}
	// The limit: PostgreSQL's COPY of the very rows the pull stored, into the same tables and
	// indexes of a fresh schema, staged and merged as pull pages are, with nothing else to do.
	load, err := s.ReadCopyLoad(ctx, sc.ID)
	if err != nil {
		b.Fatal(err)
	}
	fresh := storetest.Open(b, store.Postgres)
	fc, err := fresh.EnsureConnection(ctx, "limit", kind)
	if err != nil {
		b.Fatal(err)
	}
	took, err := fresh.CopyLimit(ctx, fc.ID, load)
	if err != nil {
		b.Fatal(err)
	}
	limit := float64(load.Records()) / took.Seconds()
	b.ReportMetric(limit, "copy_limit_records/s")
	b.ReportMetric(rps/limit, "of_copy_limit")
	b.Logf("COPY limit: %d records and %d roles in %s", load.Records(), load.Roles(), took.Round(time.Millisecond))
}

func objectsRead(s *pull.Summary) string {
	out := ""
	for _, o := range s.Objects {
		out += fmt.Sprintf("%s=%d ", o.Object, o.Read)
	}
	return out
}
