package hubspot

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const benchDeals = 100_000

var (
	benchOnce sync.Once
	benchSB   *Sandbox
)

// benchSandbox builds one 100,000-deal sandbox for all benchmarks (building it takes seconds).
func benchSandbox() *Sandbox {
	benchOnce.Do(func() {
		benchSB = New(Options{Deals: benchDeals, Seed: 1, BurstLimit: -1, DailyLimit: -1, SearchPerSecond: -1,
			CustomProperties: DefaultCustomProperties()})
	})
	return benchSB
}

// heapSampler records the peak live heap while it runs.
type heapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > h.peak.Load() {
				h.peak.Store(ms.HeapAlloc)
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

func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	<-h.done
	return h.peak.Load()
}

// BenchmarkListDealsPage serves pages of 100 deals (default properties) over loopback HTTP,
// paging through all 100,000 deals again and again from 4 concurrent clients. It reports
// requests/s, deals/s, and the live heap before paging and at its peak while paging.
func BenchmarkListDealsPage(b *testing.B) {
	sb := benchSandbox()
	srv := httptest.NewServer(sb)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	sampler := startHeapSampler()
	var served atomic.Int64
	b.SetParallelism(2) // 2 x GOMAXPROCS clients
	b.ResetTimer()
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		after := ""
		var buf bytes.Buffer
		for pb.Next() {
			url := srv.URL + "/crm/v3/objects/deals?limit=100"
			if after != "" {
				url += "&after=" + after
			}
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Authorization", "Bearer "+PrivateAppToken)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			buf.Reset()
			_, err = buf.ReadFrom(resp.Body)
			_ = resp.Body.Close()
			body := buf.Bytes()
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Errorf("status %d: %v", resp.StatusCode, err)
				return
			}
			served.Add(100)
			after = nextAfter(body)
		}
	})
	b.StopTimer()
	reportCPU(b, cpu0, b.N)
	peak := sampler.Stop()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "after-gc-heap-MB")
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/secs, "req/s")
	b.ReportMetric(float64(served.Load())/secs, "deals/s")
	b.ReportMetric(float64(base)/(1<<20), "base-heap-MB")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}

// nextAfter pulls paging.next.after out of a list page without decoding it all.
func nextAfter(body []byte) string {
	const key = `"paging":{"next":{"after":"`
	for i := len(body) - len(key); i >= 0; i-- {
		if string(body[i:i+len(key)]) == key {
			j := i + len(key)
			k := j
			for k < len(body) && body[k] != '"' {
				k++
			}
			return string(body[j:k])
		}
	}
	return ""
}

// BenchmarkPageAll100k pages once through all 100,000 deals per iteration (1,000 requests of
// 100) on one client, and reports the peak live heap, which must stay near the base heap.
func BenchmarkPageAll100k(b *testing.B) {
	sb := benchSandbox()
	srv := httptest.NewServer(sb)
	defer srv.Close()
	client := srv.Client()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	sampler := startHeapSampler()
	var buf bytes.Buffer
	b.ResetTimer()
	for b.Loop() {
		after, n := "", 0
		for {
			url := srv.URL + "/crm/v3/objects/deals?limit=100"
			if after != "" {
				url += "&after=" + after
			}
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Authorization", "Bearer "+PrivateAppToken)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			buf.Reset()
			_, _ = buf.ReadFrom(resp.Body)
			_ = resp.Body.Close()
			n++
			if after = nextAfter(buf.Bytes()); after == "" {
				break
			}
		}
		if n != benchDeals/100 {
			b.Fatalf("got %d pages, want %d", n, benchDeals/100)
		}
	}
	peak := sampler.Stop()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "after-gc-heap-MB")
	b.ReportMetric(float64(benchDeals)*float64(b.N)/b.Elapsed().Seconds(), "deals/s")
	b.ReportMetric(float64(base)/(1<<20), "base-heap-MB")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}

// benchWriter is a reusable ResponseWriter that keeps only the last body.
type benchWriter struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) WriteHeader(c int)   { w.code = c }
func (w *benchWriter) Write(b []byte) (int, error) {
	return w.body.Write(b)
}

