package server

import (
	"net/http"
	"testing"

	"github.com/mapsync/mapsync/plans"
)

func TestMembers(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		members := "/api/v1/plans/" + b.plan.ID + "/members"
		var m plans.Member
		res := b.do("POST", members, map[string]any{"role": "legal", "name": "Lee Legal", "email": "lee@acme.test"})
		res.ok(t, http.StatusCreated, &m)
		if m.ID == "" || m.Side != plans.SideBuyer || m.Source != plans.SourceInvited || res.header.Get("Location") != members+"/"+m.ID {
			t.Fatalf("invited: got %+v, Location %q", m, res.header.Get("Location"))
		}
		v := b.get()
		if got := v.action(t, "sign").AssigneeID; got != m.ID {
			t.Errorf("sign assignee: got %q, want the new legal member %s", got, m.ID)
		}
		b.do("POST", members, map[string]any{"role": "cfo", "email": "x@acme.test"}).wantError(t, 422, "invalid", "role")
		b.do("POST", members, map[string]any{"role": "legal", "email": "not an email"}).wantError(t, 422, "invalid", "email")
		b.do("POST", members, map[string]any{"role": "legal", "email": "lee@acme.test"}).wantError(t, 422, "invalid", "email")
		b.do("POST", members, map[string]any{"email": "lee@acme.test"}).wantError(t, 422, "invalid", "role")
		b.do("POST", members, map[string]any{"role": "se", "email": "spy@acme.test"}, HeaderSide, "buyer").wantError(t, 422, "invalid", "role")

		var changed plans.Member
		b.do("PATCH", members+"/"+m.ID, map[string]any{"role": "champion"}).ok(t, http.StatusOK, &changed)
		if changed.Role != "champion" || changed.ID != m.ID {
			t.Errorf("changed: got %+v, want role champion", changed)
		}
		b.do("PATCH", members+"/"+m.ID, map[string]any{"role": "cfo"}).wantError(t, 422, "invalid", "role")
		b.do("PATCH", members+"/nope", map[string]any{"role": "legal"}).wantError(t, 404, "not_found", "member")

		res = b.do("DELETE", members+"/"+m.ID, nil)
		if res.status != http.StatusNoContent {
			t.Fatalf("remove: got %d %s, want 204", res.status, res.body)
		}
		if v := b.get(); v.Member(m.ID) != nil {
			t.Errorf("removed member still on the plan")
		}
		b.do("DELETE", members+"/"+m.ID, nil).wantError(t, 404, "not_found", "member")

		ev := b.eventTypes()
		for _, want := range []plans.EventType{plans.EventMemberInvited, plans.EventMemberRoleChanged, plans.EventMemberRemoved} {
			if !containsType(ev, want) {
				t.Errorf("events: got %v, want %s", ev, want)
			}
		}
	})
}
