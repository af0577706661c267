package salesforce_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mapsync/mapsync/sandbox/salesforce"
)

// testBundle is a sandbox served over real HTTP with a logged-in client.
type testBundle struct {
	sb    *salesforce.Sandbox
	srv   *httptest.Server
	token string
	clock *fakeClock
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// setup starts a sandbox with deals deals on a fake clock (2026-11-23T12:00:00Z) and logs in
// with the refresh-token grant.
func setup(t *testing.T, deals int, mod ...func(*salesforce.Options)) *testBundle {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	opts := salesforce.Options{Deals: deals, Seed: 7, Now: clock.Now}
	for _, m := range mod {
		m(&opts)
	}
	sb := salesforce.New(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(func() {
		srv.Close()
		sb.Close()
	})
	b := &testBundle{sb: sb, srv: srv, clock: clock}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	status := b.form(t, "/services/oauth2/token", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {salesforce.ClientID},
		"client_secret": {salesforce.ClientSecret}, "refresh_token": {salesforce.RefreshToken},
	}, &tok)
	if status != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("login: got status %d token %q, want 200 and a token", status, tok.AccessToken)
	}
	b.token = tok.AccessToken
	return b
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errorCode returns the errorCode of a Salesforce error array.
func (r response) errorCode(t *testing.T) string {
	t.Helper()
	var errs []struct {
		ErrorCode string `json:"errorCode"`
		Message   string `json:"message"`
	}
	r.decode(t, &errs)
	if len(errs) == 0 {
		t.Fatalf("empty error array: %s", r.body)
	}
	return errs[0].ErrorCode
}

func (b *testBundle) do(t *testing.T, method, path string, body any, hdr ...string) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		switch x := body.(type) {
		case string:
			rd = strings.NewReader(x)
		default:
			data, err := json.Marshal(x)
			if err != nil {
				t.Fatal(err)
			}
			rd = bytes.NewReader(data)
		}
	}
	req, err := http.NewRequestWithContext(t.Context(), method, b.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if b.token != "" {
		req.Header.Set("Authorization", "Bearer "+b.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, data}
}

func (b *testBundle) form(t *testing.T, path string, v url.Values, out any) int {
	t.Helper()
	resp, err := http.PostForm(b.srv.URL+path, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("decode %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

type queryResult struct {
	TotalSize      int              `json:"totalSize"`
	Done           bool             `json:"done"`
	NextRecordsURL string           `json:"nextRecordsUrl"`
	Records        []map[string]any `json:"records"`
}

const api = "/services/data/v62.0"

func (b *testBundle) query(t *testing.T, soql string, hdr ...string) (queryResult, response) {
	t.Helper()
	resp := b.do(t, "GET", api+"/query?q="+url.QueryEscape(soql), nil, hdr...)
	var qr queryResult
	if resp.status == http.StatusOK {
		resp.decode(t, &qr)
	}
	return qr, resp
}

// queryAllPages follows nextRecordsUrl to the end and returns every record and the page count.
func (b *testBundle) queryAllPages(t *testing.T, resource, soql string, hdr ...string) ([]map[string]any, int) {
	t.Helper()
	resp := b.do(t, "GET", api+"/"+resource+"?q="+url.QueryEscape(soql), nil, hdr...)
	var all []map[string]any
	pages := 0
	for {
		if resp.status != http.StatusOK {
			t.Fatalf("page %d: got status %d: %s", pages, resp.status, resp.body)
		}
		var qr queryResult
		resp.decode(t, &qr)
		pages++
		all = append(all, qr.Records...)
		if qr.Done {
			if qr.NextRecordsURL != "" {
				t.Fatalf("done page has nextRecordsUrl %q", qr.NextRecordsURL)
			}
			return all, pages
		}
		resp = b.do(t, "GET", qr.NextRecordsURL, nil, hdr...)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
