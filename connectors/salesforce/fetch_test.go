package salesforce

import (
	"slices"
	"strings"
	"testing"

	"github.com/mapsync/mapsync/connectors"
	sandbox "github.com/mapsync/mapsync/sandbox/salesforce"
)

// TestFetchDeals reads deals by id from the sandbox over HTTP: the live ones with their
// complete role sets (as the full deal_contact pull delivers them) and the contacts those name,
// a deleted one (recycle bin) as Deleted, an unknown id as Missing, in one query per object.
func TestFetchDeals(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Deals: 60}, nil, nil)
	roles := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDealContact, Full: true})
	want := map[string][]connectors.DealContact{}
	for _, p := range roles.pages {
		for id, rs := range p.Roles {
			want[id] = rs
		}
	}
	var withRoles []string
	for id, rs := range want {
		if len(rs) > 0 {
			withRoles = append(withRoles, id)
		}
	}
	slices.Sort(withRoles)
	if len(withRoles) < 3 {
		t.Fatalf("the sandbox has %d deals with roles, want at least 3", len(withRoles))
	}
	noRoles, err := b.sb.CreateRecord("Opportunity", map[string]any{"Name": "No roles yet", "StageName": "Prospecting", "CloseDate": "2027-01-31"})
	if err != nil {
		t.Fatal(err)
	}
	deleted := withRoles[2]
	if err := b.sb.DeleteRecord("Opportunity", deleted); err != nil {
		t.Fatal(err)
	}
	unknown := "006000000000001AAA"
	before := opCalls(t, b.reg, "query")
	got, err := c.FetchDeals(t.Context(), connectors.FetchRequest{IDs: []string{withRoles[0], withRoles[1], deleted, unknown, withRoles[0], noRoles},
		Fields: map[connectors.Object][]string{connectors.ObjectDeal: {"Description"}}})
	if err != nil {
		t.Fatal(err)
	}
	if calls := opCalls(t, b.reg, "query") - before; calls != 3 {
		t.Errorf("made %d queries, want 3 (deals, roles, contacts)", calls)
	}
	byID := map[string]connectors.Record{}
	for _, d := range got.Deals {
		byID[d.ID] = d
	}
	if len(got.Deals) != 4 || byID[withRoles[0]].Deleted || !byID[deleted].Deleted || byID[withRoles[1]].Fields["Name"] == nil {
		t.Fatalf("deals: got %+v; want %s, %s and %s live with their fields, %s deleted", got.Deals, withRoles[0], withRoles[1], noRoles, deleted)
	}
	if _, ok := byID[withRoles[0]].Fields["Description"]; !ok {
		t.Errorf("the extra field Description was not read: %v", byID[withRoles[0]].Fields)
	}
	if !slices.Equal(got.Missing, []string{unknown}) {
		t.Errorf("missing: got %v, want [%s]", got.Missing, unknown)
	}
	contacts := map[string]bool{}
	for _, r := range got.Contacts {
		contacts[r.ID] = true
	}
	for _, id := range []string{withRoles[0], withRoles[1]} {
		if !sameRoles(got.Roles[id], want[id]) {
			t.Errorf("roles of %s: got %v, want %v (as the pull has them)", id, got.Roles[id], want[id])
		}
		for _, r := range got.Roles[id] {
			if !contacts[r.ContactID] {
				t.Errorf("contact %s of deal %s was not read", r.ContactID, id)
			}
		}
	}
	if rs, ok := got.Roles[noRoles]; !ok || len(rs) != 0 {
		t.Errorf("roles of %s (none): got %v, %v; want an empty set", noRoles, rs, ok)
	}
	if _, ok := got.Roles[deleted]; ok {
		t.Errorf("the deleted deal got a role set")
	}
	if len(got.RoleRecords) != len(want[withRoles[0]])+len(want[withRoles[1]]) {
		t.Errorf("role records: got %d, want %d", len(got.RoleRecords), len(want[withRoles[0]])+len(want[withRoles[1]]))
	}
}

// TestFetchDealsRefusesBadIDs: an id that is not a Salesforce id never reaches a query.
func TestFetchDealsRefusesBadIDs(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Deals: 5}, nil, nil)
	before := opCalls(t, b.reg, "query")
	_, err := c.FetchDeals(t.Context(), connectors.FetchRequest{IDs: []string{"006000000000001AAA", "x') OR Name != ('"}})
	if err == nil || !strings.Contains(err.Error(), "id") {
		t.Fatalf("got %v, want an invalid id error", err)
	}
	if calls := opCalls(t, b.reg, "query") - before; calls != 0 {
		t.Errorf("made %d queries with a bad id", calls)
	}
}

func sameRoles(a, b []connectors.DealContact) bool {
	key := func(r connectors.DealContact) string { return r.ContactID + "|" + r.Role }
	ka, kb := make([]string, len(a)), make([]string, len(b))
	for i, r := range a {
		ka[i] = key(r)
	}
	for i, r := range b {
		kb[i] = key(r)
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}
