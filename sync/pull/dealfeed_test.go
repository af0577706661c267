package pull_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/connectors/hubspot"
	hssandbox "github.com/mapsync/mapsync/sandbox/hubspot"
	"github.com/mapsync/mapsync/store/storetest"
	"github.com/mapsync/mapsync/sync/pull"
)

// feedDeals is the HubSpot CRM of the deal-feed tests: 25 list pages of deals, so three
// association batch reads of 1,000 (the connector's default, HubSpot's documented maximum).
const feedDeals = 2500

// newFeedHubSpot is a HubSpot sandbox over real HTTP with the connector's default batch size, and
// a connection of each store backend's to pull it into.
func newFeedHubSpot(t *testing.T) (*hssandbox.Sandbox, *hubspot.Connector, *httptest.Server) {
	t.Helper()
	sb := hssandbox.New(hssandbox.Options{Deals: feedDeals, Seed: 42, BurstLimit: -1, SearchPerSecond: -1, DailyLimit: -1, Logger: zerolog.Nop()})
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	c, err := hubspot.New(hubspot.Options{Connection: "hs", BaseURL: srv.URL, Auth: connectors.NewStaticToken(hssandbox.PrivateAppToken), SearchPerSecond: -1,
		Retry: quickRetry, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	return sb, c, srv
}

// eachFeedBackend runs fn on every store backend with a fresh sandbox.
func eachFeedBackend(t *testing.T, fn func(t *testing.T, sb *hssandbox.Sandbox, c *crm, b bundle)) {
	for _, backend := range storetest.Backends {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			s := storetest.Open(t, backend)
			sc, err := s.EnsureConnection(t.Context(), "hs", "hubspot")
			if err != nil {
				t.Fatal(err)
			}
			sb, conn, srv := newFeedHubSpot(t)
			c := &crm{name: "hubspot", conn: conn, requests: func() int64 { return int64(sb.Requests("")) },
				associate: func(t *testing.T, deal, contact string) {
					t.Helper()
					req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, srv.URL+"/crm/v4/objects/deals/"+deal+"/associations/default/contacts/"+contact, nil)
					if err != nil {
						t.Fatal(err)
					}
					req.Header.Set("Authorization", "Bearer "+hssandbox.PrivateAppToken)
					resp, err := srv.Client().Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("associate deal %s with contact %s: %s", deal, contact, resp.Status)
					}
				}}
			fn(t, sb, c, bundle{store: s, connID: sc.ID})
		})
	}
}

// endpointCalls counts the sandbox's requests per endpoint between two snapshots.
func endpointCalls(sb *hssandbox.Sandbox) map[string]int {
	out := map[string]int{}
	for _, c := range sb.Counts() {
		out[c.Endpoint] += c.N
	}
	return out
}

