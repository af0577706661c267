package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/plans"
	hssandbox "github.com/mapsync/mapsync/sandbox/hubspot"
	sfsandbox "github.com/mapsync/mapsync/sandbox/salesforce"
	"github.com/mapsync/mapsync/secrets"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// The push pipeline end to end: `mapsync serve` (a subprocess, as in production) pushes plan
// changes to the sandboxes over HTTP through a recording proxy, which counts, per CRM record,
// the writes the CRM accepted (and can hold write requests, to kill serve in the middle of a
// batch). What the CRM holds is read back by an independent client: plain GETs on the sandbox's
// REST API, not through mapsync.

// crmProxy stands between mapsync and one sandbox. It forwards everything; for write requests
// (HubSpot batch/update, Salesforce sObject collections) it counts the records the CRM accepted
// and refused, per record id. With hold set, write requests after the first `hold` ones are
// held until the client goes away (and never reach the CRM).
type crmProxy struct {
	srv    *httptest.Server
	rp     *httputil.ReverseProxy
	kind   string // config.KindHubSpot or config.KindSalesforce
	mu     sync.Mutex
	ok     map[string]int // record id -> writes the CRM accepted
	refuse map[string]int // record id -> writes the CRM refused
	reqs   int            // write requests forwarded
	hold   int            // hold write requests after this many were forwarded; < 0: never
	held   chan struct{}  // receives once per held request
	drops  int            // held requests whose client went away
	end    chan struct{}  // closed when the test ends: held requests give up
}

func newCRMProxy(t testing.TB, target, kind string) *crmProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &crmProxy{kind: kind, ok: map[string]int{}, refuse: map[string]int{}, hold: -1, held: make(chan struct{}, 16), end: make(chan struct{})}
	p.rp = httputil.NewSingleHostReverseProxy(u)
	p.rp.ModifyResponse = p.record
	p.srv = httptest.NewServer(p)
	t.Cleanup(p.srv.Close)
	t.Cleanup(func() { close(p.end) }) // runs first: Close waits for held requests
	return p
}

func (p *crmProxy) isWrite(r *http.Request) bool {
	if p.kind == config.KindHubSpot {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/batch/update")
	}
	return r.Method == http.MethodPatch && strings.Contains(r.URL.Path, "/composite/sobjects")
}

// sentIDs is the context key of a Salesforce write's record ids, in request order.
type sentIDs struct{}

func (p *crmProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.isWrite(r) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		var req struct {
			Records []struct {
				ID string `json:"id"`
			} `json:"records"`
		}
		_ = json.Unmarshal(body, &req)
		ids := make([]string, len(req.Records))
		for i, rec := range req.Records {
			ids[i] = rec.ID
		}
		r = r.WithContext(context.WithValue(r.Context(), sentIDs{}, ids))
		r.Body = io.NopCloser(bytes.NewReader(body))
		p.mu.Lock()
		hold := p.hold >= 0 && p.reqs >= p.hold
		if !hold {
			p.reqs++
		}
		p.mu.Unlock()
		if hold {
			// The body was read: the server notices a client gone only once it has.
			select {
			case p.held <- struct{}{}:
			default:
			}
			select {
			case <-r.Context().Done(): // the client died (kill -9) or gave up: the CRM never sees it
			case <-p.end:
				http.Error(w, "test over", http.StatusServiceUnavailable)
				return
			}
			p.mu.Lock()
			p.drops++
			p.mu.Unlock()
			return
		}
	}
	p.rp.ServeHTTP(w, r)
}

// record counts the records of a write's answer: HubSpot's results (200, 207) by id and its
// errors' ids; Salesforce's save results by position in the request.
func (p *crmProxy) record(resp *http.Response) error {
	if !p.isWrite(resp.Request) {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.kind == config.KindHubSpot {
		var reply struct {
			Results []struct {
				ID string `json:"id"`
			} `json:"results"`
			Errors []struct {
				Context struct {
					IDs []string `json:"ids"`
				} `json:"context"`
			} `json:"errors"`
		}
		_ = json.Unmarshal(body, &reply)
		for _, r := range reply.Results {
			p.ok[r.ID]++
		}
		for _, e := range reply.Errors {
			for _, id := range e.Context.IDs {
				p.refuse[id]++
			}
		}
		return nil
	}
	var results []struct {
		Success bool `json:"success"`
	}
	if json.Unmarshal(body, &results) != nil {
		return nil
	}
	ids, _ := resp.Request.Context().Value(sentIDs{}).([]string)
	for i, r := range results {
		if i >= len(ids) {
			break
		}
		if r.Success {
			p.ok[ids[i]]++
		} else {
			p.refuse[ids[i]]++
		}
	}
	return nil
}

// writes returns a copy of the accepted writes per record and the write requests forwarded.
func (p *crmProxy) writes() (map[string]int, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.ok))
	for k, v := range p.ok {
		out[k] = v
	}
	return out, p.reqs
}

