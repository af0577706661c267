package hubspot

import (
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/mapsync/mapsync/connectors"
	sandbox "github.com/mapsync/mapsync/sandbox/hubspot"
)

// countingTransport counts the requests that reach the network.
type countingTransport struct {
	next  http.RoundTripper
	calls atomic.Int64
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.calls.Add(1)
	return t.next.RoundTrip(r)
}

// BenchmarkPullDeals pulls 100,000 deals from the sandbox without a store, incrementally through
// search (200 a page) and fully through the list endpoint (100 a page). It reports records/s, API
// calls against the minimum for the page size, and the heap growth over the baseline at its peak
// (sampled after every page), which stays flat because pages are streamed.
func BenchmarkPullDeals(b *testing.B) {
	const deals = 100_000
	sb := sandbox.New(sandbox.Options{Deals: deals, Seed: 7, BurstLimit: -1, SearchPerSecond: -1, DailyLimit: -1})
	srv := newBenchServer(b, sb)
	for _, mode := range []struct {
		name     string
		full     bool
		pageSize int
	}{{"search", false, searchPageSize}, {"list", true, listPageSize}} {
		b.Run(mode.name, func(b *testing.B) {
			ct := &countingTransport{next: http.DefaultTransport.(*http.Transport).Clone()}
			c, err := New(Options{Connection: "bench", BaseURL: srv, Auth: connectors.NewStaticToken(sandbox.PrivateAppToken),
				SearchPerSecond: -1, Transport: ct})
			if err != nil {
				b.Fatal(err)
			}
			var n int
			var peak uint64
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			base := ms.HeapAlloc
			pages := 0
			b.ResetTimer()
			for b.Loop() {
				n = 0
				err := c.Pull(b.Context(), connectors.PullRequest{Object: connectors.ObjectDeal, Full: mode.full}, func(p connectors.Page) error {
					n += len(p.Records)
					pages++
					if pages%50 == 0 {
						runtime.ReadMemStats(&ms)
						peak = max(peak, ms.HeapAlloc)
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if n != deals {
				b.Fatalf("got %d deals, want %d", n, deals)
			}
			minCalls := math.Ceil(float64(deals) / float64(mode.pageSize))
			calls := float64(ct.calls.Load()) / float64(b.N)
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(calls, "calls/op")
			b.ReportMetric(calls/minCalls, "calls/min")
			growth := 0.0
			if peak > base {
				growth = float64(peak-base) / (1 << 20)
			}
			b.ReportMetric(growth, "peak-heap-growth-MiB")
		})
	}
}

// newBenchServer serves h over real HTTP for the benchmark's lifetime and returns its URL.
func newBenchServer(b *testing.B, h http.Handler) string {
	b.Helper()
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	return srv.URL
}
