package hubspot

import (
	"slices"
	"testing"

	"github.com/mapsync/mapsync/connectors"
	sandbox "github.com/mapsync/mapsync/sandbox/hubspot"
)

// TestFetchDeals reads deals by id from the sandbox over HTTP: live deals with their labelled
// role sets (as the full deal_contact pull delivers them) and their contacts, an archived deal
// as Deleted (asked again with ?archived=true), an unknown id as Missing, through batch reads.
func TestFetchDeals(t *testing.T) {
	t.Parallel()
	c, tb := setup(t, sandbox.Options{Deals: 40, Seed: 3}, nil)
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
	noRoles, err := tb.sb.CreateDeal(map[string]string{"dealname": "No roles yet", "pipeline": "default", "dealstage": "appointmentscheduled"})
	if err != nil {
		t.Fatal(err)
	}
	archived := withRoles[2]
	if err := tb.sb.ArchiveObject("deals", archived); err != nil {
		t.Fatal(err)
	}
	const unknown = "99999999999"
	before := map[string]int{}
	endpoints := []string{"POST /crm/v3/objects/deals/batch/read", "POST /crm/v3/objects/contacts/batch/read", "POST /crm/v4/associations/deals/contacts/batch/read"}
	for _, e := range endpoints {
		before[e] = tb.sb.Requests(e)
	}
	got, err := c.FetchDeals(t.Context(), connectors.FetchRequest{IDs: []string{withRoles[0], withRoles[1], archived, unknown, withRoles[0], noRoles},
		Fields: map[connectors.Object][]string{connectors.ObjectDeal: {"description"}}})
	if err != nil {
		t.Fatal(err)
	}
	for e, want := range map[string]int{endpoints[0]: 2, endpoints[1]: 1, endpoints[2]: 1} {
		if n := settledCount(t, tb.sb, e, 0, before[e]+want) - before[e]; n != want {
			t.Errorf("%s: %d calls, want %d", e, n, want)
		}
	}
	byID := map[string]connectors.Record{}
	for _, d := range got.Deals {
		byID[d.ID] = d
	}
	if len(got.Deals) != 4 || byID[withRoles[0]].Deleted || !byID[archived].Deleted || byID[withRoles[1]].Fields["dealname"] == nil || byID[noRoles].ID == "" {
		t.Fatalf("deals: got %+v; want %s, %s and %s live with their fields, %s deleted", got.Deals, withRoles[0], withRoles[1], noRoles, archived)
	}
	if _, ok := byID[withRoles[0]].Fields["description"]; !ok {
		t.Errorf("the extra property description was not read: %v", byID[withRoles[0]].Fields)
	}
	if !slices.Equal(got.Missing, []string{unknown}) {
		t.Errorf("missing: got %v, want [%s]", got.Missing, unknown)
	}
	contacts := map[string]bool{}
	for _, r := range got.Contacts {
		contacts[r.ID] = true
	}
	for _, id := range []string{withRoles[0], withRoles[1]} {
		if !slices.Equal(got.Roles[id], want[id]) {
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
	if _, ok := got.Roles[archived]; ok {
		t.Errorf("the archived deal got a role set")
	}
}