func (p *crmProxy) refused(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refuse[id]
}

func (p *crmProxy) setHold(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hold = n
}

// pushE2E is one end-to-end set-up: the sandboxes (no simulated limits: the test's own reads
// must not eat mapsync's budget), a proxy in front of each, a config pointing mapsync at the
// proxies, and a store handle on the same database for the test's checks.
type pushE2E struct {
	t      testing.TB
	cfg    string
	sb     *sandboxes
	hs, sf *crmProxy
	store  *store.Store
	token  string
	serve  *daemonProc
}

// newPushE2E starts the sandboxes with deals each on a fresh database of backend ("sqlite" or
// "postgres"), with push.lease and push.sweep_interval short so a killed push is taken up
// within seconds, and no schedules (the test pulls with `sync run`).
func newPushE2E(t testing.TB, backend string, deals int, pushYAML ...string) *pushE2E {
	t.Helper()
	key, _ := secrets.GenerateKey()
	t.Setenv(secrets.EnvKey, key)
	t.Setenv(config.EnvDatabaseURL, "")
	db := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	if backend == "postgres" {
		db = storetest.NewSchema(t)
	}
	a := &app{stdout: &strings.Builder{}, stderr: &strings.Builder{}}
	a.setupLogger()
	sb, err := a.startSandboxes(sandboxOptions{sfAddr: "127.0.0.1:0", hsAddr: "127.0.0.1:0", deals: deals, seed: 7, noLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	e := &pushE2E{t: t, sb: sb, hs: newCRMProxy(t, sb.HubSpotURL, config.KindHubSpot), sf: newCRMProxy(t, sb.SalesforceURL, config.KindSalesforce)}
	cfg := sb.configYAML(db)
	cfg = strings.Replace(cfg, "templates:\n  dir: examples/templates\n", "templates:\n  dir: "+filepath.Join("..", "..", "examples", "templates")+"\n", 1)
	cfg = strings.Replace(cfg, "base_url: "+sb.HubSpotURL+"\n", "base_url: "+e.hs.srv.URL+"\n", 1)
	cfg = strings.Replace(cfg, "login_url: "+sb.SalesforceURL+"\n", "login_url: "+e.sf.srv.URL+"\n", 1)
	for _, tz := range []string{"Europe/Berlin", "America/New_York"} {
		cfg = strings.Replace(cfg, "    time_zone: "+tz+"\n", "    time_zone: "+tz+"\n    schedule: \"\"\n    full_schedule: \"\"\n", 1)
	}
	cfg = strings.Replace(cfg, "connections:\n", "push:\n  lease: 3s\n  sweep_interval: 1s\n"+strings.Join(pushYAML, "")+"connections:\n", 1)
	e.cfg = filepath.Join(t.TempDir(), "mapsync.yaml")
	if err := os.WriteFile(e.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "--config", e.cfg, "migrate", "up")
	mustRun(t, "--config", e.cfg, "templates", "import")
	e.token = strings.TrimSpace(mustRun(t, "--config", e.cfg, "tokens", "create", "e2e"))
	e.store, err = store.Open(context.Background(), db, store.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	return e
}

// api calls the serve API with the test's token and decodes the answer into out (when not nil).
func (e *pushE2E) api(method, path string, body any, out any) int {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.serve.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		e.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

type apiPlan struct {
	ID          string `json:"id"`
	DealID      string `json:"deal_id"`
	TemplateKey string `json:"template_key"`
	Version     int    `json:"version"`
	Phases      []struct {
		Actions []struct {
			ID       string `json:"id"`
			Title    string `json:"title"`
			Version  int    `json:"version"`
			Status   string `json:"status"`
			Internal bool   `json:"internal"`
		} `json:"actions"`
	} `json:"phases"`
	Progress struct {
		Status          string `json:"status"`
		PercentComplete int    `json:"percent_complete"`
		NextActionTitle string `json:"next_action_title"`
	} `json:"progress"`
}

// dealPlans returns, per deal of connection, its plans (from the store).
func (e *pushE2E) dealPlans(connection string) map[string][]plans.PlanSummary {
	e.t.Helper()
	out := map[string][]plans.PlanSummary{}
	f := plans.PlanFilter{Connection: connection, Limit: 500}
	for {
		page, next, err := e.store.ListPlans(context.Background(), f)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, p := range page {
			out[p.DealID] = append(out[p.DealID], p)
		}
		if next == "" {
			return out
		}
		f.After = next
	}
}

// hubspotDeal reads a deal's properties from the HubSpot sandbox as any client would.
func (e *pushE2E) hubspotDeal(id string) map[string]*string {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.sb.HubSpotURL+"/crm/v3/objects/deals/"+id+"?properties=map_progress,map_status,map_next_step,map_plan_url", nil)
	req.Header.Set("Authorization", "Bearer "+hssandbox.PrivateAppToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var d struct {
		Properties map[string]*string `json:"properties"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&d) != nil {
		e.t.Fatalf("GET deal %s: %d", id, resp.StatusCode)
	}
	return d.Properties
}

var sfToken struct {
	sync.Mutex
	byURL map[string][2]string // sandbox URL -> access token, instance URL
}

// salesforceOpp reads an Opportunity's MAP fields from the Salesforce sandbox as any client
// would (OAuth refresh-token grant, then the sObject REST resource).
func (e *pushE2E) salesforceOpp(id string) map[string]any {
	e.t.Helper()
	sfToken.Lock()
	if sfToken.byURL == nil {
		sfToken.byURL = map[string][2]string{}
	}
	tok, ok := sfToken.byURL[e.sb.SalesforceURL]
	if !ok {
		resp, err := http.PostForm(e.sb.SalesforceURL+"/services/oauth2/token", url.Values{"grant_type": {"refresh_token"},
			"client_id": {sfsandbox.ClientID}, "client_secret": {sfsandbox.ClientSecret}, "refresh_token": {sfsandbox.RefreshToken}})
		if err != nil {
			sfToken.Unlock()
			e.t.Fatal(err)
		}
		var tr struct {
			AccessToken string `json:"access_token"`
			InstanceURL string `json:"instance_url"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&tr)
		resp.Body.Close()
		tok = [2]string{tr.AccessToken, tr.InstanceURL}
		sfToken.byURL[e.sb.SalesforceURL] = tok
	}
	sfToken.Unlock()
	req, _ := http.NewRequest(http.MethodGet, tok[1]+"/services/data/v62.0/sobjects/Opportunity/"+id+"?fields=MAP_Progress__c,MAP_Status__c,MAP_Next_Step__c,MAP_Plan_URL__c", nil)
	req.Header.Set("Authorization", "Bearer "+tok[0])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		e.t.Fatalf("GET Opportunity %s: %d", id, resp.StatusCode)
	}
	return out
}

// marksLeft counts plan marks not yet pushed.
func (e *pushE2E) marksLeft() int {
	e.t.Helper()
	ms, err := e.store.PlanMarks(context.Background(), 10000)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(ms)
}

// mainPlan returns a deal of connection with exactly one plan, and that plan through the API.
func (e *pushE2E) mainPlan(connection string) apiPlan {
	e.t.Helper()
	byDeal := e.dealPlans(connection)
	deals := make([]string, 0, len(byDeal))
	for d, ps := range byDeal {
		if len(ps) == 1 {
			deals = append(deals, d)
		}
	}
	if len(deals) == 0 {
		e.t.Fatalf("no deal of %s with exactly one plan: %v", connection, byDeal)
	}
	slices.Sort(deals)
	var p apiPlan
	e.api(http.MethodGet, "/api/v1/plans/"+byDeal[deals[0]][0].ID, nil, &p)
	return p
}

// completeNext sets the plan's first open action done through the API, returns the plan as
// the API then shows it.
func (e *pushE2E) completeNext(p apiPlan) apiPlan {
	e.t.Helper()
	for _, ph := range p.Phases {
		for _, a := range ph.Actions {
			if a.Status == "done" || a.Status == "skipped" {
				continue
			}
			e.api(http.MethodPatch, "/api/v1/plans/"+p.ID+"/actions/"+a.ID, map[string]any{"version": a.Version, "status": "done"}, nil)
			var after apiPlan
			e.api(http.MethodGet, "/api/v1/plans/"+p.ID, nil, &after)
			return after
		}
	}
	e.t.Fatalf("plan %s has no open action", p.ID)
	return p
}

// hubspotShows is a waitFor condition: the HubSpot deal shows the plan's progress.
func (e *pushE2E) hubspotShows(p apiPlan) func() (bool, string) {
	return func() (bool, string) {
		props := e.hubspotDeal(p.DealID)
		got := func(k string) string {
			if v := props[k]; v != nil {
				return *v
			}
			return "<null>"
		}
		ok := got("map_progress") == strconv.Itoa(p.Progress.PercentComplete) && got("map_status") == p.Progress.Status
		return ok, fmt.Sprintf("map_progress=%s map_status=%s, want %d %s", got("map_progress"), got("map_status"), p.Progress.PercentComplete, p.Progress.Status)
	}
}

// TestE2EPush, on both databases: plans made by `sync run` (a CLI process) are pushed by serve;
// actions completed through the API reach the HubSpot deal's mapped properties, with their
// types and values as a plain GET reads them; a change that moves no mapped value writes
// nothing (the CRM's write counters stay); and the time from the API call to the field written
// is measured.
func TestE2EPush(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			e := newPushE2E(t, backend, 6)
			e.serve = startServe(t, e.cfg)
			mustRun(t, "--config", e.cfg, "--log-level", "warn", "sync", "run", "--connection", "sandbox-hubspot")
			byDeal := e.dealPlans("sandbox-hubspot")
			if len(byDeal) == 0 {
				t.Fatal("sync run made no plans")
			}
			// Every deal with a plan is pushed once (the CLI's hook enqueued the job).
			waitFor(t, 30*time.Second, "every planned deal written once", func() (bool, string) {
				w, _ := e.hs.writes()
				for d := range byDeal {
					if w[d] != 1 {
						return false, fmt.Sprintf("writes %v, deals %d", w, len(byDeal))
					}
				}
				return e.marksLeft() == 0, "marks left"
			})

			p := e.mainPlan("sandbox-hubspot")
			waitFor(t, 10*time.Second, "deal shows the plan as created", e.hubspotShows(p))
			var lat []time.Duration
			for range 2 {
				start := time.Now()
				p = e.completeNext(p)
				waitFor(t, 15*time.Second, "deal shows the completed action", e.hubspotShows(p))
				lat = append(lat, time.Since(start))
			}
			t.Logf("action status change (API call) to CRM field read back: %v", lat)
			// Types and values as HubSpot returns them: numbers and dates are strings on its wire.
			props := e.hubspotDeal(p.DealID)
			if v := props["map_progress"]; v == nil || *v != strconv.Itoa(p.Progress.PercentComplete) {
				t.Errorf("map_progress = %v, want %d", deref(v), p.Progress.PercentComplete)
			} else if _, err := strconv.ParseFloat(*v, 64); err != nil {
				t.Errorf("map_progress %q is not a number", *v)
			}
			if v := props["map_next_step"]; p.Progress.NextActionTitle != "" && (v == nil || *v != p.Progress.NextActionTitle) {
				t.Errorf("map_next_step = %v, want %q", deref(v), p.Progress.NextActionTitle)
			}
			if v := props["map_plan_url"]; v == nil || !strings.HasSuffix(*v, "/plans/"+p.ID) {
				t.Errorf("map_plan_url = %v, want the plan's URL", deref(v))
			}
			if w, _ := e.hs.writes(); w[p.DealID] != 3 {
				t.Errorf("deal %s written %d times, want 3 (creation, two actions)", p.DealID, w[p.DealID])
			}

			// A second push writes nothing: a comment changes the plan, not a mapped value.
			_, reqs := e.hs.writes()
			batch := e.sb.HubSpot.Requests("batch_update")
			e.api(http.MethodPost, "/api/v1/plans/"+p.ID+"/actions/"+p.Phases[0].Actions[0].ID+"/comments", map[string]any{"body": "pushed?"}, nil)
			waitFor(t, 15*time.Second, "the comment's change pushed", func() (bool, string) { return e.marksLeft() == 0, "marks left" })
			log, err := e.store.PushLog(context.Background(), "sandbox-hubspot", p.DealID, 1)
			if err != nil || len(log) != 1 || log[0].Outcome != "unchanged" {
				t.Errorf("last push log entry of %s: %+v, %v; want unchanged", p.DealID, log, err)
			}
			if _, after := e.hs.writes(); after != reqs || e.sb.HubSpot.Requests("batch_update") != batch {
				t.Errorf("write requests after an unchanged push: %d (sandbox %d), before %d (sandbox %d)", after, e.sb.HubSpot.Requests("batch_update"), reqs, batch)
			}
			if code := e.serve.stop(t, 20*time.Second); code != 0 {
				t.Fatalf("serve exit code %d\n%s", code, e.serve.logs.String())
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}

// TestE2EPushDeadLetter, on both databases: Salesforce refuses one record of a collection for
// good (a validation rule's FIELD_CUSTOM_VALIDATION_EXCEPTION): it lands in dead letters with the
// CRM's code and message, is not retried, and the other records of the same request are written.
func TestE2EPushDeadLetter(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			e := newPushE2E(t, backend, 8)
			// Pull first (no serve yet, so nothing is pushed), then refuse one planned deal's next write.
			mustRun(t, "--config", e.cfg, "--log-level", "warn", "sync", "run", "--connection", "sandbox-salesforce")
			byDeal := e.dealPlans("sandbox-salesforce")
			if len(byDeal) < 2 {
				t.Fatalf("%d planned deals, want at least 2", len(byDeal))
			}
			deals := make([]string, 0, len(byDeal))
			for d := range byDeal {
				deals = append(deals, d)
			}
			slices.Sort(deals)
			bad := deals[0]
			const msg = "MAP fields are locked while the deal is in legal review"
			if err := e.sb.Salesforce.FailNextWrite(bad, "FIELD_CUSTOM_VALIDATION_EXCEPTION", msg); err != nil {
				t.Fatal(err)
			}
			e.serve = startServe(t, e.cfg)
			waitFor(t, 30*time.Second, "every planned deal pushed", func() (bool, string) {
				return e.marksLeft() == 0, fmt.Sprintf("%d marks left", e.marksLeft())
			})
			w, reqs := e.sf.writes()
			if reqs != 1 {
				t.Errorf("%d collection requests, want the one batch", reqs)
			}
			if w[bad] != 0 || e.sf.refused(bad) != 1 {
				t.Errorf("refused deal %s: written %d, refused %d; want refused once", bad, w[bad], e.sf.refused(bad))
			}
			for _, d := range deals[1:] {
				if w[d] != 1 {
					t.Errorf("deal %s of the same batch written %d times, want 1", d, w[d])
				}
				if f := e.salesforceOpp(d); f["MAP_Status__c"] == nil || f["MAP_Plan_URL__c"] == nil {
					t.Errorf("Opportunity %s: %v, want its MAP fields", d, f)
				} else if _, ok := f["MAP_Progress__c"].(float64); !ok {
					t.Errorf("Opportunity %s: MAP_Progress__c %v (%T), want a number", d, f["MAP_Progress__c"], f["MAP_Progress__c"])
				}
			}
			if f := e.salesforceOpp(bad); f["MAP_Status__c"] != nil {
				t.Errorf("refused Opportunity %s holds %v", bad, f)
			}
			dls, err := e.store.DeadLetters(context.Background(), "sandbox-salesforce", 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(dls) != 1 || dls[0].CRMID != bad || dls[0].Code != "FIELD_CUSTOM_VALIDATION_EXCEPTION" || dls[0].Message != msg {
				t.Errorf("dead letters: %+v; want %s with the CRM's code and message", dls, bad)
			}
			// Not retried in a loop: a later sweep finds nothing to push for it.
			if got := metricValue(t, e.serve.base, `mapsync_push_backlog{connection="sandbox-salesforce"}`); got != "" && got != "0" {
				t.Errorf("push backlog %s after the dead letter, want none", got)
			}
			if e.sf.refused(bad) != 1 {
				t.Errorf("refused deal written again %d times", e.sf.refused(bad)-1)
			}
		})
	}
}

// TestE2EPushBurst, on both databases: 50 changes to 5 plans through the API within one
// coalescing window are one push job and one CRM write per deal. The window is 5 s here and the
// burst starts just after a window begins, so it fits in one (the test checks that it did, from
// the server's own change times).
func TestE2EPushBurst(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			const window = 5 * time.Second
			e := newPushE2E(t, backend, 12, "  window: 5s\n")
			e.serve = startServe(t, e.cfg)
			mustRun(t, "--config", e.cfg, "--log-level", "warn", "sync", "run", "--connection", "sandbox-hubspot")
			waitFor(t, 30*time.Second, "the first push", func() (bool, string) { return e.marksLeft() == 0, "marks left" })
			byDeal := e.dealPlans("sandbox-hubspot")
			var ps []apiPlan
			for _, d := range slices.Sorted(maps.Keys(byDeal)) {
				if len(byDeal[d]) == 1 && len(ps) < 5 {
					var p apiPlan
					e.api(http.MethodGet, "/api/v1/plans/"+byDeal[d][0].ID, nil, &p)
					ps = append(ps, p)
				}
			}
			if len(ps) < 5 {
				t.Fatalf("%d deals with one plan, want 5", len(ps))
			}
			before, _ := e.hs.writes()
			// Start right after a window begins (a condition on the clock, polled).
			waitFor(t, 2*window, "a fresh window", func() (bool, string) {
				return time.Since(time.Now().Truncate(window)) < 100*time.Millisecond, ""
			})
			start := time.Now()
			for i := range 50 {
				p := &ps[i%5]
				a := &p.Phases[0].Actions[0]
				if i/5 == 9 { // the 10th change of each plan: a comment
					e.api(http.MethodPost, "/api/v1/plans/"+p.ID+"/actions/"+a.ID+"/comments", map[string]any{"body": "burst"}, nil)
					continue
				}
				status := "done" // toggles 1, 3, ..., 9 leave the action done
				if a.Status == "done" {
					status = "not_started"
				}
				var act struct {
					Version int    `json:"version"`
					Status  string `json:"status"`
				}
				e.api(http.MethodPatch, "/api/v1/plans/"+p.ID+"/actions/"+a.ID, map[string]any{"version": a.Version, "status": status}, &act)
				a.Version, a.Status = act.Version, act.Status
			}
			end := time.Now()
			// Windows the burst touched: 1 unless this machine took more than the rest of one.
			windows := int(end.Truncate(window).Sub(start.Truncate(window))/window) + 1
			t.Logf("burst of 50 changes took %s (%d window(s))", end.Sub(start).Round(time.Millisecond), windows)
			waitFor(t, 3*window, "the burst pushed", func() (bool, string) {
				w, _ := e.hs.writes()
				n := 0
				for _, p := range ps {
					if w[p.DealID] > before[p.DealID] {
						n++
					}
				}
				return n == len(ps) && e.marksLeft() == 0, fmt.Sprintf("%d of %d deals written", n, len(ps))
			})
			w, _ := e.hs.writes()
			for _, p := range ps {
				if got := w[p.DealID] - before[p.DealID]; got < 1 || got > windows {
					t.Errorf("deal %s written %d times for a burst of 10 changes in %d window(s), want 1 per window at most", p.DealID, got, windows)
				}
				var now apiPlan
				e.api(http.MethodGet, "/api/v1/plans/"+p.ID, nil, &now)
				if ok, seen := e.hubspotShows(now)(); !ok {
					t.Errorf("deal %s after the burst: %s", p.DealID, seen)
				}
			}
			// The jobs that pushed the burst are those due after it began: one per window it
			// touched (a job of the burst's first window may have been inserted just before it,
			// by a change of ours coming back in a pull: it is then the burst's job too).
			if n := e.pushJobsDueAfter(start); n != windows {
				t.Errorf("%d push jobs for a burst of 50 changes in %d window(s), want one per window", n, windows)
			}
		})
	}
}

