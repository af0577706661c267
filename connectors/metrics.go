package connectors

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Metrics holds the connector metrics. Build one per process with NewMetrics and pass it to every
// connector: the series are labelled by connection and CRM.
type Metrics struct {
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	retries        *prometheus.CounterVec
	apiUsage       *prometheus.GaugeVec
	tokenRefreshes *prometheus.CounterVec
	governorDenied *prometheus.CounterVec
	errors         *prometheus.CounterVec
}

// NewMetrics creates the connector metrics and registers them on reg. A nil reg leaves them
// unregistered (tests that do not look at metrics).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mapsync_connector_requests_total",
			Help: "HTTP requests (attempts) sent to CRMs, by connection, CRM, operation and status code (\"error\" when no response).",
		}, []string{"connection", "crm", "op", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mapsync_connector_request_duration_seconds",
			Help:    "Duration of HTTP attempts to CRMs, body included.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 10),
		}, []string{"connection", "crm", "op"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mapsync_connector_retries_total",
			Help: "Requests to CRMs retried, by reason (5xx, 429, timeout, network, malformed).",
		}, []string{"connection", "crm", "op", "reason"}),
		apiUsage: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mapsync_connector_api_usage_ratio",
			Help: "Share of the CRM's daily API budget used, as last reported by the CRM (0..1).",
		}, []string{"connection", "crm"}),
		tokenRefreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mapsync_connector_token_refreshes_total",
			Help: "OAuth token refreshes, by outcome (ok, error, needs_reauth, save_error).",
		}, []string{"connection", "outcome"}),
		governorDenied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mapsync_connector_governor_denied_total",
			Help: "Requests refused by the rate governor before reaching the CRM (daily reserve reached).",
		}, []string{"connection", "crm"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mapsync_connector_errors_total",
			Help: "Failed CRM operations after retries, by error kind (transient, permanent, rate_limited, auth, needs_reauth).",
		}, []string{"connection", "crm", "op", "kind"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.duration, m.retries, m.apiUsage, m.tokenRefreshes, m.governorDenied, m.errors} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// Calls returns the requests (attempts) sent and the retries made for connection since the
// process started; a run's summary reports the difference between its end and its start.
func (m *Metrics) Calls(connection string) (requests, retries int64) {
	return sumFor(m.requests, connection), sumFor(m.retries, connection)
}

// sumFor adds up the counters of c whose connection label is connection.
func sumFor(c prometheus.Collector, connection string) int64 {
	ch := make(chan prometheus.Metric)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	var sum float64
	for met := range ch {
		var d dto.Metric
		if met.Write(&d) != nil {
			continue
		}
		for _, l := range d.GetLabel() {
			if l.GetName() == "connection" && l.GetValue() == connection {
				sum += d.GetCounter().GetValue()
			}
		}
	}
	return int64(sum)
}
