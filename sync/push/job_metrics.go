package push

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mapsync/mapsync/store"
)

// JobMetrics are the push jobs' figures: jobs by outcome and (read from the database at each
// scrape) the backlog of plan marks and the age of the oldest. Records and push durations are
// the engine's (Metrics: mapsync_push_records_total, mapsync_push_duration_seconds).
type JobMetrics struct {
	jobs *prometheus.CounterVec
}

// BacklogStore is what the backlog gauges read (*store.Store).
type BacklogStore interface {
	PushBacklogs(ctx context.Context) ([]store.PushBacklog, error)
}

// NewJobMetrics registers the push job metrics on reg; backlog, when not nil, backs the
// mapsync_push_backlog and mapsync_push_oldest_mark_age_seconds gauges (one bounded query per
// scrape), for the connections pushes says push (nil: all; a pull-only connection's marks are
// never pushed, and would only look like a growing backlog).
func NewJobMetrics(reg prometheus.Registerer, backlog BacklogStore, pushes func(connection string) bool) (*JobMetrics, error) {
	m := &JobMetrics{
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mapsync_push_jobs_total",
			Help: "Push jobs run, by connection and outcome (succeeded; failed: retried with backoff; needs_reauth: cancelled until the connection is authorised again)."},
			[]string{"connection", "outcome"}),
	}
	cs := []prometheus.Collector{m.jobs}
	if backlog != nil {
		cs = append(cs, &backlogCollector{store: backlog, pushes: pushes})
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *JobMetrics) observe(conn, outcome string) {
	if m != nil {
		m.jobs.WithLabelValues(conn, outcome).Inc()
	}
}

var (
	backlogDesc = prometheus.NewDesc("mapsync_push_backlog",
		"Plans whose CRM fields wait to be pushed (plan marks), by connection; read from the database at each scrape.", []string{"connection"}, nil)
	oldestDesc = prometheus.NewDesc("mapsync_push_oldest_mark_age_seconds",
		"Age of the oldest plan change not yet pushed, by connection (absent: nothing pending).", []string{"connection"}, nil)
	backlogErrDesc = prometheus.NewDesc("mapsync_push_backlog_up",
		"1 if the last scrape read the push backlog, 0 if the database did not answer.", nil, nil)
)

// backlogCollector reads the push backlog at each scrape.
type backlogCollector struct {
	store  BacklogStore
	pushes func(string) bool
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- backlogDesc
	ch <- oldestDesc
	ch <- backlogErrDesc
}

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	bs, err := c.store.PushBacklogs(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(backlogErrDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(backlogErrDesc, prometheus.GaugeValue, 1)
	now := time.Now()
	for _, b := range bs {
		if c.pushes != nil && !c.pushes(b.Connection) {
			continue
		}
		ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, float64(b.Marks), b.Connection)
		ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, max(0, now.Sub(b.Oldest).Seconds()), b.Connection)
	}
}
