package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/secrets"
	"github.com/mapsync/mapsync/server"
	"github.com/mapsync/mapsync/store/storetest"
	"github.com/mapsync/mapsync/web"
	"github.com/mapsync/mapsync/web/webtest"
)

// testClock is a clock a test moves forward (session expiry).
type testClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// consoleEnv is `mapsync serve`'s HTTP handler (the API and the web console, as daemon builds
// them) on a real database holding both sandboxes' pulled deals and their plans.
type consoleEnv struct {
	base  string
	token string
	rt    *runtime
	sb    *sandboxes
	clock *testClock
}

// startConsole pulls both sandboxes (deals each) into a fresh database of backend (sqlite or
// postgres) and serves the API and the console on it, as serve does.
func startConsole(t *testing.T, backend string, deals int) *consoleEnv {
	t.Helper()
	key, _ := secrets.GenerateKey()
	t.Setenv(secrets.EnvKey, key)
	t.Setenv(config.EnvDatabaseURL, "")
	db := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	if backend == "postgres" {
		db = storetest.NewSchema(t)
	}
	cfg, sb := sandboxConfigWith(t, db, deals, nil)
	mustRun(t, "--config", cfg, "migrate", "up")
	for _, cn := range []string{"sandbox-hubspot", "sandbox-salesforce"} {
		mustRun(t, "--config", cfg, "--log-level", "error", "sync", "run", "--connection", cn)
	}
	a := &app{stdout: io.Discard, stderr: io.Discard, configPath: cfg, logLevel: "error"}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	rt, err := a.newRuntime(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.setupLogger()
	t.Cleanup(rt.Close)
	tok, err := rt.store.CreateAPIToken(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	h, err := server.New(server.Options{Store: rt.store, Logger: a.log, Deals: dealSource{rt}, Admin: adminSource{rt}})
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{}
	pages, err := rt.console(ctx, h, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(pages)
	t.Cleanup(ts.Close)
	return &consoleEnv{base: ts.URL, token: tok, rt: rt, sb: sb, clock: clock}
}

// browserBackends are the databases the browser tests run on.
var browserBackends = []string{"sqlite", "postgres"}

// TestConsoleSignIn: the console needs a session; an API token is exchanged for one at /signin;
// sessions expire and end at sign-out; forms without the CSRF token, or posted from another
// origin, are refused.
func TestConsoleSignIn(t *testing.T) {
	for _, backend := range browserBackends {
		t.Run(backend, func(t *testing.T) {
			env := startConsole(t, backend, 10)

			t.Run("no_session_redirects_to_sign_in", func(t *testing.T) {
				b := webtest.New(t, 30*time.Second)
				b.Do(t, "open the console", chromedp.Navigate(env.base+"/console/runs?connection=x"), chromedp.WaitVisible(chromedp.ID("token")))
				loc := webtest.Get(t, b, "location", chromedp.Location())
				u, _ := url.Parse(loc)
				if u.Path != "/signin" || u.Query().Get("next") != "/console/runs?connection=x" {
					t.Errorf("got %s, want /signin?next=/console/runs?connection=x", loc)
				}
			})

			t.Run("token_exchange", func(t *testing.T) {
				b := webtest.New(t, 30*time.Second)
				b.Do(t, "bad token",
					chromedp.Navigate(env.base+"/console/"),
					chromedp.WaitVisible(chromedp.ID("token")),
					chromedp.SendKeys(chromedp.ID("token"), "msk_not-a-token"),
					chromedp.Submit(chromedp.ID("token")),
					chromedp.WaitVisible(chromedp.ID("token-error")),
				)
				if msg := webtest.Get(t, b, "error text", chromedp.Text(chromedp.ID("token-error"))); !strings.Contains(msg, "not valid") {
					t.Errorf("error at the token field: got %q", msg)
				}
				b.Do(t, "good token",
					chromedp.SendKeys(chromedp.ID("token"), env.token),
					chromedp.Submit(chromedp.ID("token")),
					chromedp.WaitVisible(chromedp.ID("conn-sandbox-hubspot")),
				)
				if loc := webtest.Get(t, b, "location", chromedp.Location()); !strings.HasSuffix(loc, "/console/") {
					t.Errorf("after sign-in: got %s, want the page asked for (/console/)", loc)
				}
				// Cookie attributes, as the browser stored them.
				cookies := webtest.Get(t, b, "cookies", chromedp.Evaluate[string](`document.cookie`))
				if strings.Contains(cookies, web.SessionCookie) {
					t.Errorf("the session cookie is readable from JavaScript (not HttpOnly): %q", cookies)
				}
			})

			t.Run("cookie_attributes", func(t *testing.T) {
				c := signInHTTP(t, env)
				if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure {
					t.Errorf("session cookie: got HttpOnly=%v SameSite=%v Path=%q Secure=%v; want HttpOnly, Lax, /, not Secure on plain http",
						c.HttpOnly, c.SameSite, c.Path, c.Secure)
				}
				if c.MaxAge <= 0 || c.MaxAge > int(web.DefaultSessionTTL.Seconds()) {
					t.Errorf("session cookie Max-Age %d: want (0, %d]", c.MaxAge, int(web.DefaultSessionTTL.Seconds()))
				}
			})

			t.Run("session_expiry", func(t *testing.T) {
				b := webtest.New(t, 30*time.Second)
				b.SignIn(t, env.base, env.token)
				env.clock.Advance(web.DefaultSessionTTL + time.Minute)
				t.Cleanup(func() { env.clock.Advance(-web.DefaultSessionTTL - time.Minute) })
				b.Do(t, "reload after expiry", chromedp.Navigate(env.base+"/console/"), chromedp.WaitVisible(chromedp.ID("token")))
			})

			t.Run("sign_out", func(t *testing.T) {
				b := webtest.New(t, 30*time.Second)
				b.SignIn(t, env.base, env.token)
				b.Do(t, "sign out",
					chromedp.Click(chromedp.CSS("form.signout button")),
					chromedp.WaitVisible(chromedp.ID("token")),
				)
				if msg := webtest.Get(t, b, "flash", chromedp.Text(chromedp.CSS(".flash-ok"))); !strings.Contains(msg, "signed out") {
					t.Errorf("flash after sign-out: got %q", msg)
				}
				b.Do(t, "console after sign-out", chromedp.Navigate(env.base+"/console/"), chromedp.WaitVisible(chromedp.ID("token")))
			})

			t.Run("csrf", func(t *testing.T) {
				c := signInHTTP(t, env)
				post := func(form url.Values, header http.Header) int {
					req, _ := http.NewRequest(http.MethodPost, env.base+"/console/connections/sandbox-hubspot/pull", strings.NewReader(form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					for k, v := range header {
						req.Header[k] = v
					}
					req.AddCookie(c)
					resp, err := noRedirect.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					return resp.StatusCode
				}
				if got := post(url.Values{}, nil); got != http.StatusForbidden {
					t.Errorf("without the CSRF token: got %d, want 403", got)
				}
				if got := post(url.Values{"csrf_token": {"wrong"}}, nil); got != http.StatusForbidden {
					t.Errorf("with a wrong CSRF token: got %d, want 403", got)
				}
				token := csrfOf(t, env, c)
				if got := post(url.Values{"csrf_token": {token}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}); got != http.StatusForbidden {
					t.Errorf("cross-site with the token: got %d, want 403 (CrossOriginProtection)", got)
				}
				if got := post(url.Values{"csrf_token": {token}}, http.Header{"Origin": {"https://evil.example"}}); got != http.StatusForbidden {
					t.Errorf("from another Origin with the token: got %d, want 403", got)
				}
				// Sign-in itself refuses a cross-site post (login CSRF).
				req, _ := http.NewRequest(http.MethodPost, env.base+"/signin", strings.NewReader(url.Values{"token": {env.token}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Sec-Fetch-Site", "cross-site")
				resp, err := noRedirect.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
					t.Errorf("cross-site sign-in: got %d with %d cookies, want 403 and none", resp.StatusCode, len(resp.Cookies()))
				}
			})
		})
	}
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// signInHTTP signs in with a plain HTTP client and returns the session cookie.
func signInHTTP(t *testing.T, env *consoleEnv) *http.Cookie {
	t.Helper()
	resp, err := noRedirect.PostForm(env.base+"/signin", url.Values{"token": {env.token}, "next": {"/console/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: got %d, want 303", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.Name == web.SessionCookie {
			return c
		}
	}
	t.Fatalf("sign in set no %s cookie", web.SessionCookie)
	return nil
}

// csrfOf reads the CSRF token the console's forms carry for session cookie c.
func csrfOf(t *testing.T, env *consoleEnv, c *http.Cookie) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, env.base+"/console/", nil)
	req.AddCookie(c)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	const marker = `name="csrf_token" value="`
	i := strings.Index(string(b), marker)
	if i < 0 {
		t.Fatalf("no csrf_token in the console page (status %d)", resp.StatusCode)
	}
	rest := string(b)[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')]
}
