package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/connectors/hubspot"
	hssandbox "github.com/mapsync/mapsync/sandbox/hubspot"
	"github.com/mapsync/mapsync/secrets"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
	"github.com/mapsync/mapsync/sync/push"
)

// The push pipeline against both sandboxes over HTTP, on both databases. Every subtest sets up
// its own sandboxes and database, so each passes alone.

const (
	sfConn = "sandbox-salesforce"
	hsConn = "sandbox-hubspot"
)

// pushDatabases returns the database URLs push tests run on: SQLite and PostgreSQL.
func pushDatabases(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "m.db") },
		"postgres": func(t *testing.T) string { return storetest.NewSchema(t) },
	}
}

// pushFixture is a migrated database with templates imported, both sandboxes, and the
// connections pulled (so every open deal has its plan, marked for a push).
type pushFixture struct {
	cfg string
	sb  *sandboxes
}

func newPushFixture(t *testing.T, db string, deals int, edit func(string) string) *pushFixture {
	t.Helper()
	key, _ := secrets.GenerateKey()
	t.Setenv(secrets.EnvKey, key)
	t.Setenv(config.EnvDatabaseURL, "")
	cfg, sb := sandboxConfigWith(t, db, deals, edit)
	mustRun(t, "--config", cfg, "migrate", "up")
	mustRun(t, "--config", cfg, "--log-level", "error", "templates", "import")
	f := &pushFixture{cfg: cfg, sb: sb}
	f.pull(t, sfConn)
	f.pull(t, hsConn)
	return f
}

func (f *pushFixture) pull(t *testing.T, name string) {
	t.Helper()
	mustRun(t, "--config", f.cfg, "--log-level", "error", "sync", "run", "--connection", name)
}

// runtime runs fn with a fresh runtime (as one CLI command has).
func (f *pushFixture) runtime(t *testing.T, fn func(rt *runtime)) {
	t.Helper()
	a := &app{stdout: &strings.Builder{}, stderr: &strings.Builder{}, configPath: f.cfg}
	a.setupLogger()
	rt, err := a.newRuntime(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	fn(rt)
}

// push pushes one connection through the process's Pusher and returns its summary and error.
func (f *pushFixture) push(t *testing.T, name string, opts push.Options) (sum push.Summary, err error) {
	t.Helper()
	f.runtime(t, func(rt *runtime) {
		p, perr := rt.pusher(context.Background())
		if perr != nil {
			t.Fatal(perr)
		}
		sum, err = p.Push(context.Background(), name, opts)
	})
	return sum, err
}

// fastPush pushes a HubSpot connection through a Pusher whose connector tries a request twice,
// with short pauses and no in-place wait on Retry-After, so that injected faults reach the push
// quickly (the production connector tries 5 times over seconds).
func (f *pushFixture) fastPush(t *testing.T, name string) (sum push.Summary, err error) {
	t.Helper()
	f.runtime(t, func(rt *runtime) {
		ctx := context.Background()
		p, perr := push.New(push.Config{
			Store: rt.store, Describe: connectors.NewDescribeCache(rt.store, 0, nil), PublicURL: rt.cfg.Server.PublicURL,
			Resolve: func(ctx context.Context, name string) (*push.Target, error) {
				tg, err := rt.pushTarget(ctx, name)
				if err != nil {
					return nil, err
				}
				cn, _ := rt.cfg.Connection(name)
				tg.Connector, err = hubspot.New(hubspot.Options{
					Connection: name, BaseURL: cn.BaseURL, Auth: connectors.NewStaticToken(cn.PrivateAppToken.Reveal()),
					Retry:   connectors.RetryPolicy{MaxAttempts: 2, MinWait: time.Millisecond, MaxWait: 5 * time.Millisecond, MaxRetryAfter: time.Millisecond},
					Metrics: rt.connMetrics,
				})
				return tg, err
			},
		})
		if perr != nil {
			t.Fatal(perr)
		}
		sum, err = p.Push(ctx, name, push.Options{})
	})
	return sum, err
}

// mustPush pushes through the CLI (sync push --output json) and returns the summary.
func (f *pushFixture) mustPush(t *testing.T, name string, extra ...string) push.Summary {
	t.Helper()
	args := append([]string{"--config", f.cfg, "--log-level", "error", "sync", "push", "--connection", name, "--output", "json"}, extra...)
	out := mustRun(t, args...)
	var sum push.Summary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("sync push json: %v\n%s", err, out)
	}
	return sum
}

