package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/oauth2"
)

// memStore is an in-memory TokenStore that keeps tokens in their stored (marshalled) form.
type memStore struct {
	mu    sync.Mutex
	toks  map[string][]byte
	saves int
}

func (m *memStore) LoadToken(_ context.Context, connection string) (*oauth2.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.toks[connection]
	if !ok {
		return nil, errors.New("no token")
	}
	return UnmarshalToken(b)
}

func (m *memStore) SaveToken(_ context.Context, connection string, tok *oauth2.Token) error {
	b, err := MarshalToken(tok)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.toks[connection] = b
	m.saves++
	return nil
}

func (m *memStore) put(t *testing.T, connection string, tok *oauth2.Token) {
	t.Helper()
	b, err := MarshalToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.toks[connection] = b
}

type reauthRecorder struct {
	mu      sync.Mutex
	reasons []string
}

func (r *reauthRecorder) NeedsReauth(_ context.Context, connection, reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reasons = append(r.reasons, connection+": "+reason)
	return nil
}

// oauthServer is a token endpoint plus an API that accepts only the newest access token.
type oauthServer struct {
	srv       *httptest.Server
	refresh   atomic.Int64 // refresh grants served
	api       atomic.Int64 // API calls served
	revoked   atomic.Bool
	current   atomic.Value // string: the only valid access token
	rejectAll atomic.Bool
}

