package hubspot

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mapsync/mapsync/connectors"
	sandbox "github.com/mapsync/mapsync/sandbox/hubspot"
)

// sameIDs fails the test unless got holds exactly the ids of want, each once.
func sameIDs(t *testing.T, got, want []string) {
	t.Helper()
	g := slices.Clone(got)
	w := slices.Clone(want)
	slices.SortFunc(g, connectors.CompareIDs)
	slices.SortFunc(w, connectors.CompareIDs)
	if !slices.Equal(g, w) {
		missing, extra := diff(w, g), diff(g, w)
		t.Errorf("got %d ids, want %d: missing %v, unexpected %v", len(g), len(w), head(missing), head(extra))
	}
}

func diff(a, b []string) []string {
	in := map[string]int{}
	for _, x := range b {
		in[x]++
	}
	var out []string
	for _, x := range a {
		if in[x] > 0 {
			in[x]--
			continue
		}
		out = append(out, x)
	}
	return out
}

func head(s []string) []string { return s[:min(len(s), 5)] }

func TestPullIncrementalAndFullAgree(t *testing.T) {
	t.Parallel()
	c, tb := setup(t, sandbox.Options{Deals: 450, Seed: 1}, nil)
	for _, obj := range []connectors.Object{connectors.ObjectDeal, connectors.ObjectContact} {
		t.Run(string(obj), func(t *testing.T) {
			t.Parallel()
			want := tb.sb.IDs(spec(t, obj).typ)
			inc := pull(t, c, connectors.PullRequest{Object: obj, Fields: []string{"description"}})
			checkOrdered(t, inc)
			sameIDs(t, inc.ids(), want)
			full := pull(t, c, connectors.PullRequest{Object: obj, Full: true})
			sameIDs(t, full.ids(), want)
			for _, r := range full.records {
				if r.Deleted {
					t.Errorf("got deleted record %s in a sandbox without deletes", r.ID)
				}
			}
		})
	}
}

func spec(t *testing.T, o connectors.Object) objectSpec {
	t.Helper()
	s, err := specFor(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPullDecodesProperties(t *testing.T) {
	t.Parallel()
	c, tb := setup(t, sandbox.Options{Deals: 20, Seed: 2, CustomProperties: sandbox.DefaultCustomProperties()}, nil)
	res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Fields: []string{"description", "no_such_property"}})
	if len(res.records) == 0 {
		t.Fatal("got no deals")
	}
	r := res.records[0]
	truth, ok := tb.sb.Object("deals", r.ID)
	if !ok {
		t.Fatalf("sandbox has no deal %s", r.ID)
	}
	for _, p := range []string{"dealname", "dealstage", "pipeline", "amount", "hubspot_owner_id", "description"} {
		if got, want := r.Fields[p], truth[p]; got != want {
			t.Errorf("%s: got %#v, want %#v", p, got, want)
		}
	}
	if _, ok := r.Fields["no_such_property"]; ok {
		t.Errorf("got unknown property no_such_property in fields, want it ignored as HubSpot does")
	}
	stamp, err := parseTime(truth["hs_lastmodifieddate"])
	if err != nil || !r.ModifiedAt.Equal(stamp) {
		t.Errorf("got stamp %v, want %v (%v)", r.ModifiedAt, stamp, err)
	}
}

func TestPullRejectsBadFieldNames(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, sandbox.Options{Deals: 1, Seed: 1}, nil)
	_, err := tryPull(t.Context(), c, connectors.PullRequest{Object: connectors.ObjectDeal, Fields: []string{"amount,dealname"}})
	if connectors.KindOf(err) != connectors.KindPermanent {
		t.Errorf("got error %v, want a permanent error", err)
	}
}