// pushJobsDueAfter counts the push jobs in River's table, in any state, scheduled after t.
func (e *pushE2E) pushJobsDueAfter(t time.Time) int {
	e.t.Helper()
	var at []time.Time
	if err := e.store.DB().Select(&at, `SELECT scheduled_at FROM river_job WHERE kind = 'push'`); err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, s := range at {
		if s.After(t) {
			n++
		}
	}
	return n
}

// TestE2EPushReauth, on both databases: Salesforce revokes the refresh token; the next push of
// that connection marks it needs_reauth and its job is cancelled (no retry loop), its plan change
// stays pending, while HubSpot's pushes go on; after `connections reauth` the sweep pushes the
// pending change without a restart.
func TestE2EPushReauth(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			e := newPushE2E(t, backend, 6)
			e.serve = startServe(t, e.cfg)
			for _, c := range []string{"sandbox-salesforce", "sandbox-hubspot"} {
				mustRun(t, "--config", e.cfg, "--log-level", "warn", "sync", "run", "--connection", c)
			}
			waitFor(t, 30*time.Second, "the first pushes", func() (bool, string) { return e.marksLeft() == 0, "marks left" })
			sf, hs := e.mainPlan("sandbox-salesforce"), e.mainPlan("sandbox-hubspot")
			sfWrites, _ := e.sf.writes()

			e.sb.Salesforce.RevokeRefreshToken()
			sf, hs = e.completeNext(sf), e.completeNext(hs)
			waitFor(t, 15*time.Second, "HubSpot's push goes on", e.hubspotShows(hs))
			waitFor(t, 15*time.Second, "sandbox-salesforce needs_reauth and its push job cancelled", func() (bool, string) {
				c, err := e.store.ConnectionByName(context.Background(), "sandbox-salesforce")
				if err != nil {
					return false, err.Error()
				}
				states := e.pushJobStates("sandbox-salesforce")
				return c.Status == store.ConnectionNeedsReauth && states["cancelled"] > 0, fmt.Sprintf("status %s, jobs %v", c.Status, states)
			})
			// No retry loop: every job of the connection ends cancelled (a job the sweep enqueued
			// before the status changed included), none waits for a retry.
			waitFor(t, 15*time.Second, "no Salesforce push job left to run", func() (bool, string) {
				st := e.pushJobStates("sandbox-salesforce")
				return st["available"]+st["scheduled"]+st["running"]+st["retryable"] == 0, fmt.Sprintf("%v", st)
			})
			if !e.marked(sf.ID) {
				t.Error("the Salesforce plan's change is no longer pending while its connection needs reauthorisation")
			}
			if w, _ := e.sf.writes(); w[sf.DealID] != sfWrites[sf.DealID] {
				t.Errorf("Opportunity %s written while the grant was revoked", sf.DealID)
			}

			e.sb.Salesforce.RestoreRefreshToken()
			var out, errOut bytes.Buffer
			root := newRootCmd(&out, &errOut)
			root.SetIn(strings.NewReader(sfsandbox.RefreshToken + "\n"))
			root.SetArgs([]string{"--config", e.cfg, "connections", "reauth", "sandbox-salesforce", "--refresh-token-stdin"})
			if err := root.ExecuteContext(context.Background()); err != nil {
				t.Fatalf("reauth: %v\n%s", err, errOut.String())
			}
			took := waitFor(t, 30*time.Second, "the pending Salesforce change pushed after reauth", func() (bool, string) {
				f := e.salesforceOpp(sf.DealID)
				v, _ := f["MAP_Progress__c"].(float64)
				return v == float64(sf.Progress.PercentComplete) && e.marksLeft() == 0, fmt.Sprintf("MAP_Progress__c %v, want %d", f["MAP_Progress__c"], sf.Progress.PercentComplete)
			})
			t.Logf("pushed %s after connections reauth", took)
			if w, _ := e.sf.writes(); w[sf.DealID] != sfWrites[sf.DealID]+1 {
				t.Errorf("Opportunity %s written %d times after reauth, want once", sf.DealID, w[sf.DealID]-sfWrites[sf.DealID])
			}
		})
	}
}

