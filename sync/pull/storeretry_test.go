package pull_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/internal/metrictest"
	"github.com/mapsync/mapsync/secrets"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
	"github.com/mapsync/mapsync/sync/pull"
)

// quickStoreRetry rides out an outage of a few connection attempts in milliseconds.
var quickStoreRetry = pull.StoreRetry{MaxRetries: 6, MinWait: time.Millisecond, MaxWait: 20 * time.Millisecond}

// dbProxy forwards TCP connections to PostgreSQL. cut drops every open connection at once and
// refuses the next n connection attempts, as a database restart or a failover does.
type dbProxy struct {
	ln      net.Listener
	target  string
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	refuse  int
	refused atomic.Int64
}

func newDBProxy(t *testing.T, target string) *dbProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dbProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); p.cut(0) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.refuse > 0 {
				p.refuse--
				p.mu.Unlock()
				p.refused.Add(1)
				c.Close()
				continue
			}
			p.conns[c] = struct{}{}
			p.mu.Unlock()
			go p.forward(c)
		}
	}()
	return p
}

func (p *dbProxy) forward(c net.Conn) {
	d, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[d] = struct{}{}
	p.mu.Unlock()
	go func() { _, _ = io.Copy(d, c); d.Close() }()
	_, _ = io.Copy(c, d)
	c.Close()
}

func (p *dbProxy) cut(refuseNext int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = refuseNext
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// cutAfterPage runs cut once, right after the connector delivered its first page.
type cutAfterPage struct {
	connectors.Connector
	once sync.Once
	cut  func()
}

func (c *cutAfterPage) Pull(ctx context.Context, req connectors.PullRequest, fn func(connectors.Page) error) error {
	return c.Connector.Pull(ctx, req, func(p connectors.Page) error {
		err := fn(p)
		c.once.Do(c.cut)
		return err
	})
}

// A pull whose PostgreSQL connections drop (a restart: every connection cut, new ones refused for
// a while) pauses and carries on: the run succeeds with every record, nothing is lost.
func TestPullRidesOutADatabaseOutage(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"salesforce", "hubspot"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			u, err := url.Parse(storetest.NewSchema(t))
			if err != nil {
				t.Fatal(err)
			}
			proxy := newDBProxy(t, u.Host)
			u.Host = proxy.ln.Addr().String()
			key, err := secrets.ParseKey(storetest.Key)
			if err != nil {
				t.Fatal(err)
			}
			s, err := store.Open(ctx, u.String(), store.Options{Cipher: key, Logger: zerolog.Nop()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if _, err := s.MigrateUp(ctx); err != nil {
				t.Fatal(err)
			}
			name := map[string]string{"salesforce": "sf", "hubspot": "hs"}[kind]
			sc, err := s.EnsureConnection(ctx, name, kind)
			if err != nil {
				t.Fatal(err)
			}
			var c *crm
			if kind == "salesforce" {
				c = newSalesforce(t, s, 150, nil)
			} else {
				c = newHubSpot(t, 150)
			}
			reg := prometheus.NewRegistry()
			m, err := pull.NewMetrics(reg)
			if err != nil {
				t.Fatal(err)
			}
			cut := &cutAfterPage{Connector: c.conn, cut: func() { proxy.cut(5) }}
			p, err := pull.New(pull.Options{Connection: name, ConnectionID: sc.ID, Connector: cut, Store: s, Overlap: time.Minute,
				StoreRetry: quickStoreRetry, Metrics: m, Logger: zerolog.Nop()})
			if err != nil {
				t.Fatal(err)
			}
			sum, err := p.Run(ctx, pull.Request{})
			if err != nil {
				t.Fatalf("pull through a database outage: %v", err)
			}
			if proxy.refused.Load() == 0 {
				t.Fatal("the outage refused no connection: the test did not test anything")
			}
			if n := metrictest.Sum(t, reg, "mapsync_pull_store_retries_total", nil); n == 0 {
				t.Error("no store call was retried")
			}
			counts, err := s.RecordCounts(ctx, sc.ID)
			if err != nil {
				t.Fatal(err)
			}
			if counts[connectors.ObjectDeal] != len(c.dealIDs()) {
				t.Errorf("stored %d deals, want the CRM's %d", counts[connectors.ObjectDeal], len(c.dealIDs()))
			}
			if sum.Status != store.RunSucceeded {
				t.Errorf("run status %s, want %s", sum.Status, store.RunSucceeded)
			}

			// An outage when the next run starts (its run row, its cursors) is ridden out too.
			proxy.cut(5)
			before := proxy.refused.Load()
			if _, err := p.Run(ctx, pull.Request{}); err != nil {
				t.Fatalf("pull starting in a database outage: %v", err)
			}
			if proxy.refused.Load() == before {
				t.Error("the second outage refused no connection")
			}
		})
	}
}

