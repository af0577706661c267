package web

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the web pages' figures, registered on Options.Registerer.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	signins  *prometheus.CounterVec
	links    *prometheus.CounterVec // invitation links (web/invite.go)
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mapsync_web_requests_total",
			Help: "Web console and room requests, by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mapsync_web_request_duration_seconds",
			Help:    "Time to serve a web page or form post, by route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		signins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mapsync_web_signins_total",
			Help: "Sign-ins with an API token, by outcome (ok, bad_token, empty).",
		}, []string{"outcome"}),
		links: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mapsync_web_invitation_links_total",
			Help: "Invitation links opened or used to join a plan room, by outcome (opened, joined, unknown, expired, revoked, member_left, plan_gone).",
		}, []string{"outcome"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.signins, m.links} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
