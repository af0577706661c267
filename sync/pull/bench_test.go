package pull_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/connectors/hubspot"
	"github.com/mapsync/mapsync/connectors/salesforce"
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
// loopback HTTP into a real store, and reports records/s, API calls per the minimum the page
// sizes allow, and how much the live heap grew above its level before the pull (the sandbox's
// own dataset is in that baseline). Run: go test ./sync/pull -run '^$' -bench FullPull -benchtime 1x.
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

func benchFullPull(b *testing.B, kind string, backend store.Dialect, deals int) {
	ctx := context.Background()
	var (
		conn     connectors.Connector
		requests func() int64
		pageSize = map[connectors.Object]int{}
		counts   = map[connectors.Object]int{}
	)
	s := storetest.Open(b, backend)
	sc, _ := s.EnsureConnection(ctx, "bench", kind)
	switch kind {
	case "salesforce":
		sb := sfsandbox.New(sfsandbox.Options{Deals: deals, Seed: 7, DailyLimit: 10_000_000, Logger: zerolog.Nop()})
		srv := httptest.NewServer(sb)
		b.Cleanup(func() { srv.Close(); sb.Close() })
		s.SeedToken(ctx, "bench", &oauth2.Token{RefreshToken: sfsandbox.RefreshToken})
		ts, _ := connectors.NewTokenSource(connectors.TokenSourceOptions{Connection: "bench", Store: s, ExtraKeys: salesforce.TokenExtraKeys(),
			Config: &oauth2.Config{ClientID: sfsandbox.ClientID, ClientSecret: sfsandbox.ClientSecret, Endpoint: salesforce.OAuthEndpoint(srv.URL)}})
		c, err := salesforce.New(salesforce.Options{Connection: "bench", Auth: ts, Instance: connectors.InstancePolicy{Sandbox: true}, Logger: zerolog.Nop()})
		if err != nil {
			b.Fatal(err)
		}
		conn = c
		for _, o := range connectors.Objects {
			pageSize[o] = 2000
		}
		counts[connectors.ObjectDeal] = len(sb.IDs("Opportunity"))
		counts[connectors.ObjectContact] = len(sb.IDs("Contact"))
		counts[connectors.ObjectDealContact] = len(sb.IDs("OpportunityContactRole"))
		counts[connectors.ObjectOwner] = len(sb.IDs("User"))
		requests = func() int64 {
			var n int64
			for _, c := range sb.Counters() {
				n += c.Count
			}
			return n
		}
	case "hubspot":
		sb := hssandbox.New(hssandbox.Options{Deals: deals, Seed: 7, BurstLimit: -1, DailyLimit: -1, SearchPerSecond: -1, Logger: zerolog.Nop()})
		srv := httptest.NewServer(sb)
		b.Cleanup(func() { srv.Close(); sb.Close() })
		c, err := hubspot.New(hubspot.Options{Connection: "bench", BaseURL: srv.URL, Auth: connectors.NewStaticToken(hssandbox.PrivateAppToken), SearchPerSecond: -1, Logger: zerolog.Nop()})
		if err != nil {
			b.Fatal(err)
		}
		conn = c
		pageSize = map[connectors.Object]int{connectors.ObjectDeal: 200, connectors.ObjectContact: 200, connectors.ObjectOwner: 100, connectors.ObjectDealContact: 100}
		counts[connectors.ObjectDeal] = len(sb.IDs("deals"))
		counts[connectors.ObjectContact] = len(sb.IDs("contacts"))
		counts[connectors.ObjectOwner] = 50
		// Contact roles: the deals are listed again (search, 200 a page) and their associations
		// read in batches of 100; the labels once.
		counts[connectors.ObjectDealContact] = counts[connectors.ObjectDeal]
		requests = func() int64 {
			var n int64
			for _, c := range sb.Counts() {
				n += int64(c.N)
			}
			return n
		}
	}
	minCalls := 0
	for o, n := range counts {
		minCalls += (n + pageSize[o] - 1) / pageSize[o]
	}
	if kind == "salesforce" {
		minCalls++ // the token
	} else {
		minCalls += (counts[connectors.ObjectDeal]+199)/200 + 1 // deal listing for roles, labels
	}
	var records int
	for b.Loop() {
		runtime.GC()
		base := liveHeap()
		before := requests()
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
		calls := requests() - before
		b.ReportMetric(float64(calls), "api_calls")
		b.ReportMetric(float64(calls)/float64(minCalls), "calls/min")
		b.ReportMetric(float64(peak-min(peak, base))/(1<<20), "live_heap_growth_MiB")
		b.Logf("%s %s: %d records (%v), %d API calls (minimum %d), took %s", kind, backend, records, objectsRead(sum), calls, minCalls, sum.Took)
	}
	b.ReportMetric(float64(records*b.N)/b.Elapsed().Seconds(), "records/s")
}

func objectsRead(s *pull.Summary) string {
	out := ""
	for _, o := range s.Objects {
		out += fmt.Sprintf("%s=%d ", o.Object, o.Read)
	}
	return out
}