// pushJobStates counts connection's push jobs by state.
func (e *pushE2E) pushJobStates(connection string) map[string]int {
	e.t.Helper()
	var rows []struct {
		Args  []byte `db:"args"`
		State string `db:"state"`
	}
	q := `SELECT args::text AS args, state FROM river_job WHERE kind = 'push'`
	if e.store.Dialect() == store.SQLite {
		q = `SELECT json(args) AS args, state FROM river_job WHERE kind = 'push'` // riversqlite keeps args as JSONB
	}
	if err := e.store.DB().Select(&rows, q); err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range rows {
		var a struct {
			Connection string `json:"connection"`
		}
		if json.Unmarshal(r.Args, &a) == nil && a.Connection == connection {
			out[r.State]++
		}
	}
	return out
}

// marked reports whether plan id has a pending mark.
func (e *pushE2E) marked(id string) bool {
	e.t.Helper()
	ms, err := e.store.PlanMarks(context.Background(), 10000)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, m := range ms {
		if m.PlanID == id {
			return true
		}
	}
	return false
}

// metricValue returns the value of one series on serve's /metrics ("" when absent).
func metricValue(t testing.TB, base, series string) string {
	t.Helper()
	_, body := httpGet(base + "/metrics")
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestE2EPushKill, on both databases: serve is killed (SIGKILL) while a push batch is in flight
// to HubSpot (the proxy holds the second batch/update request: the CRM never gets it). A new
// serve takes the push up once the dead one's lease on the marks ran out (the sweep enqueues
// it), and in the end every planned deal was written exactly once: nothing lost, nothing
// written twice.
func TestE2EPushKill(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			e := newPushE2E(t, backend, 300)
			mustRun(t, "--config", e.cfg, "--log-level", "warn", "sync", "run", "--connection", "sandbox-hubspot")
			byDeal := e.dealPlans("sandbox-hubspot")
			if len(byDeal) <= 100 {
				t.Fatalf("%d planned deals, want more than one batch (100)", len(byDeal))
			}
			e.hs.setHold(1)
			first := startServe(t, e.cfg)
			select {
			case <-e.hs.held:
			case <-time.After(60 * time.Second):
				t.Fatalf("no second batch within 60s\n%s", first.logs.String())
			}
			if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-first.done
			waitFor(t, 10*time.Second, "the held request dropped with its client", func() (bool, string) {
				e.hs.mu.Lock()
				defer e.hs.mu.Unlock()
				return e.hs.drops == 1, fmt.Sprintf("%d drops", e.hs.drops)
			})
			before, _ := e.hs.writes()
			if len(before) == 0 || len(before) >= len(byDeal) {
				t.Fatalf("%d of %d deals written before the kill, want some but not all", len(before), len(byDeal))
			}
			e.hs.setHold(-1)
			e.serve = startServe(t, e.cfg)
			// Lease (3 s) + River's leader election after its leader was killed (up to ~20 s) +
			// the sweep + the push; the deadline leaves room for a loaded machine.
			took := waitFor(t, 120*time.Second, "every planned deal written after the restart", func() (bool, string) {
				w, _ := e.hs.writes()
				n := 0
				for d := range byDeal {
					if w[d] > 0 {
						n++
					}
				}
				logs := e.serve.logs.String()
				return n == len(byDeal) && e.marksLeft() == 0, fmt.Sprintf("%d of %d deals written, %d marks left, push jobs %v; serve's last logs:\n%s",
					n, len(byDeal), e.marksLeft(), e.pushJobStates("sandbox-hubspot"), logs[max(0, len(logs)-3000):])
			})
			t.Logf("%d deals written before the kill; the rest %s after the restart", len(before), took)
			w, _ := e.hs.writes()
			for d := range byDeal {
				if w[d] != 1 {
					t.Errorf("deal %s written %d times, want exactly 1", d, w[d])
				}
			}
			if len(w) != len(byDeal) {
				t.Errorf("%d records written, %d planned deals", len(w), len(byDeal))
			}
			// The CRM holds every deal's values (read back for a few).
			checked := 0
			for d, ps := range byDeal {
				if len(ps) != 1 || checked == 5 {
					continue
				}
				checked++
				var p apiPlan
				e.api(http.MethodGet, "/api/v1/plans/"+ps[0].ID, nil, &p)
				if ok, seen := e.hubspotShows(p)(); !ok {
					t.Errorf("deal %s: %s", d, seen)
				}
			}
		})
	}
}

