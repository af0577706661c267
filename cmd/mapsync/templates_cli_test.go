package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/connectors"
)

// readExample returns an example template's text.
func readExample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "templates", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTemplateFailuresWriteNothing: validate names the path of a due-rule cycle and exits 1; an
// import of a folder with one bad template imports none of them.
func TestTemplateFailuresWriteNothing(t *testing.T) {
	t.Setenv(config.EnvDatabaseURL, "")
	t.Setenv(EnvConfig, "")
	dir := t.TempDir()
	good := readExample(t, "default.yaml")
	// goals is due after intro_call; make intro_call due after goals.
	cyclic := strings.Replace(good, "due: {from: plan_start, business_days: 3}", "due: {after: goals, business_days: 3}", 1)
	if cyclic == good {
		t.Fatal("the default template changed: fix the test's edit")
	}
	cyclic = strings.Replace(cyclic, "key: default", "key: cyclic", 1)
	tpls := filepath.Join(dir, "templates")
	os.Mkdir(tpls, 0o755)
	os.WriteFile(filepath.Join(tpls, "a-good.yaml"), []byte(good), 0o600)
	os.WriteFile(filepath.Join(tpls, "b-cyclic.yaml"), []byte(cyclic), 0o600)

	code, out, errOut := runCLI(t, "templates", "validate", filepath.Join(tpls, "b-cyclic.yaml"))
	if code != 1 || !strings.Contains(out+errOut, "phases[0].actions[0].due") || !strings.Contains(out+errOut, "cycle") {
		t.Fatalf("validate a cycle: exit %d\nstdout: %s\nstderr: %s\nwant 1, naming the due rule's path and the cycle", code, out, errOut)
	}

	cfg := filepath.Join(dir, "mapsync.yaml")
	os.WriteFile(cfg, []byte("database:\n  url: sqlite:"+filepath.Join(dir, "m.db")+"\ntemplates:\n  dir: "+tpls+"\n"), 0o600)
	mustRun(t, "--config", cfg, "migrate", "up")
	code, out, errOut = runCLI(t, "--config", cfg, "templates", "import")
	if code != 1 || !strings.Contains(out+errOut, "b-cyclic.yaml") {
		t.Fatalf("import with a bad file: exit %d\nstdout: %s\nstderr: %s\nwant 1 naming the file", code, out, errOut)
	}
	if list := mustRun(t, "--config", cfg, "templates", "list"); strings.Contains(list, "default") {
		t.Fatalf("a failed import stored templates:\n%s", list)
	}
}

// TestPlansCreateNoMatch: a closed deal matches no example template: exit 1 saying so, no plan.
func TestPlansCreateNoMatch(t *testing.T) {
	cfg, _ := migratedSandbox(t, 150, nil)
	mustRun(t, "--config", cfg, "--log-level", "error", "sync", "run", "--connection", "sandbox-hubspot")
	mustRun(t, "--config", cfg, "templates", "import")
	if list := mustRun(t, "--config", cfg, "templates", "list"); !lineHas(list, "security-review", "1", "additive", "Security", "review") || !lineHas(list, "default", "1", "0") {
		t.Fatalf("templates list:\n%s\nwant security-review shown as additive, default at priority 0", list)
	}

	ctx := context.Background()
	a := &app{stdout: &strings.Builder{}, stderr: &strings.Builder{}, configPath: cfg}
	rt, err := a.newRuntime(ctx)
	if err != nil {
		t.Fatal(err)
	}
	in, err := rt.instantiator(ctx, "sandbox-hubspot")
	if err != nil {
		t.Fatal(err)
	}
	_, sc, _ := rt.connection(ctx, "sandbox-hubspot")
	ids, _, err := rt.store.DealsSyncedAfter(ctx, sc.ID, connectors.Cursor{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	closed, large := "", ""
	for _, id := range ids {
		d, err := in.Deal(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.IsClosed && closed == "" {
			closed = id
		}
		if !d.IsClosed && d.Amount >= 500000 && large == "" {
			large = id
		}
	}
	rt.Close()
	if closed == "" || large == "" {
		t.Fatalf("no closed deal (%q) or no open deal of 500k or more (%q) among 150: the sandbox data changed", closed, large)
	}
	// A large deal gets its main plan and, besides it, the additive security review: one JSON
	// object each, the main plan first.
	dec := json.NewDecoder(strings.NewReader(mustRun(t, "--config", cfg, "--log-level", "error", "plans", "create", "--connection", "sandbox-hubspot", "--deal", large, "--output", "json")))
	var keys []string
	for dec.More() {
		var p struct {
			DealID      string `json:"deal_id"`
			TemplateKey string `json:"template_key"`
		}
		if err := dec.Decode(&p); err != nil || p.DealID != large {
			t.Fatalf("plans create json stream: %v, %+v", err, p)
		}
		keys = append(keys, p.TemplateKey)
	}
	if len(keys) != 2 || keys[0] == "security-review" || keys[1] != "security-review" {
		t.Fatalf("large deal got plans from %v, want its main template then security-review", keys)
	}
	code, out, errOut := runCLI(t, "--config", cfg, "plans", "create", "--connection", "sandbox-hubspot", "--deal", closed)
	if code != 1 || !strings.Contains(errOut, "deal "+closed+" on sandbox-hubspot matches no template") {
		t.Fatalf("closed deal: exit %d\nstdout: %s\nstderr: %s\nwant 1, matches no template", code, out, errOut)
	}
	if out := mustRun(t, "--config", cfg, "--log-level", "error", "plans", "create", "--connection", "sandbox-hubspot", "--deal", closed, "--template", "default"); !strings.HasPrefix(out, "created plan ") || !strings.Contains(out, "template default v1) for deal "+closed) {
		t.Fatalf("--template default on a closed deal: %s", out)
	}
}