func TestPullEqualStampsAcrossPageBoundary(t *testing.T) {
	t.Parallel()
	tests := map[string]int{
		"less than a page": 150, // shares the page with older records and crosses its end
		"more than a page": 450, // whole pages at one stamp: keyset on hs_object_id
	}
	for name, n := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, tb := setup(t, sandbox.Options{Deals: 300, Seed: 3}, nil)
			ss, err := tb.sb.SameStamp("deals", n, map[string]string{"description": "mass update"})
			if err != nil {
				t.Fatal(err)
			}
			res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal})
			checkOrdered(t, res)
			sameIDs(t, res.ids(), tb.sb.IDs("deals"))
			atStamp := 0
			for _, r := range res.records {
				if r.ModifiedAt.Equal(ss.Stamp) {
					atStamp++
				}
			}
			if atStamp != n {
				t.Errorf("got %d records at the shared stamp, want %d", atStamp, n)
			}
			// Resuming from the last cursor re-reads only that stamp's records (no overlap asked).
			last := res.pages[len(res.pages)-1].Cursor
			again := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Since: last})
			if len(again.records) != n {
				t.Errorf("resume from %v: got %d records, want the %d at the cursor's stamp", last.Stamp, len(again.records), n)
			}
		})
	}
}

func TestPullBeyondTenThousandSearchResults(t *testing.T) {
	t.Parallel()
	t.Run("distinct stamps", func(t *testing.T) {
		t.Parallel()
		// About 10,500 contacts with distinct stamps: one search could not page through them.
		c, tb := setup(t, sandbox.Options{Deals: 5200, Seed: 4}, nil)
		want := tb.sb.IDs("contacts")
		if len(want) <= 10_000 {
			t.Fatalf("sandbox has %d contacts, want more than 10,000", len(want))
		}
		res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectContact})
		checkOrdered(t, res)
		sameIDs(t, res.ids(), want)
		calls := tb.sb.Requests("POST /crm/v3/objects/contacts/search")
		if minCalls := (len(want) + searchPageSize - 1) / searchPageSize; calls > minCalls*105/100+1 {
			t.Errorf("got %d search calls, want at most 5%% over the minimum %d", calls, minCalls)
		}
	})
	t.Run("one millisecond", func(t *testing.T) {
		t.Parallel()
		// The mass-update trap: 10,400 deals with one identical stamp.
		c, tb := setup(t, sandbox.Options{Deals: 100, Seed: 5}, nil)
		ss, err := tb.sb.SameStamp("deals", 10_400, map[string]string{"description": "import"})
		if err != nil {
			t.Fatal(err)
		}
		res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal})
		checkOrdered(t, res)
		sameIDs(t, res.ids(), tb.sb.IDs("deals"))
		if got := tb.sb.Requests("POST /crm/v3/objects/deals/search"); got > 10_400/searchPageSize+5 {
			t.Errorf("got %d search calls, want about %d", got, 10_400/searchPageSize+2)
		}
		if n := countStatus(tb.sb, "POST /crm/v3/objects/deals/search", http.StatusBadRequest); n > 0 {
			t.Errorf("got %d searches refused with 400, want none", n)
		}
		_ = ss
	})
}

func countStatus(sb *sandbox.Sandbox, endpoint string, status int) int {
	n := 0
	for _, c := range sb.Counts() {
		if c.Endpoint == endpoint && c.Status == status {
			n += c.N
		}
	}
	return n
}

// clock is a settable sandbox clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestPullOverlapCatchesLateVisibleRecord(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		overlap  time.Duration
		wantSeen bool
	}{
		"overlap longer than the lag": {overlap: time.Minute, wantSeen: true},
		"no overlap misses it":        {overlap: 0, wantSeen: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clk := &clock{now: time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)}
			c, tb := setup(t, sandbox.Options{Deals: 50, Seed: 6, Now: clk.Now}, nil)
			first := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal})
			cur := first.pages[len(first.pages)-1].Cursor

			clk.Add(10 * time.Second)
			// Written 5 s ago, committed (visible) only later.
			lateID, _, err := tb.sb.LateRecord("deals", "", map[string]string{"dealname": "Late"}, 5*time.Second, 0)
			if err != nil {
				t.Fatal(err)
			}
			ids := tb.sb.IDs("deals")
			if err := tb.sb.UpdateDeal(ids[0], map[string]string{"description": "touched"}); err != nil {
				t.Fatal(err)
			}
			second := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Since: cur, Overlap: tc.overlap})
			if slices.Contains(second.ids(), lateID) {
				t.Fatalf("got the late record before it became visible")
			}
			cur = second.pages[len(second.pages)-1].Cursor

			if err := tb.sb.Release("deals", lateID); err != nil {
				t.Fatal(err)
			}
			clk.Add(time.Second)
			third := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Since: cur, Overlap: tc.overlap})
			if got := slices.Contains(third.ids(), lateID); got != tc.wantSeen {
				t.Errorf("late record seen: got %v, want %v", got, tc.wantSeen)
			}
			checkOrdered(t, third)
			if !third.pages[len(third.pages)-1].Cursor.Stamp.Equal(cur.Stamp) {
				t.Errorf("got cursor %v, want it to stay at %v", third.pages[len(third.pages)-1].Cursor.Stamp, cur.Stamp)
			}
		})
	}
}

