package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	hssandbox "github.com/mapsync/mapsync/sandbox/hubspot"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// tcpProxy forwards connections to a server until stop, which closes its listener and every
// connection through it: to the client, the server is down.
type tcpProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			p.wg.Go(func() { _, _ = io.Copy(up, c); up.Close() })
			p.wg.Go(func() { _, _ = io.Copy(c, up); c.Close() })
		}
	})
	t.Cleanup(p.stop)
	return p
}

func (p *tcpProxy) stop() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// downStore opens a migrated store on backend and returns it with the function that takes its
// database away: PostgreSQL behind a proxy that stops (connections refused, the "dial tcp" of a
// server that is down), SQLite closed.
func downStore(t *testing.T, backend store.Dialect) (*store.Store, func()) {
	t.Helper()
	if backend == store.SQLite {
		s := storetest.Open(t, backend)
		return s, func() { s.Close() }
	}
	u, err := url.Parse(storetest.NewSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	s, err := store.Open(t.Context(), u.String(), store.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.MigrateUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s, proxy.stop
}

// TestDatabaseDown: while the database is down the API answers 503 with Retry-After, like
// /readyz, not a 500 ("verify api token: dial tcp ..."); the cause goes to the log only.
func TestDatabaseDown(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			s, down := downStore(t, backend)
			token, err := s.CreateAPIToken(t.Context(), "ci")
			if err != nil {
				t.Fatal(err)
			}
			logs := &syncBuffer{}
			srv, err := New(Options{Store: s, Logger: zerolog.New(logs), ReadyTimeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(srv)
			t.Cleanup(ts.Close)
			b := &testBundle{t: t, url: ts.URL, client: ts.Client(), token: token}
			b.do("GET", "/api/v1/plans", nil).ok(t, http.StatusOK, nil)

			down()
			for _, path := range []string{"/api/v1/plans", "/api/v1/plans/p1", "/api/v1/templates", "/readyz"} {
				res := b.do("GET", path, nil)
				e := res.wantError(t, http.StatusServiceUnavailable, "unavailable", "")
				if res.header.Get("Retry-After") != RetryAfter || e.RequestID == "" {
					t.Errorf("%s: got Retry-After %q, request id %q; want %s and an id", path, res.header.Get("Retry-After"), e.RequestID, RetryAfter)
				}
			}
			b.do("POST", "/api/v1/plans/p1/actions/a1/comments", map[string]any{"body": "hi"}).wantError(t, http.StatusServiceUnavailable, "unavailable", "")
			if l := logs.String(); !containsAny(l, "connection refused", "database is closed", "connection reset", "EOF") {
				t.Errorf("logs: want the database's error, got\n%s", l)
			}
		})
	}
}

// TestStoreErrorWhileUp: a store error while the database answers stays a 500.
func TestStoreErrorWhileUp(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		b.store.set(func(f *faults) { f.updateErr = errors.New("disk full") })
		res := b.do("PATCH", b.actionPath("kickoff"), map[string]any{"version": 1, "status": "done"})
		res.wantError(t, http.StatusInternalServerError, "internal", "")
		if res.header.Get("Retry-After") != "" {
			t.Errorf("500 with Retry-After %q", res.header.Get("Retry-After"))
		}
	})
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestWebhooksDatabaseDown: a webhook that cannot be stored while the database is down is a 503
// with Retry-After (the CRM retries it; nothing was acknowledged), as the API answers.
func TestWebhooksDatabaseDown(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			s, down := downStore(t, backend)
			c, err := s.EnsureConnection(t.Context(), "hs", "hubspot")
			if err != nil {
				t.Fatal(err)
			}
			hooks, err := NewWebhooks(WebhookOptions{Store: s, Logger: zerolog.Nop(),
				Connections: []WebhookConnection{{Name: "hs", ID: c.ID, Kind: "hubspot", ClientSecret: hssandbox.ClientSecret}}})
			if err != nil {
				t.Fatal(err)
			}
			srv, err := New(Options{Store: s, Logger: zerolog.Nop(), ReadyTimeout: time.Second, Webhooks: hooks})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(srv)
			t.Cleanup(ts.Close)
			send := func(eventID int) *http.Response {
				t.Helper()
				url := ts.URL + "/webhooks/hubspot/hs"
				body := []byte(fmt.Sprintf(`[{"eventId":%d,"subscriptionId":1,"portalId":62515,"occurredAt":%d,"subscriptionType":"deal.propertyChange","objectId":1001,"propertyName":"dealstage","changeFlag":"NEW"}]`,
					eventID, time.Now().UnixMilli()))
				ms := strconv.FormatInt(time.Now().UnixMilli(), 10)
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(HeaderHubSpotTimestamp, ms)
				req.Header.Set(HeaderHubSpotSignatureV3, hssandbox.SignatureV3(hssandbox.ClientSecret, http.MethodPost, url, body, ms))
				resp, err := ts.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp
			}
			if resp := send(1); resp.StatusCode != http.StatusOK {
				t.Fatalf("database up: got %d, want 200", resp.StatusCode)
			}
			down()
			resp := send(2)
			if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != RetryAfter {
				t.Fatalf("database down: got %d with Retry-After %q, want 503 with %s", resp.StatusCode, resp.Header.Get("Retry-After"), RetryAfter)
			}
		})
	}
}