// flakyStore fails ApplyPullPage the way a dropped connection does, failures times.
type flakyStore struct {
	*store.Store
	failures int64
	calls    atomic.Int64
}

func (f *flakyStore) ApplyPullPage(ctx context.Context, p store.PullPage) (store.UpsertStats, error) {
	if f.calls.Add(1) <= f.failures {
		return store.UpsertStats{}, fmt.Errorf("apply %s page: begin: %w", p.Object, driver.ErrBadConn)
	}
	return f.Store.ApplyPullPage(ctx, p)
}

// On both databases: a store call that fails transiently is repeated within its budget; one that
// keeps failing ends the run with the database's error once the budget is spent; a permanent
// failure is not repeated.
func TestPullRetriesTransientStoreFailures(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends {
		for _, tt := range []struct {
			name      string
			failures  int64
			wantCalls int64 // ApplyPullPage calls when the run fails; 0 when it succeeds
		}{
			{"transient", 3, 0},
			{"persistent", 1000, int64(quickStoreRetry.MaxRetries) + 1},
		} {
			t.Run(string(backend)+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				s := storetest.Open(t, backend)
				sc, err := s.EnsureConnection(ctx, "hs", "hubspot")
				if err != nil {
					t.Fatal(err)
				}
				c := newHubSpot(t, 60)
				fs := &flakyStore{Store: s, failures: tt.failures}
				p, err := pull.New(pull.Options{Connection: "hs", ConnectionID: sc.ID, Connector: c.conn, Store: fs, Overlap: time.Minute,
					Objects: []connectors.Object{connectors.ObjectDeal}, StoreRetry: quickStoreRetry, Logger: zerolog.Nop()})
				if err != nil {
					t.Fatal(err)
				}
				sum, err := p.Run(ctx, pull.Request{})
				if tt.wantCalls == 0 {
					if err != nil {
						t.Fatalf("run: %v", err)
					}
					if counts, _ := s.RecordCounts(ctx, sc.ID); counts[connectors.ObjectDeal] != 60 {
						t.Errorf("stored %d deals, want 60", counts[connectors.ObjectDeal])
					}
					return
				}
				if !errors.Is(err, driver.ErrBadConn) || !strings.Contains(err.Error(), "bad connection") {
					t.Fatalf("got %v, want the database's error after the retries", err)
				}
				if got := fs.calls.Load(); got != tt.wantCalls {
					t.Errorf("ApplyPullPage calls: got %d, want %d (the first page, then every retry)", got, tt.wantCalls)
				}
				if sum == nil || sum.Status != store.RunFailed {
					t.Errorf("summary %+v, want a failed run", sum)
				}
			})
		}
	}
}

func TestIsTransient(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{driver.ErrBadConn, true},
		{fmt.Errorf("apply: %w", io.ErrUnexpectedEOF), true},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true},
		{context.Canceled, false},
		{fmt.Errorf("apply: %w", store.ErrConflict), false},
		{store.ErrNotFound, false},
		{errors.New("syntax error at or near"), false},
	} {
		if got := store.IsTransient(tt.err); got != tt.want {
			t.Errorf("IsTransient(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
