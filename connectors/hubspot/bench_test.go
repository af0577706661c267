package hubspot

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
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

// BenchmarkPullDeals pulls deals from the sandbox without a store: 100,000 through the list
// endpoint (a full pull, 100 a page) and 20,000 through search (an incremental pull from the start,
// 200 a page; the sandbox's search scans and sorts every record on each call, so its cost grows with
// the square of the count). It reports records/s, API calls per pull against the minimum for the
// page size, and the peak growth of the live heap (sampled after a forced GC every 50 pages, in an
// untimed extra pull), which stays flat because pages are streamed.
func BenchmarkPullDeals(b *testing.B) {
	for _, mode := range []struct {
		name     string
		deals    int
		full     bool
		pageSize int
	}{{"list-100k", 100_000, true, listPageSize}, {"search-20k", 20_000, false, searchPageSize}} {
		b.Run(mode.name, func(b *testing.B) {
			sb := sandbox.New(sandbox.Options{Deals: mode.deals, Seed: 7, BurstLimit: -1, SearchPerSecond: -1, DailyLimit: -1})
			srv := httptest.NewServer(sb)
			b.Cleanup(func() { srv.Close(); sb.Close() })
			ct := &countingTransport{next: http.DefaultTransport.(*http.Transport).Clone()}
			c, err := New(Options{Connection: "bench", BaseURL: srv.URL, Auth: connectors.NewStaticToken(sandbox.PrivateAppToken),
				SearchPerSecond: -1, Transport: ct})
			if err != nil {
				b.Fatal(err)
			}
			req := connectors.PullRequest{Object: connectors.ObjectDeal, Full: mode.full}
			run := func(ctx context.Context, onPage func()) int {
				n := 0
				err := c.Pull(ctx, req, func(p connectors.Page) error {
					n += len(p.Records)
					onPage()
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				return n
			}
			var n int
			for b.Loop() {
				n = run(b.Context(), func() {})
			}
			if n != mode.deals {
				b.Fatalf("got %d deals, want %d", n, mode.deals)
			}
			calls := float64(ct.calls.Load()) / float64(b.N)
			minCalls := math.Ceil(float64(mode.deals) / float64(mode.pageSize))
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(calls, "calls/pull")
			b.ReportMetric(calls/minCalls, "calls/min")

			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			base, peak := ms.HeapAlloc, ms.HeapAlloc
			pages := 0
			run(context.Background(), func() {
				if pages++; pages%50 == 0 {
					runtime.GC()
					runtime.ReadMemStats(&ms)
					peak = max(peak, ms.HeapAlloc)
				}
			})
			b.ReportMetric(float64(peak-base)/(1<<20), "peak-live-heap-growth-MiB")
		})
	}
}

// BenchmarkDecodeListPage measures the connector's own cost per record: decoding one list page of
// 100 deals (as the sandbox renders it, all default and needed properties) into records.
func BenchmarkDecodeListPage(b *testing.B) {
	sb := sandbox.New(sandbox.Options{Deals: 100, Seed: 7})
	srv := httptest.NewServer(sb)
	b.Cleanup(func() { srv.Close(); sb.Close() })
	req, err := http.NewRequestWithContext(b.Context(), http.MethodGet,
		srv.URL+"/crm/v3/objects/deals?limit=100&properties="+strings.Join(dealSpec.needed, ","), nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+sandbox.PrivateAppToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("got %d %v", resp.StatusCode, err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var lp listPage
		if err := json.Unmarshal(body, &lp); err != nil {
			b.Fatal(err)
		}
		recs, err := decodeObjects(connectors.ObjectDeal, dealSpec, lp.Results)
		if err != nil || len(recs) != 100 {
			b.Fatalf("got %d records, %v", len(recs), err)
		}
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "records/s")
}
