package push

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the push pipeline's Prometheus metrics.
type Metrics struct {
	records  *prometheus.CounterVec
	pushes   *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the push metrics with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mapsync_push_records_total",
			Help: "Records (deals) handled by pushes, by connection and outcome (written, unchanged, skipped, invalid, failed, dead_letter).",
		}, []string{"connection", "outcome"}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mapsync_push_runs_total",
			Help: "Pushes, by connection and result (ok, error, needs_reauth, dry_run).",
		}, []string{"connection", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mapsync_push_duration_seconds",
			Help:    "How long a push of one connection took.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}, []string{"connection"}),
	}
	for _, c := range []prometheus.Collector{m.records, m.pushes, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// observe records one push.
func (m *Metrics) observe(connection string, s Summary, took time.Duration, err error) {
	if m == nil {
		return
	}
	result := "ok"
	switch {
	case s.DryRun:
		result = "dry_run"
	case isNeedsReauth(err):
		result = "needs_reauth"
	case err != nil:
		result = "error"
	}
	m.pushes.WithLabelValues(connection, result).Inc()
	if s.DryRun {
		return
	}
	m.duration.WithLabelValues(connection).Observe(took.Seconds())
	for outcome, n := range map[string]int{"written": s.Written, "unchanged": s.Unchanged, "skipped": s.Skipped,
		"invalid": s.Invalid, "failed": s.Failed, "dead_letter": s.DeadLetters} {
		if n > 0 {
			m.records.WithLabelValues(connection, outcome).Add(float64(n))
		}
	}
}
