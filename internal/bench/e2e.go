package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	templates "github.com/mapsync/mapsync/examples/templates"
	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/sync/pull"
)

func init() {
	Register(Scenario{
		Name: "e2e",
		Doc:  "an action's status change through `mapsync serve`'s API to the HubSpot field written by its push job (default 1 s coalescing window): p50 and p99 against 1.5 s and 3 s",
		Run:  runE2E,
	})
}

// e2eChanges is how many status changes are measured at scale 1.
const e2eChanges = 60

// runE2E starts `mapsync serve` as a child process on the stack's database, lets it push the
// plans of a pulled HubSpot sandbox, then changes one action's status through the API again and
// again and measures each time until the deal's map_progress holds the plan's new percentage
// (read from the sandbox in this process every 5 ms). Each change is made at a random point
// within the coalescing window (a pause of 0 to 1 s after the previous one landed), as people's
// clicks are; back to back, every change would wait almost a whole window.
func runE2E(ctx context.Context, env *Env) (Result, error) {
	var r Result
	exe, err := os.Executable()
	if err != nil {
		return r, fmt.Errorf("find the mapsync executable: %w", err)
	}
	st, err := env.Stack(ctx, StackOptions{HubSpot: true, Deals: max(env.Scaled(20), 8)})
	if err != nil {
		return r, err
	}
	defer st.Close()
	docs := map[string][]byte{}
	if err := fs.WalkDir(templates.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		docs[path], err = fs.ReadFile(templates.FS, path)
		return err
	}); err != nil {
		return r, err
	}
	if err := st.ImportTemplates(ctx, docs); err != nil {
		return r, err
	}
	env.Progressf("pulling the HubSpot sandbox and making plans")
	if err := st.PullAndInstantiate(ctx, HubSpotConnection, pull.Request{}); err != nil {
		return r, err
	}
	token, err := st.Store().CreateAPIToken(ctx, "bench-e2e")
	if err != nil {
		return r, err
	}
	dir, err := os.MkdirTemp("", "mapsync-bench-e2e-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	// The templates are in the database already: serve imports no folder.
	yaml := strings.Replace(st.ConfigYAML(), "templates:\n  dir: examples/templates\n", "", 1)
	cfg := filepath.Join(dir, "mapsync.yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		return r, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return r, err
	}
	addr := ln.Addr().String()
	ln.Close()
	base := "http://" + addr
	var logs bytes.Buffer
	cmd := exec.CommandContext(ctx, exe, "--config", cfg, "--log-level", "warn", "serve", "--addr", addr)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MAPSYNC_DATABASE_URL=") && !strings.HasPrefix(kv, "MAPSYNC_CONFIG=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if err := cmd.Start(); err != nil {
		return r, fmt.Errorf("mapsync serve: %w", err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	env.Progressf("serve started; waiting for the first push of every plan")
	if err := until(ctx, 60*time.Second, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false
		}
		marks, err := st.Store().PlanMarks(ctx, 1)
		return err == nil && len(marks) == 0
	}); err != nil {
		return r, fmt.Errorf("serve did not push the plans: %w\n%s", err, logs.String())
	}
	call := func(method, path string, body, out any) error {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequestWithContext(ctx, method, base+path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return json.Unmarshal(b, out)
	}
	// A deal with one plan (the mapping reads its main plan) and the plan's first action.
	list, _, err := st.Store().ListPlans(ctx, plans.PlanFilter{Connection: HubSpotConnection, Limit: 500})
	if err != nil {
		return r, err
	}
	perDeal := map[string]int{}
	for _, p := range list {
		perDeal[p.DealID]++
	}
	var planID, dealID string
	for _, p := range list {
		if perDeal[p.DealID] == 1 {
			planID, dealID = p.ID, p.DealID
			break
		}
	}
	if planID == "" {
		return r, fmt.Errorf("no HubSpot deal with exactly one plan among %d plans", len(list))
	}
	type planView struct {
		Phases []struct {
			Actions []struct {
				ID      string `json:"id"`
				Version int    `json:"version"`
				Status  string `json:"status"`
			} `json:"actions"`
		} `json:"phases"`
		Progress struct {
			PercentComplete int `json:"percent_complete"`
		} `json:"progress"`
	}
	var p planView
	if err := call(http.MethodGet, "/api/v1/plans/"+planID, nil, &p); err != nil {
		return r, err
	}
	if len(p.Phases) == 0 || len(p.Phases[0].Actions) == 0 {
		return r, fmt.Errorf("plan %s has no action", planID)
	}
	a := p.Phases[0].Actions[0]
	n := max(env.Scaled(e2eChanges), 10)
	env.Progressf("%d status changes, each at a random point of its 1 s window", n)
	lat := make([]time.Duration, 0, n)
	for i := range n {
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(rand.N(time.Second)):
		}
		status := "done"
		if a.Status == "done" {
			status = "not_started"
		}
		start := time.Now()
		var act struct {
			Version int    `json:"version"`
			Status  string `json:"status"`
		}
		if err := call(http.MethodPatch, "/api/v1/plans/"+planID+"/actions/"+a.ID, map[string]any{"version": a.Version, "status": status}, &act); err != nil {
			return r, err
		}
		a.Version, a.Status = act.Version, act.Status
		if err := call(http.MethodGet, "/api/v1/plans/"+planID, nil, &p); err != nil {
			return r, err
		}
		want := strconv.Itoa(p.Progress.PercentComplete)
		if err := until(ctx, 15*time.Second, func() bool {
			props, ok := st.HubSpot().Object("deals", dealID)
			return ok && props["map_progress"] == want
		}); err != nil {
			return r, fmt.Errorf("change %d: map_progress of deal %s not %s: %w\n%s", i, dealID, want, err, logs.String())
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	p50, p99 := lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
	r.Add(Figure{Key: "p50_ms", Value: ms(p50), Unit: "ms"}.Below(1500, "target"),
		Figure{Key: "p99_ms", Value: ms(p99), Unit: "ms"}.Below(3000, "target"),
		Figure{Key: "max_ms", Value: ms(lat[len(lat)-1]), Unit: "ms"})
	samples := make([]float64, len(lat))
	for i, d := range lat {
		samples[i] = ms(d)
	}
	r.Charts = append(r.Charts, Chart{File: "e2e-latency", Title: "Action status change to CRM field (push.window 1 s)",
		XLabel: "ms", YLabel: "changes", Kind: ChartHistogram, Series: []Series{{Name: string(env.Backend), Y: samples}}})
	r.Notef("%d changes of one action's status through `mapsync serve`'s API (a child process, default push.window 1s), each after a random pause of 0-1 s; latency: from the API call to the HubSpot sandbox holding the new map_progress (polled every 5 ms)", n)
	return r, nil
}

// until polls cond every 5 ms until it holds, ctx ends or within passes.
func until(ctx context.Context, within time.Duration, cond func() bool) error {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}