// plannedDeals returns the deal ids of a connection that have a plan, in id order.
func (f *pushFixture) plannedDeals(t *testing.T, name string) []string {
	t.Helper()
	var ids []string
	f.runtime(t, func(rt *runtime) {
		db := rt.store.DB()
		if err := db.Select(&ids, db.Rebind(`SELECT DISTINCT deal_id FROM plans WHERE connection = ? ORDER BY deal_id`), name); err != nil {
			t.Fatal(err)
		}
	})
	return ids
}

// editConfig rewrites the configuration file (the next command reads it).
func (f *pushFixture) editConfig(t *testing.T, edit func(string) string) {
	t.Helper()
	b, err := os.ReadFile(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	changed := edit(string(b))
	if changed == string(b) {
		t.Fatal("the configuration edit changed nothing")
	}
	if err := os.WriteFile(f.cfg, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
}

// remark marks the plans of deals for a push, as a plan change would.
func (f *pushFixture) remark(t *testing.T, name string, ids ...string) {
	t.Helper()
	f.runtime(t, func(rt *runtime) {
		if _, err := rt.store.MarkDealPlans(context.Background(), name, ids); err != nil {
			t.Fatal(err)
		}
	})
}

// pending counts a connection's marks.
func (f *pushFixture) pending(t *testing.T, name string) int {
	t.Helper()
	n := 0
	f.runtime(t, func(rt *runtime) {
		marks, err := rt.store.PendingPlanMarks(context.Background(), name, "", 100000)
		if err != nil {
			t.Fatal(err)
		}
		n = len(marks)
	})
	return n
}

func (f *pushFixture) deadLetters(t *testing.T, name string) map[string]store.DeadLetter {
	t.Helper()
	out := map[string]store.DeadLetter{}
	f.runtime(t, func(rt *runtime) {
		dls, err := rt.store.DeadLetters(context.Background(), name, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dls {
			out[d.CRMID] = d
		}
	})
	return out
}

// writeCalls counts the write requests a sandbox answered: Salesforce PATCHes (collections and
// single records), HubSpot batch updates and single PATCHes.
func (f *pushFixture) writeCalls(name string) int {
	n := 0
	if name == sfConn {
		for _, c := range f.sb.Salesforce.Counters() {
			if c.Method == http.MethodPatch {
				n += int(c.Count)
			}
		}
		return n
	}
	for _, c := range f.sb.HubSpot.Counts() {
		if strings.HasSuffix(c.Endpoint, "/batch/update") || strings.HasPrefix(c.Endpoint, "PATCH ") {
			n += c.N
		}
	}
	return n
}

// readDeal reads a deal's mapped fields as an independent client would: a plain GET on the
// sandbox's REST API with net/http, no connector code.
func (f *pushFixture) readDeal(t *testing.T, name, id string) map[string]any {
	t.Helper()
	var req *http.Request
	if name == sfConn {
		req, _ = http.NewRequest(http.MethodGet, f.sb.SalesforceURL+"/services/data/v62.0/sobjects/Opportunity/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+f.sb.Salesforce.AccessToken())
	} else {
		req, _ = http.NewRequest(http.MethodGet, f.sb.HubSpotURL+"/crm/v3/objects/deals/"+id+
			"?properties=map_progress,map_status,map_next_step,map_plan_url,map_security_review_date", nil)
		req.Header.Set("Authorization", "Bearer "+hssandbox.PrivateAppToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET deal %s: %d %v %v", id, resp.StatusCode, err, body)
	}
	if props, ok := body["properties"].(map[string]any); ok {
		return props
	}
	return body
}

func TestPushWritesAndSecondPushWritesNothing(t *testing.T) {
	for dbName, db := range pushDatabases(t) {
		t.Run(dbName, func(t *testing.T) {
			f := newPushFixture(t, db(t), 40, nil)
			for _, name := range []string{sfConn, hsConn} {
				deals := f.plannedDeals(t, name)
				if len(deals) < 10 {
					t.Fatalf("%s: %d planned deals, want at least 10", name, len(deals))
				}
				// A dry run sends and records nothing.
				before := f.writeCalls(name)
				dry := f.mustPush(t, name, "--dry-run")
				if dry.Written != len(deals) || len(dry.Samples) == 0 || dry.Samples[0].Fields == nil {
					t.Fatalf("%s dry run: %+v, want %d to write with samples", name, dry, len(deals))
				}
				if f.writeCalls(name) != before || f.pending(t, name) != len(deals) {
					t.Fatalf("%s: dry run wrote %d calls / left %d of %d marks", name, f.writeCalls(name)-before, f.pending(t, name), len(deals))
				}

				sum := f.mustPush(t, name)
				if sum.Written != len(deals) || sum.Failed+sum.DeadLetters+sum.Invalid != 0 {
					t.Fatalf("%s push: %+v, want %d written", name, sum, len(deals))
				}
				if calls := f.writeCalls(name) - before; calls != 1 {
					t.Errorf("%s: %d write calls for %d deals, want 1 batch", name, calls, len(deals))
				}
				if n := f.pending(t, name); n != 0 {
					t.Errorf("%s: %d marks left after the push", name, n)
				}
				// An independent client sees the values with the CRM's types.
				got := f.readDeal(t, name, deals[0])
				var status, url any
				if name == sfConn {
					status, url = got["MAP_Status__c"], got["MAP_Plan_URL__c"]
					if _, ok := got["MAP_Progress__c"].(float64); !ok {
						t.Errorf("MAP_Progress__c: got %#v, want a number", got["MAP_Progress__c"])
					}
				} else {
					status, url = got["map_status"], got["map_plan_url"]
					if got["map_progress"] != "0" {
						t.Errorf("map_progress: got %#v, want \"0\"", got["map_progress"])
					}
				}
				if s, _ := status.(string); s == "" {
					t.Errorf("%s deal %s: status %#v, want a value", name, deals[0], status)
				}
				if u, _ := url.(string); !strings.Contains(u, "/plans/") {
					t.Errorf("%s deal %s: plan URL %#v", name, deals[0], url)
				}

				// The plans pushed again (a change that alters no mapped field): nothing written.
				f.remark(t, name, deals...)
				before = f.writeCalls(name)
				again := f.mustPush(t, name)
				if again.Written != 0 || again.Unchanged != len(deals) || f.writeCalls(name) != before {
					t.Fatalf("%s second push: %+v and %d write calls, want all unchanged and none", name, again, f.writeCalls(name)-before)
				}
				// Our own writes come back in the next pull and mark nothing.
				f.pull(t, name)
				if n := f.pending(t, name); n != 0 {
					t.Errorf("%s: the pull of our own writes marked %d plans", name, n)
				}
				// The push log answers "why does this deal show that?".
				out := mustRun(t, "--config", f.cfg, "--log-level", "error", "push", "log", "--deal", deals[0], "--output", "json")
				lines := strings.Split(strings.TrimSpace(out), "\n")
				var newest, oldest store.PushLogEntry
				json.Unmarshal([]byte(lines[0]), &newest)
				json.Unmarshal([]byte(lines[len(lines)-1]), &oldest)
				if len(lines) != 2 || newest.Outcome != "unchanged" || oldest.Outcome != "written" || oldest.Fields["map_status"] == nil && oldest.Fields["MAP_Status__c"] == nil {
					t.Errorf("%s push log of %s: %s", name, deals[0], out)
				}
			}
		})
	}
}

func TestPushPulledChangeRemarks(t *testing.T) {
	for dbName, db := range pushDatabases(t) {
		t.Run(dbName, func(t *testing.T) {
			f := newPushFixture(t, db(t), 20, nil)
			for _, name := range []string{sfConn, hsConn} {
				f.mustPush(t, name)
				if n := f.pending(t, name); n != 0 {
					t.Fatalf("%s: %d marks left after the push", name, n)
				}
			}
			// Salesforce (conflict: overwrite): a person overwrites a mapped field; the pull
			// marks the deal, the push writes our value back.
			sdeal := f.plannedDeals(t, sfConn)[0]
			want := f.readDeal(t, sfConn, sdeal)["MAP_Status__c"]
			if err := f.sb.Salesforce.UpdateRecord("Opportunity", sdeal, map[string]any{"MAP_Status__c": "Completed"}); err != nil {
				t.Fatal(err)
			}
			f.pull(t, sfConn)
			if n := f.pending(t, sfConn); n != 1 {
				t.Fatalf("salesforce: after a person's edit and a pull: %d marks, want 1", n)
			}
			if sum := f.mustPush(t, sfConn); sum.Written != 1 {
				t.Fatalf("salesforce push: %+v, want 1 written", sum)
			}
			if got := f.readDeal(t, sfConn, sdeal)["MAP_Status__c"]; got != want {
				t.Errorf("MAP_Status__c: got %v, want %v written back", got, want)
			}

			// HubSpot (conflict: keep_crm_edits): the person's value stays; nothing is marked,
			// and a push of the plan skips the field, saying why.
			hdeal := f.plannedDeals(t, hsConn)[0]
			if err := f.sb.HubSpot.UpdateDeal(hdeal, map[string]string{"map_status": "off_track"}); err != nil {
				t.Fatal(err)
			}
			f.pull(t, hsConn)
			if n := f.pending(t, hsConn); n != 0 {
				t.Fatalf("hubspot: a person's edit under keep_crm_edits marked %d plans", n)
			}
			f.remark(t, hsConn, hdeal)
			sum := f.mustPush(t, hsConn)
			if sum.Written != 0 || sum.SkipReasons["crm_edited"] != 1 {
				t.Fatalf("hubspot push: %+v, want the deal skipped as crm_edited", sum)
			}
			if got := f.readDeal(t, hsConn, hdeal)["map_status"]; got != "off_track" {
				t.Errorf("map_status: got %v, want the person's off_track kept", got)
			}
		})
	}
}

func TestPushRefusalInBatch(t *testing.T) {
	for dbName, db := range pushDatabases(t) {
		t.Run(dbName, func(t *testing.T) {
			f := newPushFixture(t, db(t), 320, nil)

			t.Log("salesforce: a validation rule refuses one record of a collection of 200")
			deals := f.plannedDeals(t, sfConn)
			if len(deals) < 200 {
				t.Fatalf("%d planned Salesforce deals, want at least 200", len(deals))
			}
			bad := deals[7]
			if err := f.sb.Salesforce.FailNextWrite(bad, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Progress cannot be set while the deal is in legal review"); err != nil {
				t.Fatal(err)
			}
			before := f.writeCalls(sfConn)
			sum := f.mustPush(t, sfConn)
			if sum.Written != len(deals)-1 || sum.DeadLetters != 1 {
				t.Fatalf("push: %+v, want %d written and 1 dead letter", sum, len(deals)-1)
			}
			if calls := f.writeCalls(sfConn) - before; calls != (len(deals)+199)/200 {
				t.Errorf("%d collection calls for %d deals", calls, len(deals))
			}
			dl := f.deadLetters(t, sfConn)[bad]
			if dl.Code != "FIELD_CUSTOM_VALIDATION_EXCEPTION" || !strings.Contains(dl.Message, "legal review") {
				t.Errorf("dead letter: %+v", dl)
			}
			// Never retried in a loop: the next push has nothing to do.
			before = f.writeCalls(sfConn)
			if again := f.mustPush(t, sfConn); again.Written+again.DeadLetters != 0 || f.writeCalls(sfConn) != before {
				t.Errorf("the dead letter was retried by itself: %+v", again)
			}
			// An admin retries it: the CRM accepts it now, and the dead letter goes.
			out := mustRun(t, "--config", f.cfg, "--log-level", "error", "push", "dead-letters", "retry", "--connection", sfConn, bad)
			if !strings.Contains(out, "1 written") {
				t.Errorf("retry: %s", out)
			}
			if _, ok := f.deadLetters(t, sfConn)[bad]; ok {
				t.Errorf("dead letter kept after a successful retry")
			}
			if got := f.readDeal(t, sfConn, bad)["MAP_Plan_URL__c"]; got == nil {
				t.Errorf("retried deal not written")
			}

			t.Log("hubspot: one value the CRM refuses fails a batch of 100 whole; the batch is split")
			hdeals := f.plannedDeals(t, hsConn)
			if len(hdeals) < 100 {
				t.Fatalf("%d planned HubSpot deals, want at least 100", len(hdeals))
			}
			hbad := hdeals[3]
			// The stored field metadata still lists an option the CRM has since removed (it is
			// kept for an hour), and the mapping produces it for one deal.
			edit := func(cfg string) string {
				return strings.Replace(cfg, "        map_status: plan.status\n",
					"        map_status: 'deal.hs_object_id == \""+hbad+"\" ? \"retired\" : plan.status'\n", 1)
			}
			f.editConfig(t, edit)
			f.runtime(t, func(rt *runtime) {
				ctx := context.Background()
				meta, at, err := rt.fieldMeta(ctx, hsConn, true, connectors.DefaultMetaTTL)
				if err != nil {
					t.Fatal(err)
				}
				for i := range meta {
					if meta[i].Name == "map_status" {
						meta[i].Options = append(meta[i].Options, "retired")
					}
				}
				if err := rt.store.SaveFieldMeta(ctx, hsConn, connectors.ObjectDeal, meta, at); err != nil {
					t.Fatal(err)
				}
			})
			hsum := f.mustPush(t, hsConn)
			if hsum.Written != len(hdeals)-1 || hsum.DeadLetters != 1 {
				t.Fatalf("push: %+v, want %d written and 1 dead letter", hsum, len(hdeals)-1)
			}
			hdl := f.deadLetters(t, hsConn)[hbad]
			if !strings.Contains(hdl.Code, "INVALID_OPTION") || !strings.Contains(hdl.Message, "map_status") {
				t.Errorf("dead letter: %+v", hdl)
			}
			if got := f.readDeal(t, hsConn, hdeals[4])["map_status"]; got == nil || got == "" {
				t.Errorf("a good deal of the refused batch was not written: %v", got)
			}

			t.Log("with fresh metadata the value is a per-record error, never sent")
			f.runtime(t, func(rt *runtime) {
				if _, _, err := rt.fieldMeta(context.Background(), hsConn, true, connectors.DefaultMetaTTL); err != nil {
					t.Fatal(err)
				}
			})
			f.remark(t, hsConn, hbad)
			before = f.writeCalls(hsConn)
			inv := f.mustPush(t, hsConn)
			// The deal's other fields (never written: the refused batch part) are written now.
			if inv.Invalid != 1 || inv.Written != 1 || f.writeCalls(hsConn)-before != 1 {
				t.Errorf("push with fresh metadata: %+v, %d write calls; want 1 invalid (and its valid fields written)", inv, f.writeCalls(hsConn)-before)
			}
			got := f.readDeal(t, hsConn, hbad)
			if got["map_status"] == "retired" || got["map_plan_url"] == nil || got["map_plan_url"] == "" {
				t.Errorf("deal with an invalid field: %v, want map_status not sent and the URL written", got)
			}
			log := mustRun(t, "--config", f.cfg, "--log-level", "error", "push", "log", "--deal", hbad)
			if !strings.Contains(log, "invalid") || !strings.Contains(log, "not_an_option") || !strings.Contains(log, "dead_letter") {
				t.Errorf("push log:\n%s", log)
			}
		})
	}
}

func TestPushTransientThenRetry(t *testing.T) {
	for dbName, db := range pushDatabases(t) {
		t.Run(dbName, func(t *testing.T) {
			f := newPushFixture(t, db(t), 40, nil)

			// HubSpot answers 500, then 429, more often than the connector retries.
			deals := f.plannedDeals(t, hsConn)
			f.sb.HubSpot.InjectServerErrors(2, http.StatusInternalServerError) // the test connector tries twice
			sum, err := f.fastPush(t, hsConn)
			if err == nil || !connectors.IsRetryable(err) || sum.Written != 0 {
				t.Fatalf("push during 5xx: %+v, %v; want a retryable error and nothing written", sum, err)
			}
			if n := f.pending(t, hsConn); n != len(deals) {
				t.Fatalf("%d marks left, want %d for the retry", n, len(deals))
			}
			f.sb.HubSpot.ClearFaults()
			f.sb.HubSpot.InjectRateLimits(2)
			if _, err := f.fastPush(t, hsConn); err == nil || !connectors.IsRetryable(err) {
				t.Fatalf("push during 429: %v; want a retryable error", err)
			}
			f.sb.HubSpot.ClearFaults()
			before := f.writeCalls(hsConn)
			sum, err = f.fastPush(t, hsConn)
			if err != nil || sum.Written != len(deals) || f.writeCalls(hsConn)-before != 1 {
				t.Fatalf("retry: %+v, %v, %d calls", sum, err, f.writeCalls(hsConn)-before)
			}

			// A Salesforce row lock fails one record: it is retried, the others are not written twice.
			sdeals := f.plannedDeals(t, sfConn)
			if err := f.sb.Salesforce.FailNextWrite(sdeals[2], "", ""); err != nil {
				t.Fatal(err)
			}
			sum, err = f.push(t, sfConn, push.Options{})
			if err == nil || !connectors.IsRetryable(err) || sum.Written != len(sdeals)-1 || sum.Failed != 1 {
				t.Fatalf("push with a locked row: %+v, %v", sum, err)
			}
			if n := f.pending(t, sfConn); n != 1 {
				t.Fatalf("%d marks left, want the locked deal's", n)
			}
			sum, err = f.push(t, sfConn, push.Options{})
			if err != nil || sum.Written != 1 {
				t.Fatalf("retry: %+v, %v; want the locked deal written alone", sum, err)
			}
			// Each deal was recorded written exactly once.
			f.runtime(t, func(rt *runtime) {
				for _, id := range []string{sdeals[0], sdeals[2]} {
					log, err := rt.store.PushLog(context.Background(), sfConn, id, 0)
					if err != nil {
						t.Fatal(err)
					}
					written := 0
					for _, e := range log {
						if e.Outcome == "written" {
							written++
						}
					}
					if written != 1 {
						t.Errorf("deal %s written %d times: %+v", id, written, log)
					}
				}
			})
		})
	}
}

func TestPushRevokedGrant(t *testing.T) {
	for dbName, db := range pushDatabases(t) {
		t.Run(dbName, func(t *testing.T) {
			f := newPushFixture(t, db(t), 20, nil)
			f.sb.Salesforce.RevokeRefreshToken()
			f.sb.Salesforce.ExpireTokens()
			sum, err := f.push(t, sfConn, push.Options{})
			if !errors.Is(err, push.ErrNeedsReauth) || sum.Written != 0 {
				t.Fatalf("push with a revoked grant: %+v, %v; want ErrNeedsReauth", sum, err)
			}
			if !strings.Contains(err.Error(), "mapsync connections reauth "+sfConn) {
				t.Errorf("error does not say what to do: %v", err)
			}
			f.runtime(t, func(rt *runtime) {
				sc, err := rt.store.ConnectionByName(context.Background(), sfConn)
				if err != nil || sc.Status != store.ConnectionNeedsReauth {
					t.Errorf("connection: %+v, %v; want needs_reauth", sc, err)
				}
			})
			// The CLI names the connection and pushes the others.
			code, out, errOut := runCLI(t, "--config", f.cfg, "--log-level", "error", "sync", "push")
			if code != 1 || !strings.Contains(errOut, sfConn) || !strings.Contains(out, "connection "+hsConn+": pushed: ") {
				t.Fatalf("sync push: exit %d\n%s\n%s", code, out, errOut)
			}
			if n := f.pending(t, hsConn); n != 0 {
				t.Errorf("hubspot not pushed: %d marks left", n)
			}
			if n := f.pending(t, sfConn); n == 0 {
				t.Errorf("salesforce marks were dropped while it needs authorising")
			}
		})
	}
}

func TestPushDeletedRecord(t *testing.T) {
	for dbName, db := range pushDatabases(t) {
		t.Run(dbName, func(t *testing.T) {
			f := newPushFixture(t, db(t), 20, nil)
			sdeals := f.plannedDeals(t, sfConn)
			if err := f.sb.Salesforce.DeleteRecord("Opportunity", sdeals[0]); err != nil {
				t.Fatal(err)
			}
			sum := f.mustPush(t, sfConn)
			if sum.DeadLetters != 1 || sum.Written != len(sdeals)-1 {
				t.Fatalf("salesforce: %+v", sum)
			}
			if dl := f.deadLetters(t, sfConn)[sdeals[0]]; dl.Code != "ENTITY_IS_DELETED" {
				t.Errorf("salesforce dead letter: %+v", dl)
			}
			hdeals := f.plannedDeals(t, hsConn)
			if err := f.sb.HubSpot.ArchiveObject("deals", hdeals[0]); err != nil {
				t.Fatal(err)
			}
			hsum := f.mustPush(t, hsConn)
			if hsum.DeadLetters != 1 || hsum.Written != len(hdeals)-1 {
				t.Fatalf("hubspot: %+v", hsum)
			}
			if dl := f.deadLetters(t, hsConn)[hdeals[0]]; !strings.Contains(dl.Code, "OBJECT_NOT_FOUND") {
				t.Errorf("hubspot dead letter: %+v", dl)
			}
			out := mustRun(t, "--config", f.cfg, "--log-level", "error", "push", "dead-letters", "list")
			if !strings.Contains(out, sdeals[0]) || !strings.Contains(out, hdeals[0]) {
				t.Errorf("dead-letters list:\n%s", out)
			}
		})
	}
}

// crashAfterWrite is a connector whose Update sends the batch and then dies (panics) before
// returning, as a process killed between the CRM's answer and the store's commit.
type crashAfterWrite struct{ connectors.Connector }

type crashed struct{}

func (c crashAfterWrite) Update(ctx context.Context, object connectors.Object, changes []connectors.Change) ([]connectors.Result, error) {
	c.Connector.Update(ctx, object, changes)
	panic(crashed{})
}

// TestPushKilledAfterWrite: a push killed after the CRM applied a batch and before anything was
// recorded loses nothing and duplicates nothing. Its marks stay claimed until the lease
// expires; the next push then writes the same absolute values again (no pull in between: one
// more write call, the CRM unchanged) or, after a pull, finds them equal and writes nothing.
// Either way each deal is recorded written at most once and ends with the desired values.
func TestPushKilledAfterWrite(t *testing.T) {
	for dbName, db := range pushDatabases(t) {
		t.Run(dbName, func(t *testing.T) {
			for _, pullBetween := range []bool{false, true} {
				f := newPushFixture(t, db(t), 20, nil)
				deals := f.plannedDeals(t, hsConn)
				marks := f.pending(t, hsConn)
				f.runtime(t, func(rt *runtime) {
					p, err := push.New(push.Config{
						Store: rt.store, Describe: connectors.NewDescribeCache(rt.store, 0, nil), PublicURL: rt.cfg.Server.PublicURL,
						Lease: 300 * time.Millisecond,
						Resolve: func(ctx context.Context, name string) (*push.Target, error) {
							tg, err := rt.pushTarget(ctx, name)
							if err == nil {
								tg.Connector = crashAfterWrite{tg.Connector}
							}
							return tg, err
						},
					})
					if err != nil {
						t.Fatal(err)
					}
					func() {
						defer func() {
							if _, ok := recover().(crashed); !ok {
								t.Fatal("the push did not reach the write")
							}
						}()
						p.Push(context.Background(), hsConn, push.Options{})
					}()
				})
				// Sent, recorded nowhere, marks held by the dead process.
				if n := f.pending(t, hsConn); n != marks {
					t.Fatalf("%d marks after the crash, want %d", n, marks)
				}
				want := f.readDeal(t, hsConn, deals[0])
				if want["map_plan_url"] == nil || want["map_plan_url"] == "" {
					t.Fatalf("the crashed push did not write: %v", want)
				}
				if pullBetween {
					f.pull(t, hsConn)
				}
				before := f.writeCalls(hsConn)
				// Until the lease expires the marks are the dead process's; then they are pushed.
				var total push.Summary
				deadline := time.Now().Add(20 * time.Second)
				for total.Written+total.Unchanged < len(deals) && time.Now().Before(deadline) {
					sum, err := f.push(t, hsConn, push.Options{})
					if err != nil {
						t.Fatal(err)
					}
					total.Written += sum.Written
					total.Unchanged += sum.Unchanged
				}
				calls := f.writeCalls(hsConn) - before
				if pullBetween && (total.Unchanged != len(deals) || calls != 0) {
					t.Errorf("after a pull: %+v and %d write calls; want every deal unchanged, none sent", total, calls)
				}
				if !pullBetween && (total.Written != len(deals) || calls != 1) {
					t.Errorf("without a pull: %+v and %d write calls; want the same values written once more", total, calls)
				}
				if n := f.pending(t, hsConn); n != 0 {
					t.Errorf("%d marks left", n)
				}
				got := f.readDeal(t, hsConn, deals[0])
				for _, k := range []string{"map_status", "map_progress", "map_plan_url", "map_next_step"} {
					if got[k] != want[k] {
						t.Errorf("%s: %v after recovery, %v written by the crashed push", k, got[k], want[k])
					}
				}
				f.runtime(t, func(rt *runtime) {
					log, err := rt.store.PushLog(context.Background(), hsConn, deals[0], 0)
					if err != nil {
						t.Fatal(err)
					}
					written := 0
					for _, e := range log {
						if e.Outcome == "written" {
							written++
						}
					}
					if written > 1 || len(log) != 1 {
						t.Errorf("push log: %+v, want one entry", log)
					}
					// The push state knows the values, so the next push writes nothing.
					st, err := rt.store.PushStates(context.Background(), hsConn, "deal", deals[:1])
					if err != nil || st[deals[0]].Pushed["map_status"] == nil {
						t.Errorf("push state after recovery: %+v, %v", st, err)
					}
				})
			}
		})
	}
}

// TestPushSmallRounds: a push claiming a few marks a round still sends full batches (writes wait
// across rounds) and takes each deal whole (a deal's other plans' marks come with it), so every
// deal is evaluated and written once.
func TestPushSmallRounds(t *testing.T) {
	for dbName, db := range pushDatabases(t) {
		t.Run(dbName, func(t *testing.T) {
			f := newPushFixture(t, db(t), 20, nil) // 12 plans on 10 deals
			deals := f.plannedDeals(t, hsConn)
			if marks := f.pending(t, hsConn); marks <= len(deals) {
				t.Fatalf("%d marks for %d deals: the fixture needs deals with several plans", marks, len(deals))
			}
			before := f.writeCalls(hsConn)
			f.runtime(t, func(rt *runtime) {
				p, err := push.New(push.Config{Store: rt.store, Describe: connectors.NewDescribeCache(rt.store, 0, nil),
					PublicURL: rt.cfg.Server.PublicURL, Resolve: rt.pushTarget, Claim: 3})
				if err != nil {
					t.Fatal(err)
				}
				dry, err := p.Push(context.Background(), hsConn, push.Options{DryRun: true})
				if err != nil || dry.Written != len(deals) {
					t.Fatalf("dry run in pages of 3 marks: %+v, %v; want each of %d deals counted once", dry, err, len(deals))
				}
				sum, err := p.Push(context.Background(), hsConn, push.Options{})
				if err != nil || sum.Written != len(deals) || sum.Unchanged != 0 {
					t.Fatalf("push: %+v, %v; want each of %d deals written once", sum, err, len(deals))
				}
			})
			if calls := f.writeCalls(hsConn) - before; calls != 1 {
				t.Errorf("%d write calls for %d deals in rounds of 3 marks, want 1", calls, len(deals))
			}
			if n := f.pending(t, hsConn); n != 0 {
				t.Errorf("%d marks left", n)
			}
		})
	}
}