// BenchmarkListHandler measures the sandbox's own cost of a page of 100 deals, without the
// loopback HTTP client and server stacks (both share this machine's cores in the loopback
// benchmarks).
func BenchmarkListHandler(b *testing.B) {
	sb := benchSandbox()
	w := &benchWriter{h: http.Header{}}
	after := ""
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		url := "/crm/v3/objects/deals?limit=100"
		if after != "" {
			url += "&after=" + after
		}
		req := httptest.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+PrivateAppToken)
		w.body.Reset()
		clear(w.h)
		sb.ServeHTTP(w, req)
		if w.code != http.StatusOK {
			b.Fatalf("got status %d", w.code)
		}
		after = nextAfter(w.body.Bytes())
	}
	reportCPU(b, cpu0, b.N)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports CPU time per request and the requests per second one core sustains at
// that cost: a figure that holds even when other work shares the machine's cores.
func reportCPU(b *testing.B, start time.Duration, requests int) {
	per := float64(cpuTime()-start) / float64(requests)
	b.ReportMetric(per/1e3, "cpu-us/req")
	b.ReportMetric(1e9/per, "req/s/core")
}

// pullDealProps and pullContactProps are the properties mapsync's HubSpot connector asks for on
// a full pull (its needed ones plus the custom properties of the default mapping).
const (
	pullDealProps    = "dealname,amount,dealstage,pipeline,closedate,createdate,hs_lastmodifieddate,hs_object_id,hubspot_owner_id,dealtype,description,hs_next_step"
	pullContactProps = "email,firstname,lastname,createdate,lastmodifieddate,hs_object_id,phone,jobtitle,company,hubspot_owner_id"
)

// serveBench serves one request straight through the sandbox's handler and returns the body.
func serveBench(b *testing.B, sb *Sandbox, w *benchWriter, method, url string, body []byte) []byte {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+PrivateAppToken)
	w.body.Reset()
	clear(w.h)
	sb.ServeHTTP(w, req)
	if w.code != http.StatusOK && w.code != http.StatusMultiStatus {
		b.Fatalf("%s %s: status %d: %s", method, url, w.code, w.body.Bytes())
	}
	return w.body.Bytes()
}

// BenchmarkPullListHandler serves the list pages of a full pull the way the connector asks for
// them (100 records, a property list, archived=false), deals then contacts, without the HTTP
// stacks. One op is one page.
func BenchmarkPullListHandler(b *testing.B) {
	for _, tc := range []struct{ typ, props string }{{"deals", pullDealProps}, {"contacts", pullContactProps}} {
		b.Run(tc.typ, func(b *testing.B) {
			sb := benchSandbox()
			w := &benchWriter{h: http.Header{}}
			base := "/crm/v3/objects/" + tc.typ + "?archived=false&limit=100&properties=" + url.QueryEscape(tc.props)
			after := ""
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for b.Loop() {
				u := base
				if after != "" {
					u += "&after=" + after
				}
				after = nextAfter(serveBench(b, sb, w, http.MethodGet, u, nil))
			}
			reportCPU(b, cpu0, b.N)
			b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkAssociationsBatchRead1000 serves v4 association batch reads of 1,000 deals (the
// connector's batch on a full pull), walking all 100,000 deals. One op is one request.
func BenchmarkAssociationsBatchRead1000(b *testing.B) {
	sb := benchSandbox()
	w := &benchWriter{h: http.Header{}}
	bodies := make([][]byte, benchDeals/1000)
	for i := range bodies {
		var buf bytes.Buffer
		buf.WriteString(`{"inputs":[`)
		for k := 0; k < 1000; k++ {
			if k > 0 {
				buf.WriteByte(',')
			}
			fmt.Fprintf(&buf, `{"id":"%d"}`, firstDealID+int64(i*1000+k))
		}
		buf.WriteString(`]}`)
		bodies[i] = buf.Bytes()
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	i := 0
	for b.Loop() {
		serveBench(b, sb, w, http.MethodPost, "/crm/v4/associations/deals/contacts/batch/read", bodies[i%len(bodies)])
		i++
	}
	reportCPU(b, cpu0, b.N)
}
