package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/secrets"
	"github.com/mapsync/mapsync/server"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
	"github.com/mapsync/mapsync/sync/instantiate"
	"github.com/mapsync/mapsync/sync/push"
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
	cfg   string
}

// startConsole pulls both sandboxes (deals each) into a fresh database of backend (sqlite or
// postgres) and serves the API and the console on it, as serve does.
func startConsole(t *testing.T, backend string, deals int, edit ...func(string) string) *consoleEnv {
	t.Helper()
	key, _ := secrets.GenerateKey()
	t.Setenv(secrets.EnvKey, key)
	t.Setenv(config.EnvDatabaseURL, "")
	db := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	if backend == "postgres" {
		db = storetest.NewSchema(t)
	}
	var ed func(string) string
	if len(edit) > 0 {
		ed = edit[0]
	}
	cfg, sb := sandboxConfigWith(t, db, deals, ed)
	mustRun(t, "--config", cfg, "migrate", "up")
	// Deals whose names are markup, as a CRM user could type them.
	for _, name := range hostileDealNames {
		if _, err := sb.HubSpot.CreateDeal(map[string]string{"dealname": name, "amount": "1000", "pipeline": "default", "dealstage": "appointmentscheduled"}); err != nil {
			t.Fatal(err)
		}
	}
	mustRun(t, "--config", cfg, "templates", "import", filepath.Join("..", "..", "examples", "templates"))
	for _, cn := range []string{"sandbox-hubspot", "sandbox-salesforce"} {
		mustRun(t, "--config", cfg, "--log-level", "error", "sync", "run", "--connection", cn)
	}
	a := &app{stdout: io.Discard, stderr: logWriter{t}, configPath: cfg, logLevel: "error"}
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
	h, err := server.New(server.Options{Store: rt.store, Logger: a.log, Deals: dealSource{rt}, Admin: adminSource{rt}, Registerer: rt.reg, Gatherer: rt.reg})
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
	return &consoleEnv{base: ts.URL, token: tok, rt: rt, sb: sb, clock: clock, cfg: cfg}
}

// hostileDealNames are deal names that would run script if a page did not escape them.
var hostileDealNames = []string{`<script>alert(1)</script>`, `<img src=x onerror=alert(2)>`}