func TestFullPullReportsArchivedDeals(t *testing.T) {
	t.Parallel()
	c, tb := setup(t, sandbox.Options{Deals: 120, Seed: 7}, nil)
	ids := tb.sb.IDs("deals")
	archived := []string{ids[3], ids[50], ids[119]}
	stamps := map[string]time.Time{}
	before := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal})
	for _, r := range before.records {
		stamps[r.ID] = r.ModifiedAt
	}
	for _, id := range archived {
		if err := tb.sb.ArchiveObject("deals", id); err != nil {
			t.Fatal(err)
		}
	}
	inc := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal})
	for _, id := range archived {
		if slices.Contains(inc.ids(), id) {
			t.Errorf("incremental pull: got archived deal %s, want it left to the full pull", id)
		}
	}
	full := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true})
	var deleted []string
	for _, r := range full.records {
		if !r.Deleted {
			continue
		}
		deleted = append(deleted, r.ID)
		if !r.ModifiedAt.After(stamps[r.ID]) {
			t.Errorf("deal %s: got deletion stamped %v, want after its live stamp %v so the store applies it", r.ID, r.ModifiedAt, stamps[r.ID])
		}
	}
	sameIDs(t, deleted, archived)
	if got, want := len(full.records), len(ids); got != want {
		t.Errorf("got %d records in full (live and archived), want %d", got, want)
	}
}

func TestPullDealContactRoles(t *testing.T) {
	t.Parallel()
	c, tb := setup(t, sandbox.Options{Deals: 250, Seed: 8}, nil)
	lonely, err := tb.sb.CreateDeal(map[string]string{"dealname": "No contacts", "dealstage": "appointmentscheduled"})
	if err != nil {
		t.Fatal(err)
	}
	res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDealContact})
	deals := tb.sb.IDs("deals")
	if len(res.pages) == 0 {
		t.Fatal("got no pages")
	}
	got := map[string][]connectors.DealContact{}
	rows := 0
	for _, p := range res.pages {
		for id, roles := range p.Roles {
			got[id] = roles
			rows += len(roles)
		}
	}
	if rows != len(res.records) {
		t.Errorf("got %d records and %d role rows, want equal", len(res.records), rows)
	}
	if roles, ok := got[lonely]; !ok || len(roles) != 0 || roles == nil {
		t.Errorf("deal without contacts: got %#v (listed %v), want an empty non-nil set", roles, ok)
	}
	if len(got) != len(deals) {
		t.Errorf("got roles for %d deals, want all %d", len(got), len(deals))
	}
	for id, roles := range got {
		if id == lonely {
			continue
		}
		primaries := map[string]bool{}
		for _, r := range roles {
			if r.DealID != id || r.ContactID == "" || r.Role == "" {
				t.Errorf("deal %s: got role row %+v, want deal id, contact id and a role", id, r)
			}
			if strings.Contains(strings.ToLower(r.Role), "primary") {
				t.Errorf("deal %s: got the primary label %q as a role", id, r.Role)
			}
			if r.Primary {
				primaries[r.ContactID] = true
			}
		}
		if len(primaries) != 1 {
			t.Errorf("deal %s: got %d primary contacts, want 1", id, len(primaries))
		}
	}
	if calls, want := tb.sb.Requests("POST /crm/v4/associations/deals/contacts/batch/read"), 2*len(res.pages); calls > want {
		t.Errorf("got %d association batch reads for %d pages, want at most %d (100 ids a call)", calls, len(res.pages), want)
	}
	if calls := settledCount(t, tb.sb, "GET /crm/v4/associations/deals/contacts/labels", 0, 1); calls != 1 {
		t.Errorf("got %d label reads, want 1 per pull", calls)
	}
}

