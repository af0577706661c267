package pull_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/connectors/salesforce"
	"github.com/mapsync/mapsync/store/storetest"
	"github.com/mapsync/mapsync/sync/pull"
)

// settledRequests reads the sandbox's request count once it has stopped moving: a sandbox counts
// a request after it has answered it.
func settledRequests(c *crm) int64 {
	n := c.requests()
	for range 50 {
		time.Sleep(10 * time.Millisecond)
		m := c.requests()
		if m == n {
			return n
		}
		n = m
	}
	return n
}

// passState reports whether a stored cursor carries an unfinished full pass (sync/pull's
// documented Cursor.Extra keys).
func passState(c connectors.Cursor) bool {
	for k := range c.Extra {
		if strings.HasPrefix(k, "full.") {
			return true
		}
	}
	return false
}

// allDealContacts reads every contact role of a connection's deals, in one order.
func allDealContacts(t *testing.T, b bundle) []connectors.DealContact {
	t.Helper()
	db := b.store.DB()
	var out []connectors.DealContact
	if err := db.SelectContext(t.Context(), &out, db.Rebind(`SELECT deal_id, contact_id, role, is_primary FROM deal_contacts
		WHERE connection_id = ? ORDER BY deal_id, contact_id, role`), b.connID); err != nil {
		t.Fatal(err)
	}
	return out
}

// killAfter wraps a connector to kill a run between two pages: once it has delivered n pages and
// the puller has committed them, it cancels the run as it holds the next page, as a worker that
// dies mid-run would leave things (pages committed, the next one fetched and lost).
type killAfter struct {
	connectors.Connector
	n    int
	gate *pageGate // closed once the puller has committed n pages
	kill context.CancelFunc
}

// pageGate is closed once the puller's Progress reports n committed pages.
type pageGate struct {
	n       int
	once    sync.Once
	reached chan struct{}
}

func newPageGate(n int) *pageGate { return &pageGate{n: n, reached: make(chan struct{})} }

// progress is the puller's Progress callback.
func (g *pageGate) progress(pr pull.Progress) {
	if pr.Pages >= g.n {
		g.once.Do(func() { close(g.reached) })
	}
}

func (k *killAfter) Pull(ctx context.Context, req connectors.PullRequest, fn func(connectors.Page) error) error {
	delivered := 0
	return k.Connector.Pull(ctx, req, func(pg connectors.Page) error {
		if delivered < k.n {
			delivered++
			return fn(pg)
		}
		select {
		case <-k.gate.reached:
		case <-time.After(10 * time.Second):
		case <-ctx.Done():
		}
		k.kill()
		<-ctx.Done()
		return ctx.Err()
	})
}

