package pull_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/connectors/hubspot"
	"github.com/mapsync/mapsync/connectors/salesforce"
	hssandbox "github.com/mapsync/mapsync/sandbox/hubspot"
	sfsandbox "github.com/mapsync/mapsync/sandbox/salesforce"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
	"github.com/mapsync/mapsync/sync/pull"
)

var quickRetry = connectors.RetryPolicy{MinWait: 5 * time.Millisecond, MaxWait: 50 * time.Millisecond, MaxElapsed: 10 * time.Second, AttemptTimeout: 5 * time.Second, MaxAttempts: 3}

// crm is one sandbox with a connector on it, whatever the CRM.
type crm struct {
	name string
	conn connectors.Connector
	// changeDeal edits a deal as a person would in the CRM; deleteDeal deletes one.
	changeDeal func(t *testing.T, id, name string)
	deleteDeal func(t *testing.T, id string)
	dealIDs    func() []string
	// nameField is the deal name field.
	nameField string
	// breakAuth revokes the refresh token and expires access tokens (nil: CRM uses a static token).
	breakAuth func()
	// requests counts requests the sandbox served.
	requests func() int64
	// associate links a contact to a deal through the CRM's API (HubSpot only: a v4 association,
	// which does not change the deal's stamp).
	associate func(t *testing.T, dealID, contactID string)
	// contactIDs lists the CRM's live contacts.
	contactIDs func() []string
	// dealStamp is the deal's modification stamp as the CRM shows it.
	dealStamp func(t *testing.T, id string) string
}

type bundle struct {
	store  *store.Store
	connID int64
}

