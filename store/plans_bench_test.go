package store_test

import (
	"fmt"
	"testing"

	"github.com/mapsync/mapsync/store/storetest"
)

// BenchmarkCreatePlans instantiates the 40-action enterprise example for distinct deals and
// creates each plan (plan row, events, CRM projection mark: one transaction per plan), on each
// backend, and reports plans per second. The target: 500 plans/s on PostgreSQL for
// 10,000 deals (-bench CreatePlans/postgres -benchtime 10000x).
func BenchmarkCreatePlans(b *testing.B) {
	tpl := enterpriseTemplate(b)
	if n := tpl.ActionCount(); n != 40 {
		b.Fatalf("enterprise template has %d actions, want 40", n)
	}
	for _, backend := range storetest.Backends {
		b.Run(string(backend), func(b *testing.B) {
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
	}
}

// BenchmarkPlan loads a 40-action plan whole (one query).
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

