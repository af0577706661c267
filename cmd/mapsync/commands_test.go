package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/secrets"
	"github.com/mapsync/mapsync/store/storetest"
)

// sandboxConfig starts both sandboxes in-process and writes a config for them on the database
// url; it returns the config path.
func sandboxConfig(t *testing.T, dbURL string, deals int) string {
	t.Helper()
	path, _ := sandboxConfigWith(t, dbURL, deals, nil)
	return path
}

// sandboxConfigWith is sandboxConfig with an edit of the config text, returning the sandboxes.
func sandboxConfigWith(t *testing.T, dbURL string, deals int, edit func(string) string) (string, *sandboxes) {
	t.Helper()
	a := &app{stdout: &strings.Builder{}, stderr: &strings.Builder{}}
	a.setupLogger()
	sb, err := a.startSandboxes(sandboxOptions{sfAddr: "127.0.0.1:0", hsAddr: "127.0.0.1:0", deals: deals, seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	path := filepath.Join(t.TempDir(), "mapsync.yaml")
	cfg := strings.Replace(sb.configYAML(dbURL), "templates:\n  dir: examples/templates\n", "templates:\n  dir: "+filepath.Join("..", "..", "examples", "templates")+"\n", 1)
	if edit != nil {
		cfg = edit(cfg)
	}
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, sb
}

func mustRun(t testing.TB, args ...string) string {
	t.Helper()
	code, out, errOut := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("mapsync %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// migratedSandbox sets a fresh MAPSYNC_SECRET_KEY, starts both sandboxes with deals each, writes a
// config for them on a new SQLite database (edited by edit, when not nil) and migrates it.
func migratedSandbox(t *testing.T, deals int, edit func(string) string) (string, *sandboxes) {
	t.Helper()
	key, _ := secrets.GenerateKey()
	t.Setenv(secrets.EnvKey, key)
	t.Setenv(config.EnvDatabaseURL, "")
	cfg, sb := sandboxConfigWith(t, "sqlite:"+filepath.Join(t.TempDir(), "m.db"), deals, edit)
	mustRun(t, "--config", cfg, "migrate", "up")
	return cfg, sb
}

// startCLI runs the CLI in the background, as a long-running command (serve, sandbox) runs. The
// returned stop interrupts it as Ctrl-C would and returns its exit code, failing the test if it
// has not stopped within 20s.
func startCLI(t *testing.T, stdout io.Writer, args ...string) (stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, stdout, &strings.Builder{}) }()
	t.Cleanup(cancel)
	return func() int {
		t.Helper()
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(20 * time.Second):
			t.Fatalf("mapsync %s did not stop after an interrupt", strings.Join(args, " "))
			return -1
		}
	}
}

func TestSandboxSyncTemplatesPlansTokens(t *testing.T) {
	key, _ := secrets.GenerateKey()
	t.Setenv(secrets.EnvKey, key)
	t.Setenv(config.EnvDatabaseURL, "")
	for name, db := range map[string]string{"sqlite": "sqlite:" + filepath.Join(t.TempDir(), "m.db"), "postgres": storetest.NewSchema(t)} {
		t.Run(name, func(t *testing.T) {
			cfg := sandboxConfig(t, db, 40)
			mustRun(t, "--config", cfg, "config", "validate")
			mustRun(t, "--config", cfg, "migrate", "up")

			// sync run prints a JSON summary with what it stored.
			out := mustRun(t, "--config", cfg, "--log-level", "error", "sync", "run", "--connection", "sandbox-hubspot", "--output", "json")
			var sum struct {
				Status  string `json:"status"`
				Objects []struct {
					Object   string `json:"object"`
					Inserted int    `json:"inserted"`
				} `json:"objects"`
				APICalls int `json:"api_calls"`
			}
			if err := json.Unmarshal([]byte(out), &sum); err != nil {
				t.Fatalf("sync run json: %v\n%s", err, out)
			}
			if sum.Status != "succeeded" || sum.APICalls == 0 {
				t.Fatalf("summary: %+v", sum)
			}
			for _, o := range sum.Objects {
				if o.Object == "deal" && o.Inserted != 40 {
					t.Fatalf("inserted %d deals, want 40", o.Inserted)
				}
			}
			text := mustRun(t, "--config", cfg, "--log-level", "error", "sync", "run", "--connection", "sandbox-salesforce")
			if !strings.Contains(text, "succeeded") || !strings.Contains(text, "OBJECT") {
				t.Fatalf("text summary: %s", text)
			}
			// A wrong MAPSYNC_SECRET_KEY: one mention of the token, the ways out named.
			other, _ := secrets.GenerateKey()
			t.Setenv(secrets.EnvKey, other)
			code, _, errOut := runCLI(t, "--config", cfg, "--log-level", "error", "sync", "run", "--connection", "sandbox-salesforce")
			if code != 1 || strings.Count(errOut, "load token") != 1 || !strings.Contains(errOut, "MAPSYNC_SECRET_KEY differs") ||
				!strings.Contains(errOut, "`mapsync connections reauth sandbox-salesforce`") {
				t.Fatalf("wrong key: exit %d, stderr %q; want 1, the token named once, the key and `connections reauth` named", code, errOut)
			}
			t.Setenv(secrets.EnvKey, key)
			code, _, errOut = runCLI(t, "--config", cfg, "sync", "run", "--connection", "nope")
			if code != 1 || !strings.Contains(errOut, `no connection named "nope"`) || !strings.Contains(errOut, "sandbox-hubspot") {
				t.Fatalf("unknown connection: %d %q", code, errOut)
			}

			// templates: import twice (second is unchanged), list, export round-trips through validate.
			if out := mustRun(t, "--config", cfg, "templates", "import"); !strings.Contains(out, "imported") {
				t.Fatalf("import: %s", out)
			}
			if out := mustRun(t, "--config", cfg, "templates", "import"); strings.Contains(out, "imported ") || !strings.Contains(out, "unchanged") {
				t.Fatalf("second import: %s", out)
			}
			if out := mustRun(t, "--config", cfg, "templates", "list"); !strings.Contains(out, "enterprise-new-business") {
				t.Fatalf("list: %s", out)
			}
			exported := filepath.Join(t.TempDir(), "default.yaml")
			os.WriteFile(exported, []byte(mustRun(t, "--config", cfg, "templates", "export", "default")), 0o600)
			if out := mustRun(t, "templates", "validate", exported); !strings.Contains(out, "ok  default") {
				t.Fatalf("exported template does not validate: %s", out)
			}
			// validate, like import, reads templates.dir when given no file.
			if out := mustRun(t, "--config", cfg, "templates", "validate"); !strings.Contains(out, "ok  enterprise-new-business") {
				t.Fatalf("validate without arguments: %s", out)
			}
			if code, _, errOut := runCLI(t, "--config", cfg, "templates", "export", "nope"); code != 1 ||
				strings.Contains(errOut, "version 0") || !strings.Contains(errOut, "template nope: not found") {
				t.Fatalf("export of an unknown template: exit %d, stderr %q; want 1 and `template nope: not found`", code, errOut)
			}

			// plans create: the first deal of the HubSpot sandbox (open deals match the default template).
			dealID := firstOpenDeal(t, cfg)
			out = mustRun(t, "--config", cfg, "plans", "create", "--connection", "sandbox-hubspot", "--deal", dealID, "--template", "default", "--output", "json")
			var plan struct {
				ID       string            `json:"id"`
				DealID   string            `json:"deal_id"`
				Phases   []json.RawMessage `json:"phases"`
				Progress struct {
					Status string `json:"status"`
				} `json:"progress"`
			}
			if err := json.Unmarshal([]byte(out), &plan); err != nil || plan.DealID != dealID || len(plan.Phases) == 0 || plan.Progress.Status == "" {
				t.Fatalf("plans create json: %v %s", err, out)
			}
			if out := mustRun(t, "--config", cfg, "plans", "create", "--connection", "sandbox-hubspot", "--deal", dealID, "--template", "default"); !strings.HasPrefix(out, "existing plan "+plan.ID) {
				t.Fatalf("second create: %s", out)
			}
			if code, _, errOut := runCLI(t, "--config", cfg, "plans", "create", "--connection", "sandbox-hubspot", "--deal", "424242"); code != 1 ||
				!strings.Contains(errOut, "deal 424242 is not among the deals pulled from sandbox-hubspot") ||
				!strings.Contains(errOut, "`mapsync sync run --connection sandbox-hubspot`") {
				t.Fatalf("unknown deal: exit %d, stderr %q; want 1 and the pull to run first", code, errOut)
			}
			// A closed deal: each template's rule, and why it passed the deal over, once.
			closed := firstDeal(t, cfg, true)
			code, _, errOut = runCLI(t, "--config", cfg, "plans", "create", "--connection", "sandbox-hubspot", "--deal", closed)
			if code != 1 || strings.Count(errOut, "no template") != 1 || !strings.Contains(errOut, "\n  default: !deal.is_closed is false (deal.is_closed = true)\n") ||
				!strings.Contains(errOut, "--template KEY") {
				t.Fatalf("closed deal: exit %d, stderr:\n%s\nwant 1, one line per template with the reason", code, errOut)
			}

			// tokens: the token alone on stdout; it authenticates against serve.
			tok := strings.TrimSpace(mustRun(t, "--config", cfg, "tokens", "create", "ci"))
			if strings.ContainsAny(tok, " \n") || !strings.HasPrefix(tok, "msk_") {
				t.Fatalf("token output %q", tok)
			}
			if out := mustRun(t, "--config", cfg, "tokens", "list"); !strings.Contains(out, "ci") || strings.Contains(out, tok) {
				t.Fatalf("tokens list: %s", out)
			}
			addr := freeAddr(t)
			stop := startCLI(t, &strings.Builder{}, "--config", cfg, "--log-level", "error", "serve", "--addr", addr)
			body := waitGet(t, "http://"+addr+"/api/v1/plans/"+plan.ID, tok)
			if !strings.Contains(body, plan.ID) {
				t.Fatalf("GET plan through serve: %s", body)
			}
			if code := stop(); code != 0 {
				t.Fatalf("serve exited %d after interrupt", code)
			}
		})
	}
}

// firstOpenDeal returns the id of a pulled HubSpot deal that is still open.
func firstOpenDeal(t *testing.T, cfg string) string {
	t.Helper()
	return firstDeal(t, cfg, false)
}

// firstDeal returns the id of a pulled HubSpot deal that is closed, or open.
func firstDeal(t *testing.T, cfg string, closed bool) string {
	t.Helper()
	ctx := context.Background()
	a := &app{stdout: &strings.Builder{}, stderr: &strings.Builder{}, configPath: cfg}
	rt, err := a.newRuntime(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	in, err := rt.instantiator(ctx, "sandbox-hubspot")
	if err != nil {
		t.Fatal(err)
	}
	_, sc, err := rt.connection(ctx, "sandbox-hubspot")
	if err != nil {
		t.Fatal(err)
	}
	ids, _, err := rt.store.DealsSyncedAfter(ctx, sc.ID, connectors.Cursor{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		d, err := in.Deal(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.IsClosed == closed {
			return id
		}
	}
	t.Fatalf("no deal pulled with closed %v", closed)
	return ""
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// waitGet polls url with a bearer token until it answers 200 or 20 s pass, and returns the body.
func waitGet(t *testing.T, url, token string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b := new(strings.Builder)
			_, _ = fmt.Fprint(b, readAll(resp))
			if resp.StatusCode == http.StatusOK {
				return b.String()
			}
			last = fmt.Sprintf("status %d: %s", resp.StatusCode, b)
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("GET %s never answered 200; last: %s", url, last)
	return ""
}

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

func TestDemo(t *testing.T) {
	t.Setenv(secrets.EnvKey, "")
	t.Setenv(config.EnvDatabaseURL, "")
	db := filepath.Join(t.TempDir(), "demo.db")
	code, out, errOut := runCLI(t, "demo", "--deals", "30", "--database", "sqlite:"+db)
	if code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"pulling sandbox-salesforce", "pulling sandbox-hubspot", "(full, first pull): succeeded",
		"deals evaluated: ", " got new plans", "plans created (", "sample plan", "done: ", "events recorded",
		"its webhook arrived, a job fetched the deal by id and its plan was made", "its deletion webhook marked it deleted"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(errOut, "ERR") {
		t.Errorf("demo logged errors:\n%s", errOut)
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("--database %s: %v; want the database kept", db, err)
	}
}

// TestDemoLeavesNothingBehind: without --database the demo's temporary database is removed.
func TestDemoLeavesNothingBehind(t *testing.T) {
	t.Setenv(secrets.EnvKey, "")
	t.Setenv(config.EnvDatabaseURL, "")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	if code, out, errOut := runCLI(t, "demo", "--deals", "10"); code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", code, out, errOut)
	}
	left, _ := os.ReadDir(tmp)
	for _, e := range left {
		t.Errorf("the demo left %s in the temporary folder", e.Name())
	}
}

// TestDemoServeBusyPort: --serve on an address in use fails at once, before the story runs.
func TestDemoServeBusyPort(t *testing.T) {
	t.Setenv(secrets.EnvKey, "")
	t.Setenv(config.EnvDatabaseURL, "")
	t.Setenv("TMPDIR", t.TempDir())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, out, errOut := runCLI(t, "demo", "--deals", "10", "--serve", "--addr", ln.Addr().String())
	if code != 1 || !strings.Contains(errOut, "--addr: listen on "+ln.Addr().String()) {
		t.Fatalf("got exit %d, stderr %q; want 1 naming the busy address", code, errOut)
	}
	if strings.Contains(out, "sandboxes") || strings.Contains(out, "pulling") {
		t.Fatalf("the story ran before the address was checked:\n%s", out)
	}
}

func TestSandboxCommand(t *testing.T) {
	sfAddr, hsAddr := freeAddr(t), freeAddr(t)
	cfgPath := filepath.Join(t.TempDir(), "sandbox.yaml")
	var out strings.Builder
	stop := startCLI(t, &syncWriter{b: &out}, "sandbox", "--salesforce-addr", sfAddr, "--hubspot-addr", hsAddr, "--deals", "25", "--seed", "9", "--write-config", cfgPath)
	// The HubSpot sandbox answers with the private-app token the command printed.
	body := waitGet(t, "http://"+hsAddr+"/crm/v3/objects/deals?limit=100", "sandbox-token")
	var page struct {
		Results []json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil || len(page.Results) != 25 {
		t.Fatalf("deals page: %v, %d results, want 25", err, len(page.Results))
	}
	if _, err := config.LoadFile(cfgPath); err != nil {
		t.Fatalf("written config does not load: %v", err)
	}
	if code := stop(); code != 0 {
		t.Fatalf("sandbox exited %d", code)
	}
	for _, want := range []string{"Salesforce sandbox: http://" + sfAddr, "HubSpot sandbox: http://" + hsAddr, "sandbox-refresh-token", "25 deals, seed 9", "wrote " + cfgPath} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if code, _, errOut := runCLI(t, "sandbox"); code != 2 || !strings.Contains(errOut, "--salesforce-addr") {
		t.Fatalf("no address: %d %q", code, errOut)
	}
}

// syncWriter guards a builder written by one goroutine and read by another.
type syncWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// The configured daily reserve is the connection's own: with the org at 60% of its daily API
// budget and half of it reserved for other integrations, a pull stops with a clear error. The
// governor learns the usage from the CRM's responses, so the first request of each object may
// pass; 5,000 deals take several pages per object, and the later pages are refused.
func TestConfiguredDailyReserve(t *testing.T) {
	cfg, sb := migratedSandbox(t, 5000, func(s string) string {
		return strings.Replace(s, "    time_zone: Europe/Berlin\n", "    time_zone: Europe/Berlin\n    limits:\n      daily_reserve_percent: 50\n", 1)
	})
	sb.Salesforce.SetAPIUsage(60_000, 100_000)
	code, out, errOut := runCLI(t, "--config", cfg, "--log-level", "error", "sync", "run", "--connection", "sandbox-salesforce")
	if code != 1 || !strings.Contains(errOut+out, "reserve") {
		t.Fatalf("got exit %d\nstdout: %s\nstderr: %s\nwant a failure naming the daily reserve", code, out, errOut)
	}
	// The failure is printed once, by main, and the summary says what kind of run it was.
	if n := strings.Count(out+errOut, "DAILY_RESERVE_REACHED"); n != 1 || !strings.Contains(errOut, "mapsync: ") {
		t.Errorf("the error is printed %d times, want once as `mapsync: ...`\nstdout: %s\nstderr: %s", n, out, errOut)
	}
	if !strings.Contains(out, "(full, first pull): failed") {
		t.Errorf("summary does not say the first pull was a full one that failed:\n%s", out)
	}
	// Below the reserve the same pull runs.
	sb.Salesforce.SetAPIUsage(10_000, 100_000)
	mustRun(t, "--config", cfg, "--log-level", "error", "sync", "run", "--connection", "sandbox-salesforce")
}