// logWriter sends the server's error log lines to the test's log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
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
				b.Screenshot(t, *update, "console-connections.png")
				// Cookie attributes, as the browser stored them.
				cookies := webtest.Get(t, b, "cookies", chromedp.Evaluate[string](`document.cookie`))
				if strings.Contains(cookies, web.SessionCookie) {
					t.Errorf("the session cookie is readable from JavaScript (not HttpOnly): %q", cookies)
				}
			})

			t.Run("keyboard", func(t *testing.T) {
				b := webtest.New(t, 30*time.Second)
				b.SignIn(t, env.base, env.token)
				b.Do(t, "console", chromedp.Navigate(env.base+"/console/"), chromedp.WaitVisible(chromedp.ID("conn-sandbox-hubspot")),
					chromedp.KeyEvent(kb.Tab))
				if got := webtest.Get(t, b, "focus", chromedp.Evaluate[string](`document.activeElement.textContent`)); got != "Skip to content" {
					t.Errorf("first Tab focuses %q, want the skip link", got)
				}
				b.Do(t, "follow the skip link", chromedp.KeyEvent(kb.Enter))
				if got := webtest.Get(t, b, "focus", chromedp.Evaluate[string](`document.activeElement.id`)); got != "main" {
					t.Errorf("after the skip link focus is on %q, want main", got)
				}
				// Every form control has a label.
				unlabelled := webtest.Get(t, b, "unlabelled", chromedp.Evaluate[[]string](`[...document.querySelectorAll("input:not([type=hidden]), select, textarea")].filter(e => !(e.labels && e.labels.length) && !e.getAttribute("aria-label")).map(e => e.name)`))
				if len(unlabelled) != 0 {
					t.Errorf("controls without a label: %q", unlabelled)
				}
			})

			t.Run("phone_width", func(t *testing.T) {
				b := webtest.New(t, 30*time.Second)
				b.SignIn(t, env.base, env.token)
				for _, path := range []string{"/console/", "/console/deals", "/console/runs", "/console/plans"} {
					b.Do(t, "open "+path+" 390 px wide", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Navigate(env.base+path),
						chromedp.WaitVisible(chromedp.CSS("main h1")))
					if over := webtest.Get(t, b, "overflow", chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`)); over > 0 {
						wide := webtest.Get(t, b, "wide elements", chromedp.Evaluate[[]string](`[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).slice(0, 5).map(e => e.tagName + "." + e.className + "#" + e.id)`))
						t.Errorf("%s at phone width: the page is %d px wider than the screen (tables must scroll inside their box); wide: %q", path, over, wide)
					}
				}
				b.Do(t, "connections", chromedp.Navigate(env.base+"/console/"), chromedp.WaitVisible(chromedp.ID("conn-sandbox-hubspot")))
				b.Screenshot(t, *update, "console-phone.png")
			})

			t.Run("bad_urls", func(t *testing.T) {
				c := signInHTTP(t, env)
				token := csrfOf(t, env, c)
				for _, tc := range []struct {
					method, path string
					want         int
				}{
					{"POST", "/console/connections/nope/pull", http.StatusNotFound},
					{"GET", "/console/runs?connection=nope", http.StatusBadRequest},
					{"GET", "/console/deals?connection=nope", http.StatusBadRequest},
					{"GET", "/console/deals?connection=sandbox-hubspot&min_amount=lots", http.StatusBadRequest},
					{"GET", "/console/push?connection=nope", http.StatusBadRequest},
					{"GET", "/console/mappings?connection=nope", http.StatusNotFound},
					{"GET", "/console/plans?status=sideways", http.StatusBadRequest},
					{"GET", "/console/templates/nope", http.StatusNotFound},
					{"GET", "/console/deals/sandbox-hubspot/nope/plan", http.StatusNotFound},
					{"GET", "/console/nowhere", http.StatusNotFound},
				} {
					var body io.Reader
					if tc.method == "POST" {
						body = strings.NewReader(url.Values{"csrf_token": {token}}.Encode())
					}
					req, _ := http.NewRequest(tc.method, env.base+tc.path, body)
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.AddCookie(c)
					resp, err := noRedirect.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != tc.want || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
						t.Errorf("%s %s: got %d %s, want %d as a page\n%s", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.want, b)
					}
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
				// The sign-in is counted, and the request by its route.
				_, metrics := httpGet(env.base + "/metrics")
				for _, want := range []string{`mapsync_web_signins_total{outcome="ok"}`, `mapsync_web_requests_total{method="POST",route="POST /signin",status="303"}`} {
					if !strings.Contains(metrics, want) {
						t.Errorf("/metrics lacks %s", want)
					}
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
				b.Follow(t, "sign out", chromedp.Click(chromedp.CSS("form.signout button")))
				b.Do(t, "the sign-in page", chromedp.WaitVisible(chromedp.ID("token")))
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

// TestConsoleDeals: deal search and pagination, hostile deal names shown as text, and a plan
// created from a deal by picking a template, filling a role from its contacts and reviewing
// its texts.
func TestConsoleDeals(t *testing.T) {
	for _, backend := range browserBackends {
		t.Run(backend, func(t *testing.T) {
			env := startConsole(t, backend, 12)
			ctx := context.Background()

			t.Run("hostile_name_is_text", func(t *testing.T) {
				b := webtest.New(t, 30*time.Second)
				b.SignIn(t, env.base, env.token)
				b.Do(t, "search the hostile deal",
					chromedp.Navigate(env.base+"/console/deals?connection=sandbox-hubspot&q="+url.QueryEscape("<")),
					chromedp.WaitVisible(chromedp.CSS("#deals")),
				)
				names := webtest.Get(t, b, "names", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#deals td.deal-name")].map(td => td.firstChild.textContent)`))
				for _, want := range hostileDealNames {
					if !slices.Contains(names, want) {
						t.Errorf("deal %q is not shown as text; names shown: %q", want, names)
					}
				}
				if n := webtest.Get(t, b, "injected", chromedp.Evaluate[int](`document.querySelectorAll("#deals script, #deals img").length`)); n != 0 {
					t.Errorf("%d script or img elements were injected into the deals table", n)
				}
				if d := b.Dialogs(); len(d) != 0 {
					t.Errorf("dialogs opened: %q", d)
				}
				// The create-plan page shows the name as text too.
				b.Follow(t, "open the create-plan page", chromedp.Click(chromedp.CSS(`#deals tr:first-child a.button`)))
				b.Do(t, "the create-plan page", chromedp.WaitVisible(chromedp.ID("deal-name")))
				if got := webtest.Get(t, b, "deal name", chromedp.Text(chromedp.ID("deal-name"))); !slices.Contains(hostileDealNames, got) {
					t.Errorf("create-plan page deal name: got %q", got)
				}
				if d := b.Dialogs(); len(d) != 0 {
					t.Errorf("dialogs opened: %q", d)
				}
			})

			t.Run("search_and_pages", func(t *testing.T) {
				all, _, err := dealSource{env.rt}.Deals(ctx, "sandbox-salesforce", instantiate.ListQuery{Limit: 500})
				if err != nil || len(all) < 9 {
					t.Fatalf("deals of the sandbox: %d, %v", len(all), err)
				}
				b := webtest.New(t, 30*time.Second)
				b.SignIn(t, env.base, env.token)
				// Pages of 4 by cursor, in CRM id order, every deal once.
				b.Do(t, "first page", chromedp.Navigate(env.base+"/console/deals?connection=sandbox-salesforce&limit=4"), chromedp.WaitVisible(chromedp.CSS("#deals")))
				var seen []string
				for page := 0; ; page++ {
					ids := webtest.Get(t, b, "ids", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#deals tr[data-deal]")].map(tr => tr.dataset.deal)`))
					if len(ids) == 0 || len(ids) > 4 {
						t.Fatalf("page %d: %d deals, want 1 to 4", page, len(ids))
					}
					seen = append(seen, ids...)
					more := webtest.Get(t, b, "next link", chromedp.Evaluate[bool](`!!document.getElementById("next-page")`))
					if !more {
						break
					}
					// Follow the link by its href: Navigate waits for the new page's load, so the
					// next read cannot see the old page.
					href := webtest.Get(t, b, "next href", chromedp.Evaluate[string](`document.getElementById("next-page").getAttribute("href")`))
					b.Do(t, "next page", chromedp.Navigate(env.base+"/console/deals"+href), chromedp.WaitVisible(chromedp.ID("first-page")))
				}
				var want []string
				for _, d := range all {
					want = append(want, d.ID)
				}
				if !slices.Equal(seen, want) {
					t.Errorf("pages showed %d deals %v, want %d %v", len(seen), seen, len(want), want)
				}

				// Search by a part of one deal's name.
				target := all[len(all)/2]
				part := target.Name[len(target.Name)/3:]
				b.Do(t, "search",
					chromedp.Navigate(env.base+"/console/deals?connection=sandbox-salesforce"),
					chromedp.WaitVisible(chromedp.ID("q")),
					chromedp.SendKeys(chromedp.ID("q"), part),
				)
				b.Follow(t, "search", chromedp.Click(chromedp.ID("search")))
				b.Do(t, "the deal is found", chromedp.WaitVisible(chromedp.CSS(`#deals tr[data-deal="`+target.ID+`"]`)))
				names := webtest.Get(t, b, "names", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#deals td.deal-name")].map(td => td.firstChild.textContent)`))
				for _, n := range names {
					if !strings.Contains(strings.ToLower(n), strings.ToLower(part)) {
						t.Errorf("search %q shows %q", part, n)
					}
				}
				b.Screenshot(t, *update, "console-deals.png")

				// Amount range, on both CRMs (Salesforce sends numbers, HubSpot text).
				for _, conn := range []string{"sandbox-salesforce", "sandbox-hubspot"} {
					deals, _, err := dealSource{env.rt}.Deals(ctx, conn, instantiate.ListQuery{Limit: 500})
					if err != nil {
						t.Fatal(err)
					}
					amounts := make([]float64, 0, len(deals))
					for _, d := range deals {
						amounts = append(amounts, d.Amount)
					}
					slices.Sort(amounts)
					lo, hi := amounts[len(amounts)/4], amounts[3*len(amounts)/4]
					var want []string
					for _, d := range deals {
						if d.Amount >= lo && d.Amount <= hi {
							want = append(want, d.ID)
						}
					}
					b.Do(t, "amount range", chromedp.Navigate(fmt.Sprintf("%s/console/deals?connection=%s&limit=500&min_amount=%g&max_amount=%g", env.base, conn, lo, hi)),
						chromedp.WaitVisible(chromedp.ID("min_amount")))
					got := webtest.Get(t, b, "ids", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#deals tr[data-deal]")].map(tr => tr.dataset.deal)`))
					if !slices.Equal(got, want) || len(want) == 0 {
						t.Errorf("%s amounts %g..%g: got %v, want %v", conn, lo, hi, got, want)
					}
				}
			})

			t.Run("create_plan", func(t *testing.T) {
				// A deal and a template it has no plan from.
				deal, tpl := dealWithoutPlanFrom(t, env)
				b := webtest.New(t, 30*time.Second)
				b.SignIn(t, env.base, env.token)
				b.Do(t, "open the create-plan page",
					chromedp.Navigate(env.base+"/console/deals/sandbox-salesforce/"+deal.ID+"/plan"),
					chromedp.WaitVisible(chromedp.ID("template")),
				)
				// Apply the template. (Changing the select submits its form by itself, data-autosubmit;
				// setting it and clicking too would load the page twice, so the test follows the
				// form's GET as the button would.)
				b.Do(t, "apply the template",
					chromedp.Navigate(env.base+"/console/deals/sandbox-salesforce/"+deal.ID+"/plan?template="+url.QueryEscape(tpl)),
					chromedp.WaitVisible(chromedp.ID("get-started")))
				if got := webtest.Get(t, b, "chosen template", chromedp.Value(chromedp.ID("template"))); got != tpl {
					t.Fatalf("template select shows %q, want %q", got, tpl)
				}
				// A manual role filled from the deal's contacts, when the template has one.
				role := webtest.Get(t, b, "manual role", chromedp.Evaluate[string](`(document.querySelector("select[name^=role_]")||{}).name||""`))
				contact := ""
				if role != "" {
					contact = webtest.Get(t, b, "first contact", chromedp.Evaluate[string](`(document.querySelector("select[name=`+role+`] option:nth-child(2)")||{}).value||""`))
					if contact != "" {
						b.Do(t, "pick a contact", chromedp.SetValue(chromedp.CSS("select[name="+role+"]"), contact))
					}
				}
				t.Logf("deal %s, template %s, manual role %q, contact %q", deal.ID, tpl, role, contact)
				b.Screenshot(t, *update, "console-new-plan.png")
				b.Do(t, "review and get started",
					chromedp.SendKeys(chromedp.ID("name"), "Console plan <b>bold</b>"),
					chromedp.SendKeys(chromedp.ID("welcome_message"), "Welcome from the console"),
				)
				b.Follow(t, "get started", chromedp.Click(chromedp.ID("get-started")))
				b.Do(t, "created", chromedp.WaitVisible(chromedp.CSS(".flash-ok")))
				list, _, err := env.rt.store.ListPlans(ctx, plans.PlanFilter{Connection: "sandbox-salesforce", DealID: deal.ID, Limit: 50})
				if err != nil {
					t.Fatal(err)
				}
				var made *plans.Plan
				for _, ps := range list {
					if ps.TemplateKey == tpl {
						if made, err = env.rt.store.Plan(ctx, ps.ID); err != nil {
							t.Fatal(err)
						}
					}
				}
				if made == nil {
					t.Fatalf("no plan from %s for deal %s after Get started", tpl, deal.ID)
				}
				if made.Name != "Console plan <b>bold</b>" || made.WelcomeMessage != "Welcome from the console" {
					t.Errorf("plan texts: got %q / %q", made.Name, made.WelcomeMessage)
				}
				if contact != "" {
					found := false
					for _, m := range made.Members {
						found = found || (m.CRMID == contact && "role_"+m.Role == role)
					}
					if !found {
						t.Errorf("role %s: contact %s is not a member: %+v", role, contact, made.Members)
					}
				}
				if got := webtest.Get(t, b, "listed plan", chromedp.Text(chromedp.CSS(`#plans tr[data-plan="`+made.ID+`"] td a`))); got != made.Name {
					t.Errorf("plans list after creation shows %q, want %q", got, made.Name)
				}
			})
		})
	}
}

