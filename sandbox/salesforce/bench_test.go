package salesforce_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mapsync/mapsync/sandbox/salesforce"
)

var (
	benchOnce sync.Once
	benchSB   *salesforce.Sandbox
	benchSrv  *httptest.Server
	benchTok  string
)

// benchSandbox serves 100,000 deals (with about 200,000 contacts and contact roles), built once
// per test binary.
func benchSandbox(b *testing.B) (*httptest.Server, string) {
	b.Helper()
	benchOnce.Do(func() {
		benchSB = salesforce.New(salesforce.Options{Deals: 100_000, Seed: 42, DailyLimit: 1 << 40})
		benchSrv = httptest.NewServer(benchSB)
		benchTok = benchSB.AccessToken()
	})
	return benchSrv, benchTok
}

func benchGet(b *testing.B, c *http.Client, u, tok string, batch string) []byte {
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if batch != "" {
		req.Header.Set("Sforce-Query-Options", batch)
	}
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("GET %s: %d %v %s", u, resp.StatusCode, err, body)
	}
	return body
}

// BenchmarkSmallPages measures small query pages (an incremental poll returning 10 records) over
// loopback HTTP with keep-alive, from parallel clients.
func BenchmarkSmallPages(b *testing.B) {
	srv, tok := benchSandbox(b)
	soql := "SELECT Id, Name, StageName, Amount, CloseDate, SystemModstamp FROM Opportunity WHERE SystemModstamp > 2026-10-01T00:00:00Z ORDER BY SystemModstamp ASC, Id ASC LIMIT 10"
	u := srv.URL + "/services/data/v62.0/query?q=" + url.QueryEscape(soql)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	cpu0 := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			benchGet(b, client, u, tok, "")
		}
	})
	reportCPU(b, cpu0, "client and server")
}

// BenchmarkSmallPagesRawClient serves the same small query over loopback sockets to a minimal
// keep-alive client (pre-built request bytes, Content-Length framing), so that the figure is the
// sandbox and net/http's server side rather than Go's HTTP client.
func BenchmarkSmallPagesRawClient(b *testing.B) {
	srv, tok := benchSandbox(b)
	soql := "SELECT Id, Name, StageName, Amount, CloseDate, SystemModstamp FROM Opportunity WHERE SystemModstamp > 2026-10-01T00:00:00Z ORDER BY SystemModstamp ASC, Id ASC LIMIT 10"
	host := strings.TrimPrefix(srv.URL, "http://")
	req := []byte("GET /services/data/v62.0/query?q=" + url.QueryEscape(soql) + " HTTP/1.1\r\nHost: " + host +
		"\r\nAuthorization: Bearer " + tok + "\r\n\r\n")
	cpu0 := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		conn, err := net.Dial("tcp", host)
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		br := bufio.NewReaderSize(conn, 64<<10)
		for pb.Next() {
			if _, err := conn.Write(req); err != nil {
				b.Error(err)
				return
			}
			length, status := -1, ""
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					b.Error(err)
					return
				}
				if status == "" {
					status = string(line[9:12])
				}
				if len(line) <= 2 {
					break
				}
				if k, v, ok := strings.Cut(string(line), ":"); ok && strings.EqualFold(k, "Content-Length") {
					length, _ = strconv.Atoi(strings.TrimSpace(v))
				}
			}
			if status != "200" || length < 0 {
				b.Errorf("got status %s length %d", status, length)
				return
			}
			if _, err := br.Discard(length); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportCPU(b, cpu0, "server over loopback")
}

// BenchmarkSmallPagesHandler measures the sandbox alone: the same small query served through
// ServeHTTP in process, without sockets or a client.
func BenchmarkSmallPagesHandler(b *testing.B) {
	benchSandbox(b)
	soql := "SELECT Id, Name, StageName, Amount, CloseDate, SystemModstamp FROM Opportunity WHERE SystemModstamp > 2026-10-01T00:00:00Z ORDER BY SystemModstamp ASC, Id ASC LIMIT 10"
	target := "/services/data/v62.0/query?q=" + url.QueryEscape(soql)
	cpu0 := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("GET", target, nil)
			req.Header.Set("Authorization", "Bearer "+benchTok)
			w := httptest.NewRecorder()
			benchSB.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("got %d %s", w.Code, w.Body)
			}
		}
	})
	reportCPU(b, cpu0, "sandbox only")
}