func TestPullOwners(t *testing.T) {
	t.Parallel()
	c, tb := setup(t, sandbox.Options{Deals: 400, Seed: 9}, nil)
	res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectOwner})
	checkOrdered(t, res)
	if len(res.records) == 0 {
		t.Fatal("got no owners")
	}
	for _, r := range res.records {
		if r.Fields["email"] == "" || r.ModifiedAt.IsZero() {
			t.Errorf("owner %s: got email %q stamp %v, want both", r.ID, r.Fields["email"], r.ModifiedAt)
		}
	}
	if calls := settledCount(t, tb.sb, "GET /crm/v3/owners", 0, 1); calls != 1 {
		t.Errorf("got %d owner calls, want 1: %+v", calls, tb.sb.Counts())
	}
	last := res.pages[len(res.pages)-1].Cursor
	atLast := 0
	for _, r := range res.records {
		if r.ModifiedAt.Equal(last.Stamp) {
			atLast++
		}
	}
	again := pull(t, c, connectors.PullRequest{Object: connectors.ObjectOwner, Since: last})
	if len(again.records) != atLast {
		t.Errorf("resume at the last owner's stamp: got %d owners, want the %d stamped then", len(again.records), atLast)
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, sandbox.Options{Deals: 5, Seed: 10, CustomProperties: sandbox.DefaultCustomProperties()}, nil)
	fields, err := c.Describe(t.Context(), connectors.ObjectDeal)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]connectors.FieldMeta{}
	for _, f := range fields {
		byName[f.Name] = f
	}
	tests := map[string]func(f connectors.FieldMeta) error{
		"dealstage": func(f connectors.FieldMeta) error {
			if f.Type != connectors.TypePicklist || !slices.Contains(f.Options, "closedwon") || !f.Updateable || !f.Restricted {
				return fmt.Errorf("got %+v, want an updateable restricted picklist with value closedwon", f)
			}
			return nil
		},
		"hs_lastmodifieddate": func(f connectors.FieldMeta) error {
			if f.Type != connectors.TypeDateTime || f.Updateable {
				return fmt.Errorf("got %+v, want a read-only datetime", f)
			}
			return nil
		},
		"hs_deal_stage_probability": func(f connectors.FieldMeta) error {
			if f.Updateable {
				return fmt.Errorf("got %+v, want calculated (not updateable)", f)
			}
			return nil
		},
		"hubspot_owner_id": func(f connectors.FieldMeta) error {
			if f.Type != connectors.TypeReference || !f.Updateable {
				return fmt.Errorf("got %+v, want an updateable reference", f)
			}
			return nil
		},
		"amount": func(f connectors.FieldMeta) error {
			if f.Type != connectors.TypeNumber && f.Type != connectors.TypeCurrency {
				return fmt.Errorf("got %+v, want a number", f)
			}
			return nil
		},
	}
	for name, check := range tests {
		f, ok := byName[name]
		if !ok {
			t.Errorf("got no field %s", name)
			continue
		}
		if err := check(f); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	custom := 0
	for _, f := range fields {
		if f.Custom {
			custom++
		}
	}
	if custom == 0 {
		t.Errorf("got no custom fields, want the sandbox's custom properties marked custom")
	}
	if _, err := c.Describe(t.Context(), connectors.ObjectOwner); connectors.KindOf(err) != connectors.KindPermanent {
		t.Errorf("describe owner: got %v, want a permanent error", err)
	}
}