func newSalesforce(t *testing.T, s *store.Store, deals int, mod func(*salesforce.Options)) *crm {
	t.Helper()
	sb := sfsandbox.New(sfsandbox.Options{Deals: deals, Seed: 42, Logger: zerolog.Nop()})
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	ctx := t.Context()
	if _, err := s.SeedToken(ctx, "sf", &oauth2.Token{RefreshToken: sfsandbox.RefreshToken}); err != nil {
		t.Fatal(err)
	}
	ts, err := connectors.NewTokenSource(connectors.TokenSourceOptions{
		Connection: "sf",
		Config:     &oauth2.Config{ClientID: sfsandbox.ClientID, ClientSecret: sfsandbox.ClientSecret, Endpoint: salesforce.OAuthEndpoint(srv.URL)},
		Store:      s, Reauth: s, ExtraKeys: salesforce.TokenExtraKeys(), Logger: zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	opts := salesforce.Options{Connection: "sf", Auth: ts, Instance: connectors.InstancePolicy{Sandbox: true}, Retry: quickRetry, Logger: zerolog.Nop()}
	if mod != nil {
		mod(&opts)
	}
	c, err := salesforce.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &crm{
		name: "salesforce", conn: c, nameField: "Name",
		changeDeal: func(t *testing.T, id, name string) {
			if err := sb.UpdateRecord("Opportunity", id, map[string]any{"Name": name}); err != nil {
				t.Fatal(err)
			}
		},
		deleteDeal: func(t *testing.T, id string) {
			if err := sb.DeleteRecord("Opportunity", id); err != nil {
				t.Fatal(err)
			}
		},
		dealIDs:   func() []string { return sb.IDs("Opportunity") },
		breakAuth: func() { sb.RevokeRefreshToken(); sb.ExpireTokens() },
		requests: func() int64 {
			var n int64
			for _, c := range sb.Counters() {
				n += c.Count
			}
			return n
		},
	}
}

func newHubSpot(t *testing.T, deals int) *crm {
	t.Helper()
	sb := hssandbox.New(hssandbox.Options{Deals: deals, Seed: 42, BurstLimit: -1, SearchPerSecond: -1, DailyLimit: -1, Logger: zerolog.Nop()})
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	// Deal-contact pages group one list page (100 deals) here, as the tests count pages; the
	// connector's own tests cover its default of 1,000.
	c, err := hubspot.New(hubspot.Options{Connection: "hs", BaseURL: srv.URL, Auth: connectors.NewStaticToken(hssandbox.PrivateAppToken), SearchPerSecond: -1,
		AssociationBatch: 100, Retry: quickRetry, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	return &crm{
		name: "hubspot", conn: c, nameField: "dealname",
		changeDeal: func(t *testing.T, id, name string) {
			if err := sb.UpdateDeal(id, map[string]string{"dealname": name}); err != nil {
				t.Fatal(err)
			}
		},
		deleteDeal: func(t *testing.T, id string) {
			if err := sb.ArchiveObject("deals", id); err != nil {
				t.Fatal(err)
			}
		},
		dealIDs: func() []string { return sb.IDs("deals") },
		requests: func() int64 {
			var n int64
			for _, c := range sb.Counts() {
				n += int64(c.N)
			}
			return n
		},
		associate: func(t *testing.T, dealID, contactID string) {
			t.Helper()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, srv.URL+"/crm/v4/objects/deals/"+dealID+"/associations/default/contacts/"+contactID, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+hssandbox.PrivateAppToken)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				body, _ := io.ReadAll(resp.Body)
				t.Fatalf("associate deal %s with contact %s: %s %s", dealID, contactID, resp.Status, body)
			}
		},
		contactIDs: func() []string { return sb.IDs("contacts") },
		dealStamp: func(t *testing.T, id string) string {
			props, ok := sb.Object("deals", id)
			if !ok {
				t.Fatalf("no deal %s", id)
			}
			return props["hs_lastmodifieddate"]
		},
	}
}

// each runs fn for every CRM on every store backend.
func each(t *testing.T, deals int, fn func(t *testing.T, c *crm, b bundle)) {
	eachWith(t, deals, nil, fn)
}

// eachWith is each with the Salesforce connector's options changed by sfMod.
func eachWith(t *testing.T, deals int, sfMod func(*salesforce.Options), fn func(t *testing.T, c *crm, b bundle)) {
	for _, backend := range storetest.Backends {
		for _, kind := range []string{"salesforce", "hubspot"} {
			t.Run(kind+"/"+string(backend), func(t *testing.T) {
				t.Parallel()
				s := storetest.Open(t, backend)
				sc, err := s.EnsureConnection(t.Context(), map[string]string{"salesforce": "sf", "hubspot": "hs"}[kind], kind)
				if err != nil {
					t.Fatal(err)
				}
				var c *crm
				if kind == "salesforce" {
					c = newSalesforce(t, s, deals, sfMod)
				} else {
					c = newHubSpot(t, deals)
				}
				fn(t, c, bundle{store: s, connID: sc.ID})
			})
		}
	}
}

func newPuller(t *testing.T, c *crm, b bundle, mod func(*pull.Options)) *pull.Puller {
	t.Helper()
	opts := pull.Options{
		Connection: map[string]string{"salesforce": "sf", "hubspot": "hs"}[c.name], ConnectionID: b.connID,
		Connector: c.conn, Store: b.store, Overlap: time.Minute, Logger: zerolog.Nop(),
	}
	if mod != nil {
		mod(&opts)
	}
	p, err := pull.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func object(s *pull.Summary, o connectors.Object) pull.ObjectSummary {
	for _, os := range s.Objects {
		if os.Object == o {
			return os
		}
	}
	return pull.ObjectSummary{}
}

func TestIncrementalPull(t *testing.T) {
	t.Parallel()
	const deals = 300
	each(t, deals, func(t *testing.T, c *crm, b bundle) {
		ctx := t.Context()
		p := newPuller(t, c, b, nil)
		first, err := p.Run(ctx, pull.Request{})
		if err != nil {
			t.Fatalf("first run: %v", err)
		}
		if got := object(first, connectors.ObjectDeal).Inserted; got != deals {
			t.Fatalf("first run inserted %d deals, want %d", got, deals)
		}
		counts, _ := b.store.RecordCounts(ctx, b.connID)
		if counts[connectors.ObjectDeal] != deals || counts[connectors.ObjectContact] < deals || counts[connectors.ObjectOwner] == 0 {
			t.Fatalf("stored counts %v", counts)
		}
		id := c.dealIDs()[0]
		roles, _ := b.store.DealContacts(ctx, b.connID, id)
		if len(roles) == 0 {
			t.Fatalf("deal %s has no contact roles stored", id)
		}

		// Nothing changed: nothing is written, and only a handful of calls are made.
		before := c.requests()
		second, err := p.Run(ctx, pull.Request{})
		if err != nil {
			t.Fatal(err)
		}
		for _, os := range second.Objects {
			if os.Inserted+os.Updated != 0 {
				t.Fatalf("idle run changed %s: %+v", os.Object, os)
			}
			if os.Full {
				t.Fatalf("second run read %s in full; want incremental from the cursor the first run stored", os.Object)
			}
		}
		for _, os := range first.Objects {
			if !os.Full {
				t.Fatalf("first run read %s incrementally; want a full read with no cursor yet", os.Object)
			}
		}
		// The summaries say so: a first pull is a full run, labelled as such, the next is not.
		if first.Mode != store.RunFull || first.Reason != pull.ReasonFirstPull {
			t.Fatalf("first run: mode %q reason %q, want %q %q", first.Mode, first.Reason, store.RunFull, pull.ReasonFirstPull)
		}
		if second.Mode != store.RunIncremental || second.Reason != "" {
			t.Fatalf("second run: mode %q reason %q, want %q and no reason", second.Mode, second.Reason, store.RunIncremental)
		}
		if runs, _ := b.store.Runs(ctx, b.connID, 10); len(runs) != 2 || runs[1].Mode != store.RunFull {
			t.Fatalf("recorded runs %+v, want the first recorded as full", runs)
		}
		if calls := c.requests() - before; calls > 8 {
			t.Fatalf("idle run made %d API calls, want at most 8", calls)
		}

		// A person edits a deal in the CRM: the next run updates exactly it.
		c.changeDeal(t, id, "Renamed by a person")
		third, err := p.Run(ctx, pull.Request{})
		if err != nil {
			t.Fatal(err)
		}
		if d := object(third, connectors.ObjectDeal); d.Updated != 1 || d.Inserted != 0 {
			t.Fatalf("after one edit: got %+v, want 1 updated", d)
		}
		r, err := b.store.Record(ctx, b.connID, connectors.ObjectDeal, id)
		if err != nil || r.Fields[c.nameField] != "Renamed by a person" {
			t.Fatalf("stored deal: got %v, %v", r, err)
		}
		runs, _ := b.store.Runs(ctx, b.connID, 10)
		if len(runs) != 3 || runs[0].Status != store.RunSucceeded {
			t.Fatalf("runs: got %+v", runs)
		}
	})
}

// A run that dies after some pages keeps them; the next run resumes, and nothing is lost or
// stored twice.
func TestCrashMidRunResumes(t *testing.T) {
	t.Parallel()
	const deals = 2500 // several deal pages on both CRMs
	each(t, deals, func(t *testing.T, c *crm, b bundle) {
		ctx := t.Context()
		// A first pull reads everything in full mode (TestCrashDuringFullPullResumes); start
		// from a cursor before all data so this run is incremental, page by page.
		for _, o := range connectors.Objects {
			if err := b.store.SetCursor(ctx, b.connID, o, connectors.Cursor{Stamp: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
				t.Fatal(err)
			}
		}
		// The worker dies right after its first deal page is committed.
		runCtx, kill := context.WithCancel(ctx)
		defer kill()
		p := newPuller(t, c, b, func(o *pull.Options) {
			o.Progress = func(pr pull.Progress) {
				if pr.Object == connectors.ObjectDeal {
					kill()
				}
			}
		})
		sum, err := p.Run(runCtx, pull.Request{})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("first run: got %v, want it cancelled", err)
		}
		partial := object(sum, connectors.ObjectDeal)
		if partial.Inserted == 0 || partial.Inserted >= deals {
			t.Fatalf("crashed run stored %d deals, want some but not all", partial.Inserted)
		}
		cur, _ := b.store.Cursor(ctx, b.connID, connectors.ObjectDeal)
		if cur.Stamp.IsZero() {
			t.Fatal("cursor did not advance with the committed pages")
		}
		run, _ := b.store.Run(ctx, sum.RunID)
		if run.Status != store.RunCancelled || !strings.Contains(run.Error, "canceled") || sum.Status != store.RunCancelled {
			t.Fatalf("cancelled run recorded as %+v (summary %s), want %s with the cause", run, sum.Status, store.RunCancelled)
		}
		p = newPuller(t, c, b, nil)
		resumed, err := p.Run(ctx, pull.Request{})
		if err != nil {
			t.Fatal(err)
		}
		// The resumed run re-reads the page that failed (its cursor was not committed) plus the
		// overlap, so inserted adds up exactly.
		if got := partial.Inserted + object(resumed, connectors.ObjectDeal).Inserted; got != deals {
			t.Fatalf("inserted %d + %d deals over two runs, want %d", partial.Inserted, got-partial.Inserted, deals)
		}
		counts, _ := b.store.RecordCounts(ctx, b.connID)
		if counts[connectors.ObjectDeal] != deals {
			t.Fatalf("stored %d deals, want %d", counts[connectors.ObjectDeal], deals)
		}
	})
}

func TestDeletesAndReconcile(t *testing.T) {
	t.Parallel()
	each(t, 120, func(t *testing.T, c *crm, b bundle) {
		ctx := t.Context()
		p := newPuller(t, c, b, nil)
		if _, err := p.Run(ctx, pull.Request{}); err != nil {
			t.Fatal(err)
		}
		gone := c.dealIDs()[3]
		c.deleteDeal(t, gone)
		// A record the store has but the CRM never had (e.g. a delete that no pass saw).
		ghost := "0060000000GHOST" + "AAA"
		if c.name == "hubspot" {
			ghost = "999999999"
		}
		if _, err := b.store.UpsertRecords(ctx, b.connID, []connectors.Record{{Object: connectors.ObjectDeal, ID: ghost, ModifiedAt: time.Now().Add(-time.Hour), Fields: map[string]any{}}}); err != nil {
			t.Fatal(err)
		}
		sum, err := p.Run(ctx, pull.Request{Full: true, Trigger: store.TriggerSchedule})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{gone, ghost} {
			r, err := b.store.Record(ctx, b.connID, connectors.ObjectDeal, id)
			if err != nil || !r.Deleted {
				t.Fatalf("deal %s after reconcile: got %+v, %v; want deleted", id, r, err)
			}
		}
		if d := object(sum, connectors.ObjectDeal); d.Deleted+d.Missing < 2 {
			t.Fatalf("reconcile summary %+v, want the deleted deal and the ghost counted", d)
		}
		counts, _ := b.store.RecordCounts(ctx, b.connID)
		if counts[connectors.ObjectDeal] != 119 {
			t.Fatalf("live deals: got %d, want 119", counts[connectors.ObjectDeal])
		}
	})
}

func TestRevokedRefreshTokenMarksNeedsReauth(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			s := storetest.Open(t, backend)
			ctx := t.Context()
			sc, _ := s.EnsureConnection(ctx, "sf", "salesforce")
			c := newSalesforce(t, s, 10, nil)
			var logs syncBuffer
			p := newPuller(t, c, bundle{store: s, connID: sc.ID}, func(o *pull.Options) { o.Logger = zerolog.New(&logs) })
			if _, err := p.Run(ctx, pull.Request{}); err != nil {
				t.Fatal(err)
			}
			c.breakAuth()
			_, err := p.Run(ctx, pull.Request{})
			if connectors.KindOf(err) != connectors.KindNeedsReauth {
				t.Fatalf("got %v (kind %v), want a needs-reauth error", err, connectors.KindOf(err))
			}
			// The failure is returned, so it is not logged too: the caller reports it once.
			if l := logs.String(); strings.Contains(l, `"level":"error"`) || strings.Contains(l, `"error":`) ||
				!strings.Contains(l, `"status":"failed"`) {
				t.Fatalf("logs:\n%s\nwant a run line with status failed and no error logged", l)
			}
			got, _ := s.ConnectionByName(ctx, "sf")
			if got.Status != store.ConnectionNeedsReauth || !strings.Contains(got.StatusReason, "connect") {
				t.Fatalf("connection: got %s %q, want needs_reauth with a reason", got.Status, got.StatusReason)
			}
			if strings.Contains(fmt.Sprint(err), sfsandbox.RefreshToken) {
				t.Fatal("error shows the refresh token")
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
