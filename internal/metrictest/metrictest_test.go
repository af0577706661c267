package metrictest

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestSumAndValue(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "calls_total"}, []string{"op", "kind"})
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "cursor_seconds"})
	reg.MustRegister(c, g)
	c.WithLabelValues("query", "transient").Add(2)
	c.WithLabelValues("query", "auth").Add(3)
	c.WithLabelValues("update", "transient").Add(5)
	g.Set(42)
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"calls_total", nil, 10},
		{"calls_total", map[string]string{"op": "query"}, 5},
		{"calls_total", map[string]string{"op": "query", "kind": "auth"}, 3},
		{"calls_total", map[string]string{"op": "delete"}, 0},
		{"cursor_seconds", nil, 42},
		{"absent", nil, 0},
	}
	for _, tc := range tests {
		if got := Sum(t, reg, tc.name, tc.labels); got != tc.want {
			t.Errorf("Sum(%s, %v) = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	if v, ok := Value(t, reg, "calls_total", map[string]string{"kind": "auth"}); !ok || v != 3 {
		t.Errorf("Value(kind=auth) = %v, %v; want 3, true", v, ok)
	}
	if _, ok := Value(t, reg, "calls_total", map[string]string{"op": "delete"}); ok {
		t.Error("Value found a series that does not exist")
	}
}