// BenchmarkPageThrough100k pages through all 100,000 deals, 2,000 records a page, following
// nextRecordsUrl, and reports throughput and the live heap while paging (sampled after a GC
// every 10 pages, with the timer stopped).
func BenchmarkPageThrough100k(b *testing.B) {
	srv, tok := benchSandbox(b)
	soql := "SELECT Id, Name, StageName, Amount, CloseDate, OwnerId, AccountId, Probability, Type, ForecastCategoryName, IsClosed, IsWon, NextStep, Description, CreatedDate, LastModifiedDate, SystemModstamp, IsDeleted FROM Opportunity WHERE SystemModstamp > 2020-01-01T00:00:00Z ORDER BY SystemModstamp ASC, Id ASC"
	client := &http.Client{}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	records, pages := 0, 0
	nextKey := []byte(`"nextRecordsUrl":"`)
	b.ResetTimer()
	for range b.N {
		next := "/services/data/v62.0/query?q=" + url.QueryEscape(soql)
		for next != "" {
			body := benchGet(b, client, srv.URL+next, tok, "")
			records += bytes.Count(body, []byte(`{"attributes":`))
			pages++
			next = ""
			if i := bytes.Index(body, nextKey); i >= 0 {
				rest := body[i+len(nextKey):]
				next = string(rest[:bytes.IndexByte(rest, '"')])
			}
			if pages%10 == 0 {
				b.StopTimer()
				runtime.GC() // live heap, not garbage awaiting collection
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
				b.StartTimer()
			}
		}
	}
	if records != 100_000*b.N {
		b.Fatalf("paged %d records, want %d", records, 100_000*b.N)
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-live-heap-MB")
	b.ReportMetric(float64(peak-base)/(1<<20), "heap-growth-MB")
	b.ReportMetric(float64(base)/(1<<20), "dataset-heap-MB")
}

// reportCPU reports wall-clock requests/s and the CPU each request cost, with the requests one
// core could serve at that cost.
func reportCPU(b *testing.B, cpu0 time.Duration, _ string) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
	if cpu := processCPU() - cpu0; cpu > 0 {
		per := cpu.Seconds() / float64(b.N)
		b.ReportMetric(per*1e6, "cpu-us/op")
		b.ReportMetric(1/per, "requests/cpu-s")
	}
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

// BenchmarkPullQueryHandler walks each sObject of a full pull the way the Salesforce connector
// asks for it (queryAll with its field list, 2,000 records a page, then queryMore to the end),
// through ServeHTTP in process, without sockets or a client. One op is one full walk.
func BenchmarkPullQueryHandler(b *testing.B) {
	for _, tc := range []struct{ name, soql string }{
		{"Opportunity", "SELECT Id, Name, StageName, Amount, CloseDate, OwnerId, AccountId, Probability, Type, ForecastCategoryName, IsClosed, IsWon, NextStep, CreatedDate, LastModifiedDate, SystemModstamp, IsDeleted FROM Opportunity ORDER BY SystemModstamp ASC, Id ASC"},
		{"Contact", "SELECT Id, FirstName, LastName, Email, Phone, Title, AccountId, OwnerId, CreatedDate, LastModifiedDate, SystemModstamp, IsDeleted FROM Contact ORDER BY SystemModstamp ASC, Id ASC"},
		{"OpportunityContactRole", "SELECT Id, OpportunityId, ContactId, Role, IsPrimary, SystemModstamp, IsDeleted FROM OpportunityContactRole ORDER BY OpportunityId ASC, Id ASC"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			benchSandbox(b)
			w := &benchWriter{h: http.Header{}}
			nextKey := []byte(`"nextRecordsUrl":"`)
			records, pages := 0, 0
			cpu0 := processCPU()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				next := "/services/data/v62.0/queryAll?q=" + url.QueryEscape(tc.soql)
				for next != "" {
					req := httptest.NewRequest("GET", next, nil)
					req.Header.Set("Authorization", "Bearer "+benchTok)
					req.Header.Set("Sforce-Query-Options", "batchSize=2000")
					w.body.Reset()
					clear(w.h)
					benchSB.ServeHTTP(w, req)
					body := w.body.Bytes()
					if w.code != http.StatusOK {
						b.Fatalf("GET %s: %d %s", next, w.code, body)
					}
					pages++
					records += bytes.Count(body, []byte(`{"attributes":`))
					next = ""
					if i := bytes.Index(body, nextKey); i >= 0 {
						rest := body[i+len(nextKey):]
						next = string(rest[:bytes.IndexByte(rest, '"')])
					}
				}
			}
			if cpu := processCPU() - cpu0; cpu > 0 {
				b.ReportMetric(cpu.Seconds()*1e3/float64(b.N), "cpu-ms/walk")
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(records), "cpu-ns/record")
			}
			b.ReportMetric(float64(pages)/float64(b.N), "pages/walk")
		})
	}
}