// dealWithoutPlanFrom returns a Salesforce sandbox deal and the key of a template it has no
// plan from.
func dealWithoutPlanFrom(t *testing.T, env *consoleEnv) (instantiate.Listing, string) {
	t.Helper()
	ctx := context.Background()
	deals, _, err := dealSource{env.rt}.Deals(ctx, "sandbox-salesforce", instantiate.ListQuery{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := env.rt.store.Templates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range deals {
		list, _, err := env.rt.store.ListPlans(ctx, plans.PlanFilter{Connection: "sandbox-salesforce", DealID: d.ID, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		for _, tp := range ts {
			if !slices.ContainsFunc(list, func(p plans.PlanSummary) bool { return p.TemplateKey == tp.Key }) {
				return d, tp.Key
			}
		}
	}
	t.Fatalf("every one of %d deals has a plan from every one of %d templates", len(deals), len(ts))
	return instantiate.Listing{}, ""
}

// TestConsoleMappingsAndPush: a mapping problem found against the CRM's live metadata shows at
// its field; a preview and a dry run show; a dead letter (a deal the CRM refused) shows the CRM's
// message, and Retry from the console writes it.
func TestConsoleMappingsAndPush(t *testing.T) {
	for _, backend := range browserBackends {
		t.Run(backend, func(t *testing.T) {
			// The HubSpot mapping writes a field the CRM does not have.
			env := startConsole(t, backend, 10, func(cfg string) string {
				cfg = strings.Replace(cfg, "        map_status: plan.status\n", "        map_status: plan.status\n        map_stage: plan.status\n", 1)
				return strings.Replace(cfg, "map_plan_url]", "map_plan_url, map_stage]", 1)
			})
			ctx := context.Background()

			t.Run("problem_at_its_field", func(t *testing.T) {
				b := webtest.New(t, 30*time.Second)
				b.SignIn(t, env.base, env.token)
				b.Do(t, "mappings of the HubSpot connection", chromedp.Navigate(env.base+"/console/mappings?connection="+hsConn), chromedp.WaitVisible(chromedp.ID("check")))
				b.Follow(t, "check against the CRM", chromedp.Click(chromedp.ID("check")))
				b.Do(t, "the check's outcome", chromedp.WaitVisible(chromedp.ID("check-problems")))
				got := webtest.Get(t, b, "problem at map_stage", chromedp.Text(chromedp.CSS(`#field-map_stage td.check .problem`)))
				if !strings.Contains(got, "no such field on the CRM's deal object") {
					t.Errorf("problem at map_stage: got %q", got)
				}
				if ok := webtest.Get(t, b, "map_status row", chromedp.Text(chromedp.CSS(`#field-map_status td.check`))); strings.TrimSpace(ok) != "ok" {
					t.Errorf("map_status (a valid field) shows %q, want ok", ok)
				}
				b.Screenshot(t, *update, "console-mappings.png")
			})

			t.Run("preview_and_dry_run", func(t *testing.T) {
				deal := firstPlannedDeal(t, env, sfConn)
				b := webtest.New(t, 30*time.Second)
				b.SignIn(t, env.base, env.token)
				b.Do(t, "preview a deal",
					chromedp.Navigate(env.base+"/console/mappings?connection="+sfConn),
					chromedp.WaitVisible(chromedp.ID("deal")),
					chromedp.SendKeys(chromedp.ID("deal"), deal),
				)
				b.Follow(t, "preview", chromedp.Click(chromedp.ID("preview")))
				b.Do(t, "the preview", chromedp.WaitVisible(chromedp.CSS(`#preview-fields tr[data-field="MAP_Plan_URL__c"]`)))
				url := webtest.Get(t, b, "computed plan URL", chromedp.Text(chromedp.CSS(`#preview-fields tr[data-field="MAP_Plan_URL__c"] td:nth-child(3)`)))
				if !strings.Contains(url, "/") {
					t.Errorf("computed MAP_Plan_URL__c: got %q, want the plan's URL", url)
				}
				b.Follow(t, "dry run", chromedp.Click(chromedp.ID("dry-run")))
				b.Do(t, "the dry run's summary", chromedp.WaitVisible(chromedp.ID("dry-run-summary")))
			})

			t.Run("dead_letter_retried", func(t *testing.T) {
				bad := firstPlannedDeal(t, env, sfConn)
				if err := env.sb.Salesforce.FailNextWrite(bad, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Progress cannot be set while the deal is in legal review"); err != nil {
					t.Fatal(err)
				}
				p, err := env.rt.pusher(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := env.rt.store.MarkDealPlans(ctx, sfConn, []string{bad}); err != nil {
					t.Fatal(err)
				}
				if sum, err := p.Push(ctx, sfConn, push.Options{}); err != nil || sum.DeadLetters != 1 {
					t.Fatalf("push: %+v %v, want one dead letter", sum, err)
				}
				b := webtest.New(t, 30*time.Second)
				b.SignIn(t, env.base, env.token)
				row := `#dead-letters tr[data-deal="` + bad + `"]`
				b.Do(t, "the dead letters", chromedp.Navigate(env.base+"/console/push?connection="+sfConn), chromedp.WaitVisible(chromedp.CSS(row)))
				if msg := webtest.Get(t, b, "CRM message", chromedp.Text(chromedp.CSS(row+" td.crm-message"))); !strings.Contains(msg, "legal review") || !strings.Contains(msg, "FIELD_CUSTOM_VALIDATION_EXCEPTION") {
					t.Errorf("dead letter shows %q, want the CRM's code and message", msg)
				}
				b.Screenshot(t, *update, "console-push.png")
				b.Follow(t, "retry", chromedp.Click(chromedp.CSS(row+" button.retry")))
				b.Do(t, "retried", chromedp.WaitVisible(chromedp.CSS(".flash-ok")))
				if msg := webtest.Get(t, b, "flash", chromedp.Text(chromedp.CSS(".flash-ok"))); !strings.Contains(msg, "1 deal written") {
					t.Errorf("flash after retry: %q", msg)
				}
				dls, err := env.rt.store.DeadLetters(ctx, sfConn, 0)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range dls {
					if d.CRMID == bad {
						t.Errorf("dead letter of %s kept after a successful retry", bad)
					}
				}
				if got := (&pushFixture{sb: env.sb}).readDeal(t, sfConn, bad)["MAP_Plan_URL__c"]; got == nil || got == "" {
					t.Errorf("retried deal %s: MAP_Plan_URL__c not written in the sandbox", bad)
				}
				// Its push log shows the refusal and the write.
				b.Do(t, "push log", chromedp.Navigate(env.base+"/console/push?connection="+sfConn+"&deal="+bad), chromedp.WaitVisible(chromedp.ID("push-log")))
				log := webtest.Get(t, b, "push log text", chromedp.Text(chromedp.ID("push-log")))
				if !strings.Contains(log, "dead_letter") || !strings.Contains(log, "written") {
					t.Errorf("push log: %q, want the dead letter and the write", log)
				}
			})
		})
	}
}

// firstPlannedDeal returns a deal of connection that has a plan.
func firstPlannedDeal(t *testing.T, env *consoleEnv, connection string) string {
	t.Helper()
	list, _, err := env.rt.store.ListPlans(context.Background(), plans.PlanFilter{Connection: connection, Limit: 1})
	if err != nil || len(list) == 0 {
		t.Fatalf("no plan on %s: %v", connection, err)
	}
	return list[0].DealID
}

// TestConsoleTemplates: templates are listed and shown (roles, phases, actions, due rules); an
// imported document with problems shows each at its path; a good one is imported.
func TestConsoleTemplates(t *testing.T) {
	for _, backend := range browserBackends {
		t.Run(backend, func(t *testing.T) {
			env := startConsole(t, backend, 4)
			ctx := context.Background()

			t.Run("list_and_view", func(t *testing.T) {
				ts, err := env.rt.store.Templates(ctx)
				if err != nil || len(ts) == 0 {
					t.Fatalf("templates: %d %v", len(ts), err)
				}
				b := webtest.New(t, 30*time.Second)
				b.SignIn(t, env.base, env.token)
				b.Do(t, "templates", chromedp.Navigate(env.base+"/console/templates"), chromedp.WaitVisible(chromedp.ID("templates")))
				keys := webtest.Get(t, b, "keys", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#templates tr[data-key]")].map(tr => tr.dataset.key)`))
				if len(keys) != len(ts) {
					t.Errorf("listed %v, want %d templates", keys, len(ts))
				}
				b.Follow(t, "open one", chromedp.Click(chromedp.CSS(`#templates tr[data-key="`+ts[0].Key+`"] a`)))
				b.Do(t, "its roles", chromedp.WaitVisible(chromedp.ID("roles")))
				phases := webtest.Get(t, b, "phases", chromedp.Evaluate[int](`document.querySelectorAll("table.phase").length`))
				if phases != len(ts[0].Phases) {
					t.Errorf("%d phases shown, want %d", phases, len(ts[0].Phases))
				}
				b.Screenshot(t, *update, "console-template.png")
			})

			t.Run("import_problems_at_paths", func(t *testing.T) {
				bad := "key: console-test\nname: Console test\nroles:\n  - {key: seller, label: Seller, side: nowhere}\nphases:\n  - key: p1\n    name: One\n    actions:\n      - {key: a1, title: First, type: teleport, owner: seller}\n"
				b := webtest.New(t, 30*time.Second)
				b.SignIn(t, env.base, env.token)
				b.Do(t, "paste a bad template", chromedp.Navigate(env.base+"/console/templates"), chromedp.WaitVisible(chromedp.ID("document")),
					chromedp.SetValue(chromedp.ID("document"), bad))
				b.Follow(t, "import", chromedp.Click(chromedp.ID("import")))
				b.Do(t, "the problems", chromedp.WaitVisible(chromedp.ID("import-problems")))
				paths := webtest.Get(t, b, "paths", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#import-problems li")].map(li => li.dataset.path)`))
				for _, want := range []string{"roles[0].side", "phases[0].actions[0].type"} {
					if !slices.Contains(paths, want) {
						t.Errorf("problem paths %q lack %q", paths, want)
					}
				}
				if _, err := env.rt.store.Template(ctx, "console-test", 0); err == nil {
					t.Errorf("a template with problems was imported")
				}
				if got := webtest.Get(t, b, "kept document", chromedp.Value(chromedp.ID("document"))); got != bad {
					t.Errorf("the pasted document was not kept for fixing: %q", got)
				}
				// Fixed, and uploaded as a file, it imports.
				fixed := filepath.Join(t.TempDir(), "console-test.yaml")
				if err := os.WriteFile(fixed, []byte(strings.NewReplacer("nowhere", "seller", "teleport", "task").Replace(bad)), 0o600); err != nil {
					t.Fatal(err)
				}
				b.Do(t, "upload the fixed file", chromedp.Clear(chromedp.ID("document")), chromedp.SetUploadFiles(chromedp.ID("file"), []string{fixed}))
				b.Follow(t, "import again", chromedp.Click(chromedp.ID("import")))
				b.Do(t, "imported", chromedp.WaitVisible(chromedp.CSS(".flash-ok")), chromedp.WaitVisible(chromedp.ID("roles")))
				if tp, err := env.rt.store.Template(ctx, "console-test", 0); err != nil || tp.Version != 1 {
					t.Errorf("imported template: %+v %v", tp, err)
				}
			})
		})
	}
}

// TestConsoleRunsAndPlans: "Pull now" starts a manual run that the Runs page then shows with its
// counts; the Plans page filters by progress status as the API does.
func TestConsoleRunsAndPlans(t *testing.T) {
	for _, backend := range browserBackends {
		t.Run(backend, func(t *testing.T) {
			env := startConsole(t, backend, 8)
			ctx := context.Background()

			t.Run("pull_now", func(t *testing.T) {
				_, sc, err := env.rt.connection(ctx, hsConn)
				if err != nil {
					t.Fatal(err)
				}
				before, err := env.rt.store.Runs(ctx, sc.ID, 100)
				if err != nil {
					t.Fatal(err)
				}
				b := webtest.New(t, 60*time.Second)
				b.SignIn(t, env.base, env.token)
				b.Do(t, "connections", chromedp.Navigate(env.base+"/console/"), chromedp.WaitVisible(chromedp.ID("conn-"+hsConn)))
				b.Follow(t, "pull now", chromedp.Click(chromedp.CSS(`section[aria-labelledby="conn-`+hsConn+`"] button.primary`)))
				b.Do(t, "started", chromedp.WaitVisible(chromedp.CSS(".flash-ok")))
				if msg := webtest.Get(t, b, "flash", chromedp.Text(chromedp.CSS(".flash-ok"))); !strings.Contains(msg, "A pull of "+hsConn+" has started") {
					t.Errorf("flash: %q", msg)
				}
				var run store.Run
				waitFor(t, 30*time.Second, "the manual run succeeded", func() (bool, string) {
					runs, err := env.rt.store.Runs(ctx, sc.ID, 100)
					if err != nil || len(runs) <= len(before) {
						return false, fmt.Sprintf("%d runs, %v", len(runs), err)
					}
					run = runs[0]
					return run.Trigger == store.TriggerManual && run.Status == store.RunSucceeded, fmt.Sprintf("%+v", run)
				})
				row := fmt.Sprintf("#run-%d", run.ID)
				b.Do(t, "runs", chromedp.Navigate(env.base+"/console/runs?connection="+hsConn), chromedp.WaitVisible(chromedp.CSS(row)))
				text := webtest.Get(t, b, "run row", chromedp.Text(chromedp.CSS(row)))
				for _, want := range []string{"succeeded", "manual", "deal:", "contact:"} {
					if !strings.Contains(text, want) {
						t.Errorf("run row %q lacks %q", text, want)
					}
				}
				b.Screenshot(t, *update, "console-runs.png")
			})

			t.Run("plans_by_progress", func(t *testing.T) {
				all, _, err := env.rt.store.ListPlans(ctx, plans.PlanFilter{Progress: plans.ProgressOnTrack, Limit: 500, Now: time.Now()})
				if err != nil || len(all) == 0 {
					t.Fatalf("on-track plans: %d %v", len(all), err)
				}
				b := webtest.New(t, 30*time.Second)
				b.SignIn(t, env.base, env.token)
				b.Do(t, "plans on track", chromedp.Navigate(env.base+"/console/plans?status=on_track"), chromedp.WaitVisible(chromedp.ID("plans")))
				ids := webtest.Get(t, b, "ids", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#plans tr[data-plan]")].map(tr => tr.dataset.plan)`))
				want := make([]string, 0, len(all))
				for _, p := range all {
					want = append(want, p.ID)
				}
				if !slices.Equal(ids, want) {
					t.Errorf("on_track plans shown %v, want %v", ids, want)
				}
				badges := webtest.Get(t, b, "badges", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#plans .badge")].map(e => e.textContent)`))
				for _, bd := range badges {
					if bd != "on_track" {
						t.Errorf("a plan listed as on_track shows %q", bd)
					}
				}
				b.Screenshot(t, *update, "console-plans.png")
			})
		})
	}
}
