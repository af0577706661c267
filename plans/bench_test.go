package plans

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkInstantiate makes plans from the 40-action enterprise example for distinct deals, in
// memory (no store), and reports plans per second.
func BenchmarkInstantiate(b *testing.B) {
	tpl := loadExamples(b)["enterprise-new-business.yaml"]
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		loc = time.UTC
	}
	deal := testDeal()
	now := time.Date(2025, 3, 7, 10, 0, 0, 0, loc)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		deal.ID = strconv.Itoa(n)
		p, _, err := Instantiate(tpl, deal, now, loc)
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Phases) != 3 {
			b.Fatalf("got %d phases, want 3", len(p.Phases))
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "plans/s")
}

// BenchmarkProgress computes the read model of a 40-action plan.
func BenchmarkProgress(b *testing.B) {
	tpl := loadExamples(b)["enterprise-new-business.yaml"]
	now := time.Date(2025, 3, 7, 10, 0, 0, 0, time.UTC)
	p, _, err := Instantiate(tpl, testDeal(), now, time.UTC)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_ = p.Progress(now)
	}
}