// errorsAs is errors.As for *connectors.Error.
func errorsAs(err error) *connectors.Error {
	var e *connectors.Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

func TestFullPullWithRecordDeletedMidRun(t *testing.T) {
	t.Parallel()
	c, tb := setup(t, sandbox.Options{Deals: 350, Seed: 24}, nil)
	ids := tb.sb.IDs("deals")
	read, ahead := ids[10], ids[320] // on the first page, and on a page not read yet
	var res pullResult
	err := c.Pull(t.Context(), connectors.PullRequest{Object: connectors.ObjectDeal, Full: true}, func(p connectors.Page) error {
		res.pages = append(res.pages, p)
		res.records = append(res.records, p.Records...)
		if len(res.pages) == 1 {
			for _, id := range []string{read, ahead} {
				if err := tb.sb.ArchiveObject("deals", id); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	live := map[string]bool{}
	var deleted []string
	for _, r := range res.records {
		if r.Deleted {
			deleted = append(deleted, r.ID)
		} else {
			live[r.ID] = true
		}
	}
	for _, id := range tb.sb.IDs("deals") {
		if !live[id] {
			t.Errorf("got live deal %s missing from the full pull", id)
		}
	}
	sameIDs(t, deleted, []string{read, ahead})
	if live[ahead] {
		t.Errorf("got deal %s live after it was archived ahead of the pull", ahead)
	}
}

func TestIncrementalPullWithRecordsModifiedMidRun(t *testing.T) {
	t.Parallel()
	// With offset paging, every record that moves from a read page to the end shifts the next
	// offset and skips an unread record; the stamp keyset cannot skip.
	c, tb := setup(t, sandbox.Options{Deals: 600, Seed: 25}, nil)
	var res pullResult
	err := c.Pull(t.Context(), connectors.PullRequest{Object: connectors.ObjectDeal}, func(p connectors.Page) error {
		res.pages = append(res.pages, p)
		res.records = append(res.records, p.Records...)
		if len(res.pages) <= 2 {
			for _, r := range p.Records[:5] {
				if err := tb.sb.UpdateDeal(r.ID, map[string]string{"description": "edited mid-run"}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkOrdered(t, res)
	ids := res.ids()
	slices.SortFunc(ids, connectors.CompareIDs)
	sameIDs(t, slices.Compact(ids), tb.sb.IDs("deals"))
	if got, want := len(res.records), len(tb.sb.IDs("deals"))+10; got != want {
		t.Errorf("got %d records, want %d (the 10 edited ones again with their new stamp)", got, want)
	}
}

func TestFullDealContactPullCoversEveryLiveDeal(t *testing.T) {
	t.Parallel()
	c, tb := setup(t, sandbox.Options{Deals: 230, Seed: 26}, nil)
	ids := tb.sb.IDs("deals")
	if err := tb.sb.ArchiveObject("deals", ids[5]); err != nil {
		t.Fatal(err)
	}
	res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDealContact, Full: true})
	var got []string
	for _, p := range res.pages {
		for id := range p.Roles {
			got = append(got, id)
		}
	}
	sameIDs(t, got, tb.sb.IDs("deals"))
	for _, r := range res.records {
		if r.Deleted || r.Object != connectors.ObjectDealContact {
			t.Errorf("got record %+v, want live deal_contact records", r)
		}
	}
}

func TestPullDealContactsFollowsAssociationPaging(t *testing.T) {
	t.Parallel()
	c, tb := setup(t, sandbox.Options{Deals: 300, Seed: 27}, nil)
	deal, err := tb.sb.CreateDeal(map[string]string{"dealname": "Big committee", "dealstage": "appointmentscheduled"})
	if err != nil {
		t.Fatal(err)
	}
	contacts := tb.sb.IDs("contacts")[:520] // more than the 500 a batch read returns per deal
	for _, id := range contacts {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPut,
			tb.srv.URL+"/crm/v4/objects/deals/"+deal+"/associations/default/contacts/"+id, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+sandbox.PrivateAppToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("associate %s: got status %d", id, resp.StatusCode)
		}
	}
	res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDealContact})
	var roles []connectors.DealContact
	for _, p := range res.pages {
		if r, ok := p.Roles[deal]; ok {
			roles = r
		}
	}
	var got []string
	for _, r := range roles {
		got = append(got, r.ContactID)
	}
	sameIDs(t, got, contacts)
}
