package store_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// BenchmarkCreatePlans instantiates the 40-action enterprise example for distinct deals and
// stores each plan with its events and CRM projection mark, on each backend, reporting plans per
// second (instantiation included). The target is 500 plans/s on PostgreSQL for 10,000
// deals: go test ./store -run - -bench CreatePlans/postgres -benchtime 10000x.
//
//   - one: CreatePlan per deal, one after the other (a transaction and a commit per plan);
//   - parallel8: CreatePlan from 8 goroutines (commits overlap);
//   - batch100: CreatePlans with 100 deals per transaction (how the pull pipeline creates the
//     plans of a page);
//   - batch100x4: batch100 from 4 goroutines (pages of several connections at once).
func BenchmarkCreatePlans(b *testing.B) {
	tpl := enterpriseTemplate(b)
	if n := tpl.ActionCount(); n != 40 {
		b.Fatalf("enterprise template has %d actions, want 40", n)
	}
	for _, backend := range storetest.Backends {
		b.Run(string(backend), func(b *testing.B) {
			b.Run("one", func(b *testing.B) {
				s := storetest.Open(b, backend)
				ctx := b.Context()
				b.ReportAllocs()
				n := 0
				for b.Loop() {
					p, events := instantiate(b, tpl, planDeal("sf", fmt.Sprintf("006B%07d", n), "005O"))
					if _, created, err := s.CreatePlan(ctx, p, events); err != nil || !created {
						b.Fatalf("create plan %d: created %v, %v", n, created, err)
					}
					n++
				}
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "plans/s")
			})
			b.Run("parallel8", func(b *testing.B) {
				s := storetest.Open(b, backend)
				ctx := b.Context()
				b.ReportAllocs()
				var next atomic.Int64
				var wg sync.WaitGroup
				var failed atomic.Value
				b.ResetTimer()
				for range 8 {
					wg.Go(func() {
						for {
							n := next.Add(1) - 1
							if n >= int64(b.N) {
								return
							}
							p, events, err := instantiateE(tpl, planDeal("sf", fmt.Sprintf("006P%07d", n), "005O"))
							if err == nil {
								var created bool
								if _, created, err = s.CreatePlan(ctx, p, events); err == nil && !created {
									err = fmt.Errorf("plan %d not created", n)
								}
							}
							if err != nil {
								failed.CompareAndSwap(nil, err)
								return
							}
						}
					})
				}
				wg.Wait()
				if err, _ := failed.Load().(error); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "plans/s")
			})
			b.Run("batch100", func(b *testing.B) { benchmarkCreateBatches(b, backend, tpl, 1) })
			b.Run("batch100x4", func(b *testing.B) { benchmarkCreateBatches(b, backend, tpl, 4) })
		})
	}
}

// benchmarkCreateBatches creates b.N plans with CreatePlans, 100 per call, from workers
// goroutines.
func benchmarkCreateBatches(b *testing.B, backend store.Dialect, tpl *plans.Template, workers int) {
	s := storetest.Open(b, backend)
	ctx := b.Context()
	b.ReportAllocs()
	const size = 100
	var (
		next   atomic.Int64
		wg     sync.WaitGroup
		failed atomic.Value
	)
	b.ResetTimer()
	for range workers {
		wg.Go(func() {
			batch := make([]store.NewPlan, 0, size)
			for {
				from := next.Add(size) - size
				if from >= int64(b.N) {
					return
				}
				batch = batch[:0]
				for n := from; n < min(from+size, int64(b.N)); n++ {
					p, events, err := instantiateE(tpl, planDeal("sf", fmt.Sprintf("006C%07d", n), "005O"))
					if err != nil {
						failed.CompareAndSwap(nil, err)
						return
					}
					batch = append(batch, store.NewPlan{Plan: p, Events: events})
				}
				res, err := s.CreatePlans(ctx, batch)
				if err == nil {
					for _, r := range res {
						if !r.Created {
							err = fmt.Errorf("plan %s not created", r.Plan.ID)
						}
					}
				}
				if err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "plans/s")
}

// BenchmarkPlan loads a 40-action plan whole, which is one statement (Store.Plan).
func BenchmarkPlan(b *testing.B) {
	tpl := enterpriseTemplate(b)
	for _, backend := range storetest.Backends {
		b.Run(string(backend), func(b *testing.B) {
			s := storetest.Open(b, backend)
			ctx := b.Context()
			p, events := instantiate(b, tpl, planDeal("sf", "006B", "005O"))
			createPlan(b, s, p, events)
			b.ReportAllocs()
			for b.Loop() {
				got, err := s.Plan(ctx, p.ID)
				if err != nil || len(got.Actions()) != 40 {
					b.Fatalf("plan: %v", err)
				}
			}
		})
	}
}

// BenchmarkPlanReadWithComments reads a plan whose action has no comments, then 200 comments of
// the maximum length (2 MB of conversation): the read costs the same, since comments are rows
// beside the plan document, not inside it. go test ./store -run - -bench PlanReadWithComments
func BenchmarkPlanReadWithComments(b *testing.B) {
	big := strings.Repeat("x", plans.MaxComment)
	for _, backend := range storetest.Backends {
		for _, n := range []int{0, 200} {
			b.Run(fmt.Sprintf("%s/comments=%d", backend, n), func(b *testing.B) {
				s := storetest.Open(b, backend)
				p := newSmallPlan(b, s)
				for range n {
					addComment(b, s, p.ID, "call", big, false, planStart)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.Plan(b.Context(), p.ID); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
