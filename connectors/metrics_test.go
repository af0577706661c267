package connectors

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// metricSum adds up every series of the named metric family in reg (counters and gauges).
func metricSum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

func TestNewMetricsRegistersOnce(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	if _, err := NewMetrics(reg); err != nil {
		t.Fatalf("first registration: got %v, want nil", err)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Fatal("second registration on the same registry: got nil, want an error")
	}
}