// A first pull (a full pass) that dies after some pages resumes after its last committed page:
// the next run reads only the rest, every record is stored once, and the reconcile at its end
// still uses the pass's original start, so what the dead run stored counts as seen while what the
// CRM no longer has is marked deleted.
func TestCrashDuringFullPullResumes(t *testing.T) {
	t.Parallel()
	const deals = 1500 // 15 pages of 100 on HubSpot, 8 of 200 on Salesforce (page size below)
	eachWith(t, deals, func(o *salesforce.Options) { o.PageSize = 200 }, func(t *testing.T, c *crm, b bundle) {
		ctx := t.Context()
		// The CRM's data read whole by an uninterrupted pull into another connection: the calls
		// a full pass costs, and the contact roles it stores.
		ref, err := b.store.EnsureConnection(ctx, connName(c)+"-ref", c.name)
		if err != nil {
			t.Fatal(err)
		}
		refBundle := bundle{store: b.store, connID: ref.ID}
		for _, obj := range []connectors.Object{connectors.ObjectDealContact, connectors.ObjectDeal} {
			t.Run(string(obj), func(t *testing.T) {
				only := func(o *pull.Options) { o.Objects = []connectors.Object{obj} }
				calls := settledRequests(c)
				refSum, err := newPuller(t, c, refBundle, func(o *pull.Options) { only(o); o.Connection += "-ref" }).Run(ctx, pull.Request{})
				if err != nil {
					t.Fatal(err)
				}
				full := settledRequests(c) - calls
				refPages := object(refSum, obj).Pages

				// A record the store has and the CRM never had: the reconcile must mark it deleted.
				ghost := map[string]string{"salesforce": "006000000000GHOSTA", "hubspot": "999999999"}[c.name]
				if obj == connectors.ObjectDeal {
					if _, err := b.store.UpsertRecords(ctx, b.connID, []connectors.Record{{Object: obj, ID: ghost, ModifiedAt: time.Now().Add(-time.Hour), Fields: map[string]any{}}}); err != nil {
						t.Fatal(err)
					}
				}

				// The worker dies once a third of the pages are committed.
				runCtx, kill := context.WithCancel(ctx)
				defer kill()
				gate := newPageGate(refPages / 3)
				p := newPuller(t, c, b, func(o *pull.Options) {
					only(o)
					o.Connector = &killAfter{Connector: c.conn, n: refPages / 3, gate: gate, kill: kill}
					o.Progress = gate.progress
				})
				calls = settledRequests(c)
				crashed, err := p.Run(runCtx, pull.Request{})
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("crashed run: got %v, want it cancelled", err)
				}
				crashCalls := settledRequests(c) - calls
				partial := object(crashed, obj)
				if !partial.Full || partial.Pages != refPages/3 {
					t.Fatalf("crashed run stored %d of %d pages (full %v), want %d", partial.Pages, refPages, partial.Full, refPages/3)
				}
				cur, err := b.store.Cursor(ctx, b.connID, obj)
				if err != nil {
					t.Fatal(err)
				}
				if !passState(cur) || !cur.Stamp.IsZero() {
					t.Fatalf("cursor after the crash: %+v, want no stamp yet and the pass's state", cur)
				}

				// Meanwhile in the CRM: a deal the dead run stored is edited and another deleted, and
				// a deal it had not reached yet is deleted.
				var edited, goneStored, goneUnstored string
				if obj == connectors.ObjectDeal {
					stored := map[string]bool{}
					for _, r := range storedRecords(t, b, obj) {
						stored[r.ID] = true
					}
					for _, id := range c.dealIDs() {
						switch {
						case stored[id] && edited == "":
							edited = id
						case stored[id] && goneStored == "":
							goneStored = id
						case !stored[id] && goneUnstored == "":
							goneUnstored = id
						}
					}
					if edited == "" || goneStored == "" || goneUnstored == "" {
						t.Fatalf("cannot pick deals: edited %q, deleted %q and %q", edited, goneStored, goneUnstored)
					}
					c.changeDeal(t, edited, "Edited while the pull was down")
					c.deleteDeal(t, goneStored)
					c.deleteDeal(t, goneUnstored)
				}

				// The next run, scheduled as incremental, finishes the pass.
				p = newPuller(t, c, b, only)
				calls = settledRequests(c)
				resumed, err := p.Run(ctx, pull.Request{})
				if err != nil {
					t.Fatal(err)
				}
				resumeCalls := settledRequests(c) - calls
				rest := object(resumed, obj)
				t.Logf("full pass %d calls, %d pages; crashed run %d calls, %d pages committed; resumed run %d calls, %d pages, %d records (%d inserted, %d updated, %d unchanged)",
					full, refPages, crashCalls, partial.Pages, resumeCalls, rest.Pages, rest.Read, rest.Inserted, rest.Updated, rest.Unchanged)
				if !rest.Full || !rest.Resumed {
					t.Errorf("resumed run: %+v, want the full pass resumed", rest)
				}
				// Only the rest was read: none of the pages the dead run committed is read again. (The
				// deletes may add a page: HubSpot's archived list has records now, and Salesforce's
				// deleted deal moved past the position.)
				if rest.Pages < refPages-partial.Pages || rest.Pages > refPages-partial.Pages+1 {
					t.Errorf("resumed run read %d pages, want the %d the dead run left", rest.Pages, refPages-partial.Pages)
				}
				if resumeCalls > full-int64(partial.Pages)+1 {
					t.Errorf("resumed run made %d calls, a full pass %d, and the dead run committed %d pages: want the rest's calls only", resumeCalls, full, partial.Pages)
				}
				if rest.Unchanged > 1 {
					t.Errorf("resumed run read %d records the dead run had stored, want none (the deleted one at most)", rest.Unchanged)
				}
				// The reconcile ran with the pass's first start: the dead run's records count as seen.
				if obj == connectors.ObjectDeal && rest.Missing != 1 {
					t.Errorf("reconcile marked %d deals missing, want only the ghost", rest.Missing)
				}
				if obj == connectors.ObjectDealContact && rest.Missing != 0 {
					t.Errorf("reconcile marked %d contact roles missing, want none", rest.Missing)
				}
				cur, _ = b.store.Cursor(ctx, b.connID, obj)
				if passState(cur) || cur.Stamp.IsZero() {
					t.Errorf("cursor after the pass: %+v, want a stamp and no pass state", cur)
				}

				// Every record exactly once, as the uninterrupted pull stored them.
				mine, theirs := storedRecords(t, b, obj), storedRecords(t, refBundle, obj)
				if obj == connectors.ObjectDeal {
					// Two deals were added to the CRM's deleted ones since, and the ghost.
					if len(mine) != len(theirs)+1 {
						t.Errorf("stored %d deals, want %d and the ghost", len(mine), len(theirs))
					}
					if got := partial.Inserted + rest.Inserted; got != len(theirs) {
						t.Errorf("inserted %d + %d deals over two runs, want %d", partial.Inserted, rest.Inserted, len(theirs))
					}
					live := 0
					for _, r := range mine {
						if !r.Deleted {
							live++
						}
					}
					if want := len(c.dealIDs()); live != want {
						t.Errorf("%d live deals stored, want the CRM's %d", live, want)
					}
					for _, id := range []string{ghost, goneStored, goneUnstored} {
						if r, err := b.store.Record(ctx, b.connID, obj, id); err != nil || !r.Deleted {
							t.Errorf("deal %s: got %+v, %v; want deleted", id, r, err)
						}
					}
				} else {
					ids := func(rs []storedRecord) []string {
						out := make([]string, 0, len(rs))
						for _, r := range rs {
							out = append(out, r.ID)
						}
						slices.Sort(out)
						return out
					}
					if !slices.Equal(ids(mine), ids(theirs)) {
						t.Errorf("stored %d contact roles, the uninterrupted pull %d: not the same", len(mine), len(theirs))
					}
					got, want := allDealContacts(t, b), allDealContacts(t, refBundle)
					if len(want) == 0 || !slices.Equal(got, want) {
						t.Errorf("stored %d contact roles of deals, the uninterrupted pull %d: not the same", len(got), len(want))
					}
				}

				// The edit made while the pull was down is stored by the next incremental pull at the
				// latest (the cursor is not after the pass's first start), if the resumed pass did
				// not read it again (HubSpot lists by id; Salesforce's stamp order moved it on).
				if obj == connectors.ObjectDeal {
					next, err := p.Run(ctx, pull.Request{})
					if err != nil {
						t.Fatal(err)
					}
					if os := object(next, obj); os.Full || os.Inserted != 0 {
						t.Errorf("incremental after the pass: %+v", os)
					}
					r, err := b.store.Record(ctx, b.connID, obj, edited)
					if err != nil || r.Fields[c.nameField] != "Edited while the pull was down" {
						t.Errorf("edited deal: got %v, %v", r, err)
					}
				}
			})
		}
	})
}

