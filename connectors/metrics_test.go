package connectors

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mapsync/mapsync/internal/metrictest"
)

// metricSum adds up every series of the named metric family in reg (counters and gauges).
func metricSum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	return metrictest.Sum(t, reg, name, nil)
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