func newOAuthServer(t *testing.T) *oauthServer {
	t.Helper()
	o := &oauthServer{}
	o.current.Store("at-0")
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/services/oauth2/token" {
			_ = r.ParseForm()
			rt := r.PostForm.Get("refresh_token")
			if r.PostForm.Get("grant_type") != "refresh_token" || !(rt == "rt-1" && !o.revoked.Load() || rt == "rt-2") {
				w.WriteHeader(400)
				_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"expired access/refresh token"}`))
				return
			}
			n := o.refresh.Add(1)
			tok := fmt.Sprintf("at-%d", n)
			o.current.Store(tok)
			_ = json.NewEncoder(w).Encode(map[string]string{"access_token": tok, "token_type": "Bearer", "instance_url": o.srv.URL, "issued_at": "1"})
			return
		}
		o.api.Add(1)
		if o.rejectAll.Load() || r.Header.Get("Authorization") != "Bearer "+o.current.Load().(string) {
			w.WriteHeader(401)
			_, _ = w.Write([]byte(`[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`))
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(o.srv.Close)
	return o
}

type oauthBundle struct {
	ts     *TokenSource
	store  *memStore
	reauth *reauthRecorder
	server *oauthServer
	client *Client
	reg    *prometheus.Registry
}

func setupOAuth(t *testing.T, initial *oauth2.Token) oauthBundle {
	t.Helper()
	o := newOAuthServer(t)
	store := &memStore{toks: map[string][]byte{}}
	store.put(t, "acme", initial.WithExtra(map[string]any{"instance_url": o.srv.URL}))
	rec := &reauthRecorder{}
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := NewTokenSource(TokenSourceOptions{
		Connection: "acme",
		Config:     &oauth2.Config{ClientID: "cid", ClientSecret: "secret", Endpoint: oauth2.Endpoint{TokenURL: o.srv.URL + "/services/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}},
		Store:      store,
		Reauth:     rec,
		Metrics:    m,
		Logger:     zerolog.Nop(),
		ExtraKeys:  []string{"instance_url"},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(ClientOptions{
		Connection: "acme", CRM: CRMSalesforce, Auth: ts, Metrics: m,
		BaseURL: func(tok *oauth2.Token) (*url.URL, error) {
			s, _ := tok.Extra("instance_url").(string)
			return CheckInstanceURL(s, InstancePolicy{Sandbox: true})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return oauthBundle{ts: ts, store: store, reauth: rec, server: o, client: c, reg: reg}
}

func TestClientRefreshesOnceOn401(t *testing.T) {
	t.Parallel()
	b := setupOAuth(t, &oauth2.Token{AccessToken: "stale", RefreshToken: "rt-1"})
	if _, err := b.client.Do(t.Context(), Request{Op: "query", Method: "GET", Path: "/q"}); err != nil {
		t.Fatalf("got %v, want success after one refresh", err)
	}
	if got := b.server.refresh.Load(); got != 1 {
		t.Errorf("refreshes: got %d, want 1", got)
	}
	if got := b.server.api.Load(); got != 2 {
		t.Errorf("API calls: got %d, want 2 (rejected, replayed)", got)
	}
	saved, err := b.store.LoadToken(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if saved.AccessToken != "at-1" || saved.RefreshToken != "rt-1" || saved.Extra("instance_url") != b.server.srv.URL {
		t.Errorf("saved token: got access %q refresh %q instance %v; want at-1, rt-1, %s", saved.AccessToken, saved.RefreshToken, saved.Extra("instance_url"), b.server.srv.URL)
	}
	if got := metricSum(t, b.reg, "mapsync_connector_token_refreshes_total"); got != 1 {
		t.Errorf("token refreshes metric: got %v, want 1", got)
	}
}

func TestClientGivesUpAfterOneRefresh(t *testing.T) {
	t.Parallel()
	b := setupOAuth(t, &oauth2.Token{AccessToken: "stale", RefreshToken: "rt-1"})
	b.server.rejectAll.Store(true)
	_, err := b.client.Do(t.Context(), Request{Op: "query", Method: "GET", Path: "/q"})
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindAuth || e.Code != "INVALID_SESSION_ID" {
		t.Fatalf("got %v, want auth error INVALID_SESSION_ID", err)
	}
	if got := b.server.refresh.Load(); got != 1 {
		t.Errorf("refreshes: got %d, want 1", got)
	}
	if got := b.server.api.Load(); got != 2 {
		t.Errorf("API calls: got %d, want 2", got)
	}
}

func TestTokenSourceOneRefreshForManyWorkers(t *testing.T) {
	t.Parallel()
	b := setupOAuth(t, &oauth2.Token{AccessToken: "stale", RefreshToken: "rt-1"})
	const workers = 16
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			if _, err := b.client.Do(t.Context(), Request{Op: "query", Method: "GET", Path: "/q"}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("worker: %v", err)
	}
	if got := b.server.refresh.Load(); got != 1 {
		t.Errorf("refreshes: got %d, want 1", got)
	}
	if b.store.saves != 1 {
		t.Errorf("saves: got %d, want 1", b.store.saves)
	}
}

func TestTokenSourceInvalidGrant(t *testing.T) {
	t.Parallel()
	b := setupOAuth(t, &oauth2.Token{AccessToken: "stale", RefreshToken: "rt-1"})
	b.server.revoked.Store(true)
	for i := range 3 {
		_, err := b.client.Do(t.Context(), Request{Op: "query", Method: "GET", Path: "/q"})
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindNeedsReauth || !strings.Contains(e.Message, "connect acme again") {
			t.Fatalf("call %d: got %v, want needs_reauth telling to connect again", i, err)
		}
		if strings.Contains(err.Error(), "rt-1") || strings.Contains(err.Error(), "stale") {
			t.Errorf("error shows a token: %v", err)
		}
	}
	if len(b.reauth.reasons) != 1 || !strings.Contains(b.reauth.reasons[0], "expired access/refresh token") {
		t.Errorf("reauth reports: got %q, want one with the CRM's reason", b.reauth.reasons)
	}
	if got := b.server.api.Load(); got != 1 {
		t.Errorf("API calls: got %d, want 1 (later calls fail fast)", got)
	}
	if got := metricSum(t, b.reg, "mapsync_connector_token_refreshes_total"); got != 1 {
		t.Errorf("refresh attempts counted: got %v, want 1", got)
	}

	// An admin reconnects: the store holds a new refresh token and calls work again.
	b.store.put(t, "acme", (&oauth2.Token{AccessToken: "stale-2", RefreshToken: "rt-2"}).WithExtra(map[string]any{"instance_url": b.server.srv.URL}))
	if _, err := b.client.Do(t.Context(), Request{Op: "query", Method: "GET", Path: "/q"}); err != nil {
		t.Fatalf("after reconnect: got %v, want success", err)
	}
}

func TestMarshalTokenKeepsInstanceURL(t *testing.T) {
	t.Parallel()
	tok := (&oauth2.Token{AccessToken: "a", RefreshToken: "r", TokenType: "Bearer"}).WithExtra(map[string]any{"instance_url": "https://acme.my.salesforce.com", "id": "https://login.salesforce.com/id/00D/005"})
	b, err := MarshalToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalToken(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken != "a" || got.RefreshToken != "r" || got.Extra("instance_url") != "https://acme.my.salesforce.com" || got.Extra("id") != "https://login.salesforce.com/id/00D/005" {
		t.Errorf("round trip: got %+v extras %v %v", got, got.Extra("instance_url"), got.Extra("id"))
	}
}

func TestTokenSourceRefreshesExpiredTokenBeforeUse(t *testing.T) {
	t.Parallel()
	b := setupOAuth(t, &oauth2.Token{AccessToken: "old", RefreshToken: "rt-1", Expiry: time.Now().Add(-time.Minute)})
	if _, err := b.client.Do(t.Context(), Request{Op: "query", Method: "GET", Path: "/q"}); err != nil {
		t.Fatal(err)
	}
	if got := b.server.refresh.Load(); got != 1 {
		t.Errorf("refreshes: got %d, want 1", got)
	}
	if got := b.server.api.Load(); got != 1 {
		t.Errorf("API calls: got %d, want 1 (no 401 first)", got)
	}
}

func TestStaticTokenIsNotRefreshed(t *testing.T) {
	t.Parallel()
	b := setupClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		_, _ = w.Write([]byte(`{"status":"error","message":"Authentication credentials not found.","category":"INVALID_AUTHENTICATION"}`))
	}, func(o *ClientOptions) { o.CRM = CRMHubSpot })
	_, err := b.client.Do(t.Context(), Request{Op: "list", Method: "GET", Path: "/x"})
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindAuth {
		t.Fatalf("got %v, want an auth error", err)
	}
	if got := b.hits.Load(); got != 1 {
		t.Errorf("requests: got %d, want 1", got)
	}
}