// A --full reconcile that dies mid-pass leaves the incremental cursor where it was; the next run,
// although scheduled as incremental, finishes the reconcile and marks what the CRM no longer has.
func TestCrashDuringReconcileResumes(t *testing.T) {
	t.Parallel()
	eachWith(t, 600, func(o *salesforce.Options) { o.PageSize = 200 }, func(t *testing.T, c *crm, b bundle) {
		ctx := t.Context()
		only := func(o *pull.Options) { o.Objects = []connectors.Object{connectors.ObjectDeal} }
		if _, err := newPuller(t, c, b, only).Run(ctx, pull.Request{}); err != nil {
			t.Fatal(err)
		}
		before, _ := b.store.Cursor(ctx, b.connID, connectors.ObjectDeal)
		ghost := map[string]string{"salesforce": "006000000000GHOSTA", "hubspot": "999999999"}[c.name]
		if _, err := b.store.UpsertRecords(ctx, b.connID, []connectors.Record{{Object: connectors.ObjectDeal, ID: ghost, ModifiedAt: before.Stamp.Add(-time.Hour), Fields: map[string]any{}}}); err != nil {
			t.Fatal(err)
		}
		runCtx, kill := context.WithCancel(ctx)
		defer kill()
		gate := newPageGate(2)
		_, err := newPuller(t, c, b, func(o *pull.Options) {
			only(o)
			o.Connector = &killAfter{Connector: c.conn, n: 2, gate: gate, kill: kill}
			o.Progress = gate.progress
		}).Run(runCtx, pull.Request{Full: true})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("reconcile: got %v, want it cancelled", err)
		}
		mid, _ := b.store.Cursor(ctx, b.connID, connectors.ObjectDeal)
		if !passState(mid) || !mid.Stamp.Equal(before.Stamp) || mid.ID != before.ID {
			t.Fatalf("cursor during the reconcile: %+v, want (%v, %s) with the pass's state", mid, before.Stamp, before.ID)
		}
		sum, err := newPuller(t, c, b, only).Run(ctx, pull.Request{})
		if err != nil {
			t.Fatal(err)
		}
		d := object(sum, connectors.ObjectDeal)
		if !d.Full || !d.Resumed || d.Missing != 1 || d.Read > 600-2*100+1 {
			t.Errorf("next run: %+v, want the reconcile resumed after its 2 pages, the ghost missing", d)
		}
		if r, err := b.store.Record(ctx, b.connID, connectors.ObjectDeal, ghost); err != nil || !r.Deleted {
			t.Errorf("ghost after the reconcile: %+v, %v; want deleted", r, err)
		}
		after, _ := b.store.Cursor(ctx, b.connID, connectors.ObjectDeal)
		if passState(after) || after.After(before.Stamp, before.ID) {
			t.Errorf("cursor after the reconcile: %+v, want no pass state and not behind (%v, %s)", after, before.Stamp, before.ID)
		}
		if counts, _ := b.store.RecordCounts(ctx, b.connID); counts[connectors.ObjectDeal] != 600 {
			t.Errorf("live deals: got %d, want 600", counts[connectors.ObjectDeal])
		}
	})
}

