package instantiate_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/mapsync/mapsync/store/storetest"
)

// BenchmarkCatchUp measures the whole instantiation path after a pull: load each stored deal
// with its contacts and owner, select a template by rule, instantiate (the enterprise template
// has 43 actions) and store the plans. MAPSYNC_BENCH_DEALS sets the dataset (default 10,000).
// Run: go test ./sync/instantiate -run '^$' -bench CatchUp -benchtime 1x
func BenchmarkCatchUp(b *testing.B) {
	deals := 10_000
	if n, err := strconv.Atoi(os.Getenv("MAPSYNC_BENCH_DEALS")); err == nil && n > 0 {
		deals = n
	}
	for _, backend := range storetest.Backends {
		b.Run(string(backend), func(b *testing.B) {
			s, sc := pulled(b, backend, "salesforce", deals)
			created := 0
			for b.Loop() {
				b.StopTimer()
				if err := s.ResetCursor(b.Context(), sc.ID, "plans"); err != nil {
					b.Fatal(err)
				}
				if _, err := s.DB().ExecContext(b.Context(), `DELETE FROM plans`); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				sum, err := newInstantiator(b, s, sc).CatchUp(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				created += sum.Created
			}
			b.ReportMetric(float64(created)/b.Elapsed().Seconds(), "plans/s")
		})
	}
}