func callsSince(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for k, n := range after {
		if d := n - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

const (
	dealList   = "GET /crm/v3/objects/deals"
	dealSearch = "POST /crm/v3/objects/deals/search"
	assocRead  = "POST /crm/v4/associations/deals/contacts/batch/read"
)

// runCounted runs p and returns its summary and the sandbox requests it made, per endpoint.
func runCounted(t *testing.T, ctx context.Context, sb *hssandbox.Sandbox, p *pull.Puller, req pull.Request) (*pull.Summary, map[string]int, error) {
	t.Helper()
	before := endpointCalls(sb)
	sum, err := p.Run(ctx, req)
	return sum, callsSince(before, endpointCalls(sb)), err
}

// A full pull reads the roles of the deals its deal pull delivers, so it makes exactly the
// minimum of calls (pull.MinCalls); a pull of the roles alone still walks the deals, and stores
// the very same roles.
func TestFullPullRolesReuseDeals(t *testing.T) {
	t.Parallel()
	eachFeedBackend(t, func(t *testing.T, sb *hssandbox.Sandbox, c *crm, b bundle) {
		ctx := t.Context()
		p := newPuller(t, c, b, nil)
		for _, req := range []pull.Request{{}, {Full: true}} { // a first pull, then --full over stored data
			sum, calls, err := runCounted(t, ctx, sb, p, req)
			if err != nil {
				t.Fatal(err)
			}
			counts := map[connectors.Object]int{
				connectors.ObjectDeal:    len(sb.IDs("deals")),
				connectors.ObjectContact: len(sb.IDs("contacts")),
				connectors.ObjectOwner:   object(sum, connectors.ObjectOwner).Read,
			}
			roles := object(sum, connectors.ObjectDealContact)
			t.Logf("full=%v: %d calls (minimum %d): %v", req.Full, total(calls), pull.MinCalls("hubspot", counts), calls)
			// Exactly the minimum, the archived owners listing (GET /crm/v3/owners/?archived=true)
			// included.
			if want := pull.MinCalls("hubspot", counts); total(calls) != want || calls["GET /crm/v3/owners/"] != 2 {
				t.Errorf("full=%v: %d calls, want the minimum %d: %v", req.Full, total(calls), want, calls)
			}
			// The deal list once (25 live pages, one archived), for the deals alone.
			if calls[dealList] != feedDeals/100+1 || calls[assocRead] != 3 {
				t.Errorf("full=%v: %d deal list calls and %d association reads, want %d and 3", req.Full, calls[dealList], calls[assocRead], feedDeals/100+1)
			}
			if roles.DealsFrom != pull.DealsFromDealPull || !roles.Full {
				t.Errorf("full=%v: roles summary %+v, want read for the deal pull's deals", req.Full, roles)
			}
		}

		// The roles alone walk the deals (25 list pages more), and store the same roles.
		ref, err := b.store.EnsureConnection(ctx, "hs-ref", "hubspot")
		if err != nil {
			t.Fatal(err)
		}
		refBundle := bundle{store: b.store, connID: ref.ID}
		rp := newPuller(t, c, refBundle, func(o *pull.Options) {
			o.Connection = "hs-ref"
			o.Objects = []connectors.Object{connectors.ObjectDealContact}
		})
		sum, calls, err := runCounted(t, ctx, sb, rp, pull.Request{})
		if err != nil {
			t.Fatal(err)
		}
		if got := object(sum, connectors.ObjectDealContact).DealsFrom; got != "walk: this run does not pull deals" {
			t.Errorf("roles alone: deals from %q, want the walk", got)
		}
		if calls[dealList] != feedDeals/100 || calls[assocRead] != 3 {
			t.Errorf("roles alone: %d deal list calls and %d association reads, want %d and 3", calls[dealList], calls[assocRead], feedDeals/100)
		}
		mine, theirs := allDealContacts(t, b), allDealContacts(t, refBundle)
		if len(mine) < feedDeals || !slices.Equal(mine, theirs) {
			t.Errorf("roles from the deal pull: %d rows; from the walk: %d rows; want the same, one or more a deal", len(mine), len(theirs))
		}
	})
}

// An incremental run reads the roles of the deals its deal search found: no second search. When
// the roles' cursor is behind the deals' (the deals were pulled alone since), the roles pull walks
// its own window instead, and says so.
func TestIncrementalPullRolesReuseDeals(t *testing.T) {
	t.Parallel()
	eachFeedBackend(t, func(t *testing.T, sb *hssandbox.Sandbox, c *crm, b bundle) {
		ctx := t.Context()
		p := newPuller(t, c, b, nil)
		if _, err := p.Run(ctx, pull.Request{}); err != nil {
			t.Fatal(err)
		}
		deals, contacts := sb.IDs("deals"), sb.IDs("contacts")
		// A contact is put on a deal, and the deal edited (an association alone does not bump the
		// deal's stamp; see connectors/hubspot).
		hasRole := func(deal, contact string) bool {
			roles, err := b.store.DealContacts(ctx, b.connID, deal)
			if err != nil {
				t.Fatal(err)
			}
			return slices.ContainsFunc(roles, func(dc connectors.DealContact) bool { return dc.ContactID == contact })
		}
		link := func(deal string) string {
			for _, ct := range contacts {
				if !hasRole(deal, ct) {
					if err := sb.UpdateDeal(deal, map[string]string{"dealname": "Edited " + ct}); err != nil {
						t.Fatal(err)
					}
					c.associate(t, deal, ct)
					return ct
				}
			}
			t.Fatalf("deal %s has every contact", deal)
			return ""
		}
		contact := link(deals[7])
		sum, calls, err := runCounted(t, ctx, sb, p, pull.Request{})
		if err != nil {
			t.Fatal(err)
		}
		roles := object(sum, connectors.ObjectDealContact)
		t.Logf("incremental: %d calls: %v", total(calls), calls)
		// Owners, contacts and deals one call each, the labels, one association read: five, where
		// walking the deals again made six.
		if total(calls) != 5 || calls[dealSearch] != 1 || calls[assocRead] != 1 {
			t.Errorf("incremental run: %d calls (%v), want 5 with one deal search", total(calls), calls)
		}
		if roles.DealsFrom != pull.DealsFromDealPull || roles.Full || !hasRole(deals[7], contact) {
			t.Errorf("roles summary %+v; new role stored %v: want it read for the deal pull's deals", roles, hasRole(deals[7], contact))
		}

		// The deals alone move on; the next run's roles must still see this change.
		contact = link(deals[9])
		time.Sleep(5 * time.Millisecond) // stamps are milliseconds: the next edit sorts after
		onlyDeals := newPuller(t, c, b, func(o *pull.Options) { o.Objects = []connectors.Object{connectors.ObjectDeal} })
		if _, err := onlyDeals.Run(ctx, pull.Request{}); err != nil {
			t.Fatal(err)
		}
		sum, calls, err = runCounted(t, ctx, sb, p, pull.Request{})
		if err != nil {
			t.Fatal(err)
		}
		roles = object(sum, connectors.ObjectDealContact)
		if roles.DealsFrom != "walk: the roles' cursor is behind the deals'" || calls[dealSearch] != 2 {
			t.Errorf("roles behind the deals: deals from %q, %d deal searches; want the walk, one search each", roles.DealsFrom, calls[dealSearch])
		}
		if !hasRole(deals[9], contact) {
			t.Errorf("deal %s: the role added while the deals were pulled alone is not stored", deals[9])
		}
	})
}

// feedKill kills a run once it has committed n pages of the roles and the deal pull has finished:
// a worker dying in the middle of the roles of a first pull that reads them from the deal pull.
type feedKill struct {
	*hubspot.Connector
	n    int
	gate chan struct{}
	kill context.CancelFunc
}

func (k *feedKill) Pull(ctx context.Context, req connectors.PullRequest, fn func(connectors.Page) error) error {
	if req.Object != connectors.ObjectDealContact {
		return k.Connector.Pull(ctx, req, fn)
	}
	delivered := 0
	return k.Connector.Pull(ctx, req, func(pg connectors.Page) error {
		if delivered < k.n {
			delivered++
			return fn(pg)
		}
		select {
		case <-k.gate:
		case <-time.After(20 * time.Second):
		case <-ctx.Done():
		}
		k.kill()
		<-ctx.Done()
		return ctx.Err()
	})
}

// A first pull that dies in the middle of roles read from the deal pull resumes them by walking
// the deals from its last committed roles page (the deal pull's ids are gone with the dead run):
// only the rest is read, and the roles end as an uninterrupted pull stores them.
func TestResumedRolesWalkTheRest(t *testing.T) {
	t.Parallel()
	eachFeedBackend(t, func(t *testing.T, sb *hssandbox.Sandbox, c *crm, b bundle) {
		ctx := t.Context()
		runCtx, kill := context.WithCancel(ctx)
		defer kill()
		gate := make(chan struct{})
		var once sync.Once
		dealsDone := func() bool {
			cur, err := b.store.Cursor(ctx, b.connID, connectors.ObjectDeal)
			return err == nil && !cur.Stamp.IsZero() && !passState(cur)
		}
		p := newPuller(t, c, b, func(o *pull.Options) {
			o.Connector = &feedKill{Connector: c.conn.(*hubspot.Connector), n: 1, gate: gate, kill: kill}
			o.Progress = func(pr pull.Progress) {
				if pr.Object != connectors.ObjectDealContact || pr.Pages < 1 {
					return
				}
				go func() { // the deal pull stores its final cursor after its last page: wait for it
					deadline := time.Now().Add(15 * time.Second)
					for !dealsDone() && time.Now().Before(deadline) {
						time.Sleep(10 * time.Millisecond)
					}
					once.Do(func() { close(gate) })
				}()
			}
		})
		crashed, err := p.Run(runCtx, pull.Request{})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("crashed run: got %v, want it cancelled", err)
		}
		if r := object(crashed, connectors.ObjectDealContact); r.Pages != 1 || r.DealsFrom != pull.DealsFromDealPull || !dealsDone() {
			t.Fatalf("crashed run: roles %+v, deals finished %v; want one roles page from the deal pull, the deals finished", r, dealsDone())
		}

		sum, calls, err := runCounted(t, ctx, sb, newPuller(t, c, b, nil), pull.Request{})
		if err != nil {
			t.Fatal(err)
		}
		roles := object(sum, connectors.ObjectDealContact)
		t.Logf("resumed run: %d calls: %v; roles %+v", total(calls), calls, roles)
		if !roles.Resumed || roles.DealsFrom != "walk: an interrupted full pass resumes" {
			t.Errorf("resumed roles: %+v, want the pass resumed by a walk", roles)
		}
		// The walk starts after the 1,000 deals of the committed page: 15 list pages, two reads.
		if calls[dealList] != feedDeals/100-10 || calls[assocRead] != 2 {
			t.Errorf("resumed run: %d deal list calls and %d association reads, want %d and 2", calls[dealList], calls[assocRead], feedDeals/100-10)
		}

		ref, err := b.store.EnsureConnection(ctx, "hs-ref", "hubspot")
		if err != nil {
			t.Fatal(err)
		}
		refBundle := bundle{store: b.store, connID: ref.ID}
		if _, err := newPuller(t, c, refBundle, func(o *pull.Options) { o.Connection = "hs-ref" }).Run(ctx, pull.Request{}); err != nil {
			t.Fatal(err)
		}
		mine, theirs := allDealContacts(t, b), allDealContacts(t, refBundle)
		if len(mine) < feedDeals || !slices.Equal(mine, theirs) {
			t.Errorf("after the resume: %d role rows, an uninterrupted pull %d; want the same", len(mine), len(theirs))
		}
	})
}
