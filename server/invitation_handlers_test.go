package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

func TestInvitations(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			open := func(t *testing.T) (*testBundle, string) {
				b := setup(t, storetest.Open(t, backend))
				return b, "/api/v1/plans/" + b.plan.ID + "/invitations"
			}

			t.Run("new_member", func(t *testing.T) {
				b, path := open(t)
				var res InvitationResponse
				r := b.do("POST", path, map[string]any{"email": "lee@acme.test", "name": "Lee Legal", "role": "legal", "expires_in_days": 3})
				r.ok(t, http.StatusCreated, &res)
				if !strings.HasPrefix(res.Link, b.url+"/join/"+store.InvitationTokenPrefix) || res.Mailed {
					t.Errorf("link %q (mailed %v): want %s/join/msi_..., not mailed", res.Link, res.Mailed, b.url)
				}
				if r.header.Get("Location") != path+"/"+res.ID {
					t.Errorf("Location: got %q", r.header.Get("Location"))
				}
				if res.State != store.InvitationActive || res.Role != "legal" || res.Email != "lee@acme.test" || res.ExpiresAt.Sub(res.CreatedAt) != 72*time.Hour || res.CreatedBy.ID != "token:ci" {
					t.Errorf("invitation: got %+v", res.Invitation)
				}
				v := b.get()
				m := v.Member(res.MemberID)
				if m == nil || m.Email != "lee@acme.test" || m.Side != plans.SideBuyer {
					t.Fatalf("member %s: got %+v, want Lee on the buyer side", res.MemberID, m)
				}
				members := len(v.Members)

				// The same person again: the member is reused, a second link is made.
				var again InvitationResponse
				b.do("POST", path, map[string]any{"email": "LEE@acme.test", "role": "legal"}).ok(t, http.StatusCreated, &again)
				if again.MemberID != res.MemberID || again.Link == res.Link || len(b.get().Members) != members {
					t.Errorf("second invitation: member %s (want %s), same link %v, members %d (want %d)",
						again.MemberID, res.MemberID, again.Link == res.Link, len(b.get().Members), members)
				}
				var list InvitationList
				b.do("GET", path, nil).ok(t, http.StatusOK, &list)
				if len(list.Invitations) != 2 || list.Invitations[0].ID != res.ID || strings.Contains(string(b.do("GET", path, nil).body), store.InvitationTokenPrefix) {
					t.Errorf("list: got %+v; want both invitations, without links", list.Invitations)
				}
				ev := b.eventTypes()
				if !containsType(ev, plans.EventMemberInvited) || !containsType(ev, store.EventInvitationCreated) {
					t.Errorf("events: got %v, want member.invited and invitation.created", ev)
				}
			})

			t.Run("existing_member", func(t *testing.T) {
				b, path := open(t)
				var alice plans.Member
				for _, m := range b.plan.Members {
					if m.Email == "alice@acme.test" {
						alice = m
					}
				}
				var res InvitationResponse
				b.do("POST", path, map[string]any{"member_id": alice.ID}).ok(t, http.StatusCreated, &res)
				if res.MemberID != alice.ID || res.Role != "champion" || res.Name != "Alice Ames" {
					t.Errorf("invitation: got %+v, want Alice as champion", res.Invitation)
				}
				var owner plans.Member
				for _, m := range b.plan.Members {
					if m.Side == plans.SideSeller {
						owner = m
					}
				}
				b.do("POST", path, map[string]any{"member_id": owner.ID}).wantError(t, 422, "invalid", "role")
			})

			t.Run("refused", func(t *testing.T) {
				b, path := open(t)
				for name, c := range map[string]struct {
					body   any
					status int
					code   string
					field  string
				}{
					"seller role":        {map[string]any{"email": "x@acme.test", "role": "se"}, 422, "invalid", "role"},
					"unknown role":       {map[string]any{"email": "x@acme.test", "role": "cfo"}, 422, "invalid", "role"},
					"no email":           {map[string]any{"role": "legal"}, 422, "invalid", "email"},
					"no role":            {map[string]any{"email": "x@acme.test"}, 422, "invalid", "role"},
					"bad email":          {map[string]any{"email": "not mail", "role": "legal"}, 422, "invalid", "email"},
					"unknown member":     {map[string]any{"member_id": "nope"}, 422, "invalid", "member_id"},
					"member and email":   {map[string]any{"member_id": "nope", "email": "x@acme.test"}, 400, "bad_request", "member_id"},
					"zero days":          {map[string]any{"email": "x@acme.test", "role": "legal", "expires_in_days": 0}, 422, "invalid", "expires_in_days"},
					"too many days":      {map[string]any{"email": "x@acme.test", "role": "legal", "expires_in_days": 91}, 422, "invalid", "expires_in_days"},
					"unknown field":      {map[string]any{"email": "x@acme.test", "role": "legal", "ttl": "3d"}, 400, "bad_request", "ttl"},
					"days of wrong type": {map[string]any{"email": "x@acme.test", "role": "legal", "expires_in_days": "3"}, 400, "bad_request", "expires_in_days"},
				} {
					t.Run(name, func(t *testing.T) {
						b.do("POST", path, c.body).wantError(t, c.status, c.code, c.field)
					})
				}
				var list InvitationList
				b.do("GET", path, nil).ok(t, http.StatusOK, &list)
				if len(list.Invitations) != 0 {
					t.Errorf("invitations after refusals: got %d, want 0", len(list.Invitations))
				}
				if len(b.get().Members) != len(b.plan.Members) {
					t.Errorf("members changed by refused invitations")
				}
			})

			t.Run("seller_side_only", func(t *testing.T) {
				b, path := open(t)
				var res InvitationResponse
				b.do("POST", path, map[string]any{"email": "lee@acme.test", "role": "legal"}).ok(t, http.StatusCreated, &res)
				b.do("POST", path, map[string]any{"email": "x@acme.test", "role": "legal"}, HeaderSide, "buyer").wantError(t, 403, "forbidden", "")
				b.do("GET", path, nil, HeaderSide, "buyer").wantError(t, 403, "forbidden", "")
				b.do("DELETE", path+"/"+res.ID, nil, HeaderSide, "buyer").wantError(t, 403, "forbidden", "")
				b.do("GET", path, nil, "Authorization", "").wantError(t, 401, "unauthorized", "")
				b.do("GET", "/api/v1/plans/nope/invitations", nil).wantError(t, 404, "not_found", "plan")
				b.do("POST", "/api/v1/plans/nope/invitations", map[string]any{"email": "x@acme.test", "role": "legal"}).wantError(t, 404, "not_found", "plan")
			})

			t.Run("revoke", func(t *testing.T) {
				b, path := open(t)
				var res InvitationResponse
				b.do("POST", path, map[string]any{"email": "lee@acme.test", "role": "legal"}).ok(t, http.StatusCreated, &res)
				var rev store.Invitation
				b.do("DELETE", path+"/"+res.ID, nil).ok(t, http.StatusOK, &rev)
				if rev.State != store.InvitationRevoked || rev.RevokedAt == nil {
					t.Errorf("revoked: got %+v", rev)
				}
				b.do("DELETE", path+"/"+res.ID, nil).ok(t, http.StatusOK, &rev)
				b.do("DELETE", path+"/nope", nil).wantError(t, 404, "not_found", "invitation")
				b.do("DELETE", "/api/v1/plans/nope/invitations/"+res.ID, nil).wantError(t, 404, "not_found", "plan")
				var list InvitationList
				b.do("GET", path, nil).ok(t, http.StatusOK, &list)
				if len(list.Invitations) != 1 || list.Invitations[0].State != store.InvitationRevoked {
					t.Errorf("list: got %+v, want the one invitation, revoked", list.Invitations)
				}
				if _, err := b.store.OpenInvitation(t.Context(), strings.TrimPrefix(res.Link, b.url+"/join/")); !errors.Is(err, store.ErrInvitationRevoked) {
					t.Errorf("open the revoked link: got %v, want ErrInvitationRevoked", err)
				}
			})

			t.Run("public_url_and_mail", func(t *testing.T) {
				b, _ := open(t)
				mail := &recordingMailer{}
				srv, err := New(Options{
					Store: b.store, Logger: zerolog.Nop(), Now: func() time.Time { return testNow },
					PublicURL: "https://room.example.test/", InvitationTTL: 48 * time.Hour, Mailer: mail,
				})
				if err != nil {
					t.Fatal(err)
				}
				ts := httptest.NewServer(srv)
				t.Cleanup(ts.Close)
				b.url = ts.URL
				path := "/api/v1/plans/" + b.plan.ID + "/invitations"
				var res InvitationResponse
				b.do("POST", path, map[string]any{"email": "lee@acme.test", "name": "Lee", "role": "legal"}).ok(t, http.StatusCreated, &res)
				if !strings.HasPrefix(res.Link, "https://room.example.test/join/msi_") || res.ExpiresAt.Sub(res.CreatedAt) != 48*time.Hour || !res.Mailed {
					t.Errorf("got link %q, life %s, mailed %v; want the public URL, 48h, mailed", res.Link, res.ExpiresAt.Sub(res.CreatedAt), res.Mailed)
				}
				if got := mail.sent(); len(got) != 1 || got[0] != "lee@acme.test "+res.Link {
					t.Errorf("mails: got %q", got)
				}
				// A mail server that refuses: the invitation stands and its link is returned.
				mail.fail = errors.New("550 mailbox unavailable")
				b.do("POST", path, map[string]any{"email": "lee@acme.test", "role": "legal"}).ok(t, http.StatusCreated, &res)
				if res.Mailed || res.Link == "" {
					t.Errorf("refused mail: got mailed %v, link %q; want not mailed, with the link", res.Mailed, res.Link)
				}
			})
		})
	}
}

type recordingMailer struct {
	mu    sync.Mutex
	mails []string
	fail  error
}

func (m *recordingMailer) SendInvitation(_ context.Context, to Invitee, _, _, link string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.mails = append(m.mails, to.Email+" "+link)
	return nil
}

func (m *recordingMailer) sent() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.mails...)
}