// A stored position the connector cannot resume from fails the run once and is dropped: the run
// after starts the pass over.
func TestUnusablePassPositionIsDropped(t *testing.T) {
	t.Parallel()
	each(t, 50, func(t *testing.T, c *crm, b bundle) {
		ctx := t.Context()
		bad := connectors.Cursor{Extra: map[string]string{
			"full.start":         time.Now().UTC().Format(time.RFC3339Nano),
			"full.at.list_pass":  "sideways",  // HubSpot's
			"full.at.full_stamp": "yesterday", // Salesforce's
			"full.at.full_id":    "nope",
		}}
		if err := b.store.SetCursor(ctx, b.connID, connectors.ObjectDeal, bad); err != nil {
			t.Fatal(err)
		}
		p := newPuller(t, c, b, func(o *pull.Options) { o.Objects = []connectors.Object{connectors.ObjectDeal} })
		_, err := p.Run(ctx, pull.Request{})
		if connectors.KindOf(err) != connectors.KindPermanent {
			t.Fatalf("got %v, want a permanent error", err)
		}
		if cur, _ := b.store.Cursor(ctx, b.connID, connectors.ObjectDeal); passState(cur) {
			t.Fatalf("cursor %+v still holds the pass", cur)
		}
		sum, err := p.Run(ctx, pull.Request{})
		if err != nil {
			t.Fatal(err)
		}
		if d := object(sum, connectors.ObjectDeal); !d.Full || d.Resumed || d.Inserted != 50 {
			t.Errorf("run after: %+v, want a fresh full pass inserting 50 deals", d)
		}
	})
}

// HubSpot: a contact associated with a deal without a change to the deal's stamp is invisible to
// an incremental pull (it walks deals by stamp) and found by a --full reconcile, which reads every
// deal's associations.
func TestHubSpotAssociationWithoutStampNeedsReconcile(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			s := storetest.Open(t, backend)
			ctx := t.Context()
			sc, err := s.EnsureConnection(ctx, "hs", "hubspot")
			if err != nil {
				t.Fatal(err)
			}
			c := newHubSpot(t, 100)
			b := bundle{store: s, connID: sc.ID}
			p := newPuller(t, c, b, nil)
			if _, err := p.Run(ctx, pull.Request{}); err != nil {
				t.Fatal(err)
			}
			deal := c.dealIDs()[10]
			roles := func() map[string]bool {
				rs, err := s.DealContacts(ctx, sc.ID, deal)
				if err != nil {
					t.Fatal(err)
				}
				out := map[string]bool{}
				for _, r := range rs {
					out[r.ContactID] = true
				}
				return out
			}
			had := roles()
			if len(had) == 0 {
				t.Fatalf("deal %s has no contact roles stored", deal)
			}
			var contact string
			for _, id := range c.contactIDs() {
				if !had[id] {
					contact = id
					break
				}
			}
			stamp := c.dealStamp(t, deal)
			c.associate(t, deal, contact)
			if got := c.dealStamp(t, deal); got != stamp {
				t.Fatalf("associating changed the deal's stamp from %s to %s; the test needs it unchanged", stamp, got)
			}

			inc, err := p.Run(ctx, pull.Request{})
			if err != nil {
				t.Fatal(err)
			}
			if dc := object(inc, connectors.ObjectDealContact); dc.Full || dc.Inserted != 0 {
				t.Errorf("incremental run: %+v, want nothing new", dc)
			}
			if roles()[contact] {
				t.Fatalf("an incremental pull stored the new association of deal %s; the reconcile test below proves nothing", deal)
			}

			full, err := p.Run(ctx, pull.Request{Full: true})
			if err != nil {
				t.Fatal(err)
			}
			if !roles()[contact] {
				t.Errorf("after the reconcile deal %s's contacts are %v, want %s among them", deal, roles(), contact)
			}
			if dc := object(full, connectors.ObjectDealContact); !dc.Full || dc.Inserted != 1 || dc.Missing != 0 {
				t.Errorf("reconcile of contact roles: %+v, want the one new role inserted", dc)
			}
			for id := range had {
				if !roles()[id] {
					t.Errorf("the reconcile dropped contact %s of deal %s", id, deal)
				}
			}
		})
	}
}