// BenchmarkPushLatency measures, on both databases with the default 1 s coalescing window, the
// time from an action's status change (the API call) to the CRM field written, as a client
// polling the HubSpot sandbox every 10 ms sees it: p50 and p99 over 40 changes, one at a time,
// each made at a random point of its window (a pause of 0 to 1 s after the previous change
// landed: people do not click right after a window starts; back to back, every change would
// wait almost a whole window). Targets (issue #11): p50 < 1.5 s, p99 < 3 s.
//
//	go test ./cmd/mapsync -run '^$' -bench PushLatency -benchtime 1x
func BenchmarkPushLatency(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			e := newPushE2E(b, backend, 4)
			e.serve = startServe(b, e.cfg)
			mustRun(b, "--config", e.cfg, "--log-level", "warn", "sync", "run", "--connection", "sandbox-hubspot")
			waitFor(b, 30*time.Second, "first push", func() (bool, string) { return e.marksLeft() == 0, "marks left" })
			p := e.mainPlan("sandbox-hubspot")
			a := p.Phases[0].Actions[0]
			var lat []time.Duration
			for range b.N {
				lat = lat[:0]
				for i := range 40 {
					status := "done"
					if i%2 == 1 {
						status = "not_started"
					}
					time.Sleep(rand.N(time.Second)) //nolint:forbidigo // a random arrival within the window, not a wait for a condition
					start := time.Now()
					var act struct {
						Version int `json:"version"`
					}
					e.api(http.MethodPatch, "/api/v1/plans/"+p.ID+"/actions/"+a.ID, map[string]any{"version": a.Version, "status": status}, &act)
					a.Version = act.Version
					var after apiPlan
					e.api(http.MethodGet, "/api/v1/plans/"+p.ID, nil, &after)
					want := strconv.Itoa(after.Progress.PercentComplete)
					deadline := time.Now().Add(15 * time.Second)
					for {
						if v := e.hubspotDeal(p.DealID)["map_progress"]; v != nil && *v == want {
							break
						}
						if time.Now().After(deadline) {
							b.Fatalf("change %d: map_progress not %s within 15s", i, want)
						}
						time.Sleep(10 * time.Millisecond) //nolint:forbidigo // polling the CRM as a client would
					}
					lat = append(lat, time.Since(start))
				}
			}
			slices.Sort(lat)
			p50, p99 := lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
			b.ReportMetric(float64(p50.Milliseconds()), "p50_ms")
			b.ReportMetric(float64(p99.Milliseconds()), "p99_ms")
			b.Logf("%s: action status change to CRM field, %d changes: p50 %s (target < 1.5s), p99 %s (target < 3s), max %s",
				backend, len(lat), p50.Round(time.Millisecond), p99.Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
		})
	}
}
