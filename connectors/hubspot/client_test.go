package hubspot

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/internal/metrictest"
	sandbox "github.com/mapsync/mapsync/sandbox/hubspot"
)

func TestNewChecksBaseURL(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		base    string
		wantErr bool
	}{
		"default":              {base: "", wantErr: false},
		"https":                {base: "https://api.hubapi.com", wantErr: false},
		"loopback http":        {base: "http://127.0.0.1:8080", wantErr: false},
		"foreign http":         {base: "http://api.hubapi.com", wantErr: true},
		"credentials":          {base: "https://user:pw@api.hubapi.com", wantErr: true},
		"no host":              {base: "https://", wantErr: true},
		"query smuggles token": {base: "https://api.hubapi.com/?x=1", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := New(Options{Connection: "c", BaseURL: tc.base, Auth: connectors.NewStaticToken("t")})
			if (err != nil) != tc.wantErr {
				t.Errorf("New(%q): got error %v, want error %v", tc.base, err, tc.wantErr)
			}
		})
	}
}

func TestRejectedPrivateTokenIsAuthError(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, sandbox.Options{Deals: 5, Seed: 21}, func(o *Options) { o.Auth = connectors.NewStaticToken("pat-na1-wrong") })
	_, err := tryPull(t.Context(), c, connectors.PullRequest{Object: connectors.ObjectDeal})
	if connectors.KindOf(err) != connectors.KindAuth {
		t.Errorf("got %v, want an auth error", err)
	}
	if strings.Contains(err.Error(), "pat-na1-wrong") {
		t.Errorf("got the token in the error %q", err)
	}
}

func TestIncrementalPullWithNothingChanged(t *testing.T) {
	t.Parallel()
	c, tb := setup(t, sandbox.Options{Deals: 2000, Seed: 22}, nil)
	first := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal})
	cur := first.pages[len(first.pages)-1].Cursor
	tb.sb.ResetCounters()
	start := time.Now()
	again := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Since: cur, Overlap: 2 * time.Minute})
	took := time.Since(start)
	if calls := settledCount(t, tb.sb, "", 0, 1); calls != 1 {
		t.Errorf("got %d calls, want 1", calls)
	}
	if took > time.Second {
		t.Errorf("got %v, want well under a second", took)
	}
	for _, r := range again.records {
		if r.ModifiedAt.Before(cur.Stamp.Add(-2 * time.Minute)) {
			t.Errorf("got record %s stamped %v, before the overlap window", r.ID, r.ModifiedAt)
		}
	}
	if len(again.pages) > 0 && !again.pages[len(again.pages)-1].Cursor.Stamp.Equal(cur.Stamp) {
		t.Errorf("got cursor %v, want unchanged %v", again.pages[len(again.pages)-1].Cursor.Stamp, cur.Stamp)
	}
}

func TestGovernorAndMetricsFollowTheConnection(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m, err := connectors.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	gov := connectors.NewGovernors(connectors.GovernorOptions{}).For("test")
	c, tb := setup(t, sandbox.Options{Deals: 100, Seed: 23, DailyLimit: 10_000}, func(o *Options) {
		o.Governor, o.Metrics = gov, m
	})
	tb.sb.InjectServerErrors(2, http.StatusBadGateway)
	pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true})
	used, limit := gov.Usage()
	if limit != 10_000 || used < 2 {
		t.Errorf("governor: got usage %d of %d, want the sandbox's daily headers (10000)", used, limit)
	}
	if retries := metrictest.Sum(t, reg, "mapsync_connector_retries_total", nil); retries != 2 {
		t.Errorf("got %v retries counted, want 2", retries)
	}
}
