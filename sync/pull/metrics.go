package pull

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/store"
)

// Metrics are the pull pipeline's Prometheus series. A nil *Metrics records nothing.
type Metrics struct {
	records      *prometheus.CounterVec
	runs         *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	cursor       *prometheus.GaugeVec
	storeRetries *prometheus.CounterVec
}

// NewMetrics creates the pull metrics and registers them on reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mapsync_pull_records_total",
			Help: "Records delivered by pulls, by connection, object and outcome (inserted, updated, unchanged).",
		}, []string{"connection", "object", "outcome"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mapsync_pull_runs_total",
			Help: "Pull runs, by connection, mode (incremental, full) and status (succeeded, failed, cancelled).",
		}, []string{"connection", "mode", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mapsync_pull_run_duration_seconds",
			Help:    "Duration of pull runs.",
			Buckets: prometheus.ExponentialBuckets(0.05, 3, 10),
		}, []string{"connection", "mode"}),
		cursor: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mapsync_pull_cursor_timestamp_seconds",
			Help: "The CRM modification stamp the pull cursor has reached, per connection and object (time() minus this is the sync lag).",
		}, []string{"connection", "object"}),
		storeRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mapsync_pull_store_retries_total",
			Help: "Store calls of pulls repeated because the database was briefly unreachable, by connection and operation.",
		}, []string{"connection", "op"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.records, m.runs, m.duration, m.cursor, m.storeRetries} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *Metrics) observePage(conn string, obj connectors.Object, _ int, st store.UpsertStats) {
	if m == nil {
		return
	}
	m.records.WithLabelValues(conn, string(obj), "inserted").Add(float64(st.Inserted))
	m.records.WithLabelValues(conn, string(obj), "updated").Add(float64(st.Updated))
	m.records.WithLabelValues(conn, string(obj), "unchanged").Add(float64(st.Unchanged))
}

func (m *Metrics) observeRun(conn, mode string, s *Summary) {
	if m == nil {
		return
	}
	m.runs.WithLabelValues(conn, mode, s.Status).Inc()
	m.duration.WithLabelValues(conn, mode).Observe(s.Duration.Seconds())
}

func (m *Metrics) observeCursor(conn string, obj connectors.Object, stamp time.Time) {
	if m == nil || stamp.IsZero() {
		return
	}
	m.cursor.WithLabelValues(conn, string(obj)).Set(float64(stamp.Unix()))
}

func (m *Metrics) observeStoreRetry(conn, op string) {
	if m == nil {
		return
	}
	m.storeRetries.WithLabelValues(conn, op).Inc()
}
