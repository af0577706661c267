package salesforce

import (
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/mapsync/mapsync/connectors"
	sandbox "github.com/mapsync/mapsync/sandbox/salesforce"
)

// BenchmarkPull pulls 100,000 deals, then the about 200,000 contacts and the contact roles that
// come with them, from the sandbox over HTTP (no store), and reports per object:
//   - records/s (wall clock) and records/cpu-s (process CPU, sandbox included: fairer on a
//     shared machine);
//   - calls/pull and calls/min, the API calls against the minimum for the page size;
//   - base-heap-MB, the live heap before the pull (mostly the sandbox's dataset), and
//     pull-live-MB, the most live heap above it at page boundaries (sampled every 5th page after a
//     forced GC, outside the timer): what streaming keeps in memory.
//
// Run it with -benchtime=1x: one pull is the unit.
func BenchmarkPull(b *testing.B) {
	const deals = 100_000
	c, tb := setup(b, sandbox.Options{Deals: deals}, nil, func(o *Options) { o.PageSize = 2000 })
	// Log in once outside the timed loops.
	if _, err := c.Describe(b.Context(), connectors.ObjectOwner); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		object  connectors.Object
		sobject string
	}{{connectors.ObjectDeal, "Opportunity"}, {connectors.ObjectContact, "Contact"}, {connectors.ObjectDealContact, "OpportunityContactRole"}} {
		b.Run(string(bc.object), func(b *testing.B) {
			benchPull(b, c, tb, bc.object, len(tb.sb.IDs(bc.sobject)))
		})
	}
}

func benchPull(b *testing.B, c *Connector, tb *testBundle, object connectors.Object, want int) {
	var records, calls int64
	var peak uint64
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var cpu time.Duration
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		cpu0 := cpuTime()
		calls0 := opCalls(b, tb.reg, "query")
		b.StartTimer()
		n, pages := 0, 0
		err := c.Pull(b.Context(), connectors.PullRequest{Object: object, Full: true}, func(p connectors.Page) error {
			n += len(p.Records)
			pages++
			if pages%5 == 0 {
				b.StopTimer()
				c0 := cpuTime()
				runtime.GC()
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
				cpu0 += cpuTime() - c0
				b.StartTimer()
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - cpu0
		if n < want {
			b.Fatalf("pulled %d records, want %d", n, want)
		}
		records += int64(n)
		calls += opCalls(b, tb.reg, "query") - calls0
	}
	b.StopTimer()
	perPull := float64(records) / float64(b.N)
	minimum := float64((int64(perPull) + 1999) / 2000)
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(records)/cpu.Seconds(), "records/cpu-s")
	b.ReportMetric(float64(calls)/float64(b.N), "calls/pull")
	b.ReportMetric(float64(calls)/float64(b.N)/minimum, "calls/min")
	b.ReportMetric(float64(base)/(1<<20), "base-heap-MB")
	b.ReportMetric(float64(peak-min(peak, base))/(1<<20), "pull-live-MB")
}

// cpuTime returns the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
