package store_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

var seller = plans.Actor{ID: "u1", Name: "Sam Seller", Side: plans.SideSeller}

// memberBySide returns the first member of p on side.
func memberBySide(t testing.TB, p *plans.Plan, side plans.Side) plans.Member {
	t.Helper()
	for _, m := range p.Members {
		if m.Side == side {
			return m
		}
	}
	t.Fatalf("plan %s has no %s member", p.ID, side)
	return plans.Member{}
}

func buyerActor(m plans.Member) plans.Actor {
	return plans.Actor{ID: m.ID, Name: m.Name, Side: plans.SideBuyer}
}

// invitationSetup opens a store on backend with a clock the test moves, and a plan.
func invitationSetup(t *testing.T, b store.Dialect) (s *store.Store, p *plans.Plan, now *time.Time) {
	t.Helper()
	clock := planStart
	s = storetest.Open(t, b, storetest.Options{Now: func() time.Time { return clock }})
	return s, newSmallPlan(t, s), &clock
}

func TestInvitations(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			t.Run("create_join_session", func(t *testing.T) {
				s, p, now := invitationSetup(t, b)
				ctx := t.Context()
				bea := memberBySide(t, p, plans.SideBuyer)
				inv, tok, err := s.CreateInvitation(ctx, store.NewInvitation{PlanID: p.ID, Member: bea, By: seller})
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(tok, store.InvitationTokenPrefix) || len(tok) != len(store.InvitationTokenPrefix)+43 {
					t.Fatalf("token %q: want msi_ and 32 bytes of base64url", tok)
				}
				if inv.State != store.InvitationActive || inv.MemberID != bea.ID || inv.Email != bea.Email || inv.Role != "buyer" ||
					!inv.ExpiresAt.Equal(planStart.Add(store.DefaultInvitationTTL)) || inv.CreatedBy != seller || inv.UseCount != 0 {
					t.Fatalf("invitation: got %+v", inv)
				}

				// Only the hash is stored.
				var hashes [][]byte
				if err := s.DB().SelectContext(ctx, &hashes, `SELECT token_hash FROM plan_invitations`); err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256([]byte(tok))
				if len(hashes) != 1 || !bytes.Equal(hashes[0], sum[:]) {
					t.Fatalf("stored hashes %x: want only the token's SHA-256", hashes)
				}

				opened, err := s.OpenInvitation(ctx, tok)
				if err != nil || opened.ID != inv.ID || opened.UseCount != 0 {
					t.Fatalf("open: got %+v, %v", opened, err)
				}

				*now = planStart.Add(time.Hour)
				joined, err := s.JoinInvitation(ctx, tok, buyerActor(bea))
				if err != nil {
					t.Fatal(err)
				}
				if joined.UseCount != 1 || joined.LastUsedAt == nil || !joined.LastUsedAt.Equal(*now) {
					t.Fatalf("join: got %+v", joined)
				}
				if _, err := s.JoinInvitation(ctx, tok, buyerActor(bea)); err != nil {
					t.Fatalf("second join: %v", err)
				}
				got, err := s.Invitation(ctx, inv.ID)
				if err != nil || got.PlanID != p.ID || got.MemberID != bea.ID || got.State != store.InvitationActive || got.UseCount != 2 {
					t.Fatalf("invitation by id: got %+v, %v", got, err)
				}
				if _, err := s.Invitation(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("unknown id: got %v, want ErrNotFound", err)
				}
				list, err := s.Invitations(ctx, p.ID)
				if err != nil || len(list) != 1 || list[0].UseCount != 2 {
					t.Fatalf("list: got %+v, %v; want one invitation used twice", list, err)
				}

				// Events: invitation.created (internal, by the seller) and two member.joined by Bea.
				events, err := s.Events(ctx, p.ID, "", 100)
				if err != nil {
					t.Fatal(err)
				}
				var seen []string
				for _, e := range events {
					switch e.Type {
					case store.EventInvitationCreated:
						if !e.Internal || e.Actor != seller {
							t.Errorf("invitation.created: internal %v by %+v; want internal, by the seller", e.Internal, e.Actor)
						}
					case store.EventMemberJoined:
						if e.Internal || e.Actor != buyerActor(bea) {
							t.Errorf("member.joined: internal %v by %+v; want shared, by Bea", e.Internal, e.Actor)
						}
					default:
						continue
					}
					seen = append(seen, string(e.Type))
				}
				if strings.Join(seen, ",") != "invitation.created,member.joined,member.joined" {
					t.Errorf("events: got %v", seen)
				}

			})

			t.Run("unknown_tokens", func(t *testing.T) {
				s, p, _ := invitationSetup(t, b)
				ctx := t.Context()
				_, tok, err := s.CreateInvitation(ctx, store.NewInvitation{PlanID: p.ID, Member: memberBySide(t, p, plans.SideBuyer), By: seller})
				if err != nil {
					t.Fatal(err)
				}
				for _, bad := range []string{"", "msi_", tok + "x", strings.TrimPrefix(tok, "msi_"), "msk_" + tok[4:], "msi_" + strings.Repeat("A", 43)} {
					if _, err := s.OpenInvitation(ctx, bad); !errors.Is(err, store.ErrNotFound) {
						t.Errorf("open %q: got %v, want ErrNotFound", bad, err)
					}
					if _, err := s.JoinInvitation(ctx, bad, seller); !errors.Is(err, store.ErrNotFound) {
						t.Errorf("join %q: got %v, want ErrNotFound", bad, err)
					}
					if _, err := s.OpenInvitation(ctx, bad); err != nil && len(bad) > 8 && strings.Contains(err.Error(), bad) {
						t.Errorf("error %q shows the token", err)
					}
				}
			})

			t.Run("expiry", func(t *testing.T) {
				s, p, now := invitationSetup(t, b)
				ctx := t.Context()
				bea := memberBySide(t, p, plans.SideBuyer)
				inv, tok, err := s.CreateInvitation(ctx, store.NewInvitation{PlanID: p.ID, Member: bea, By: seller, TTL: 48 * time.Hour})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.JoinInvitation(ctx, tok, buyerActor(bea)); err != nil {
					t.Fatal(err)
				}
				*now = inv.ExpiresAt.Add(-time.Second)
				if got, err := s.Invitation(ctx, inv.ID); err != nil || got.State != store.InvitationActive {
					t.Fatalf("a second before expiry: got %v, %v; want active", got.State, err)
				}
				*now = inv.ExpiresAt
				if got, err := s.Invitation(ctx, inv.ID); err != nil || got.State != store.InvitationExpired {
					t.Errorf("at expiry: got %v, %v; want expired", got.State, err)
				}
				if _, err := s.OpenInvitation(ctx, tok); !errors.Is(err, store.ErrInvitationExpired) {
					t.Errorf("open expired: got %v, want ErrInvitationExpired", err)
				}
				if _, err := s.JoinInvitation(ctx, tok, buyerActor(bea)); !errors.Is(err, store.ErrInvitationExpired) {
					t.Errorf("join expired: got %v, want ErrInvitationExpired", err)
				}
				list, err := s.Invitations(ctx, p.ID)
				if err != nil || len(list) != 1 || list[0].State != store.InvitationExpired || list[0].UseCount != 1 {
					t.Errorf("list: got %+v, %v; want one expired invitation used once", list, err)
				}
			})

			t.Run("revoke", func(t *testing.T) {
				s, p, now := invitationSetup(t, b)
				ctx := t.Context()
				bea := memberBySide(t, p, plans.SideBuyer)
				inv, tok, err := s.CreateInvitation(ctx, store.NewInvitation{PlanID: p.ID, Member: bea, By: seller})
				if err != nil {
					t.Fatal(err)
				}
				other, otherTok, err := s.CreateInvitation(ctx, store.NewInvitation{PlanID: p.ID, Member: bea, By: seller})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.JoinInvitation(ctx, tok, buyerActor(bea)); err != nil {
					t.Fatal(err)
				}
				*now = planStart.Add(time.Hour)
				rev, err := s.RevokeInvitation(ctx, p.ID, inv.ID, seller)
				if err != nil || rev.State != store.InvitationRevoked || !rev.RevokedAt.Equal(*now) {
					t.Fatalf("revoke: got %+v, %v", rev, err)
				}
				if _, err := s.OpenInvitation(ctx, tok); !errors.Is(err, store.ErrInvitationRevoked) {
					t.Errorf("open revoked: got %v, want ErrInvitationRevoked", err)
				}
				if _, err := s.JoinInvitation(ctx, tok, buyerActor(bea)); !errors.Is(err, store.ErrInvitationRevoked) {
					t.Errorf("join revoked: got %v, want ErrInvitationRevoked", err)
				}
				if got, err := s.Invitation(ctx, inv.ID); err != nil || got.State != store.InvitationRevoked {
					t.Errorf("revoked by id: got %v, %v; want revoked", got.State, err)
				}
				// The other link of the same member still works.
				if _, err := s.OpenInvitation(ctx, otherTok); err != nil {
					t.Errorf("other invitation: %v", err)
				}
				// Revoking again changes nothing; another plan's id or an unknown id is not found.
				*now = planStart.Add(2 * time.Hour)
				again, err := s.RevokeInvitation(ctx, p.ID, inv.ID, seller)
				if err != nil || !again.RevokedAt.Equal(planStart.Add(time.Hour)) {
					t.Errorf("revoke twice: got %+v, %v; want the first revocation kept", again, err)
				}
				if _, err := s.RevokeInvitation(ctx, p.ID, "nope", seller); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("revoke unknown: got %v, want ErrNotFound", err)
				}
				if _, err := s.RevokeInvitation(ctx, "other-plan", other.ID, seller); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("revoke through another plan: got %v, want ErrNotFound", err)
				}
				events, err := s.Events(ctx, p.ID, "", 100)
				if err != nil {
					t.Fatal(err)
				}
				revoked := 0
				for _, e := range events {
					if e.Type == store.EventInvitationRevoked {
						revoked++
						if !e.Internal || e.Actor != seller {
							t.Errorf("invitation.revoked: internal %v by %+v", e.Internal, e.Actor)
						}
					}
				}
				if revoked != 1 {
					t.Errorf("invitation.revoked events: got %d, want 1", revoked)
				}
			})

			t.Run("refused", func(t *testing.T) {
				s, p, _ := invitationSetup(t, b)
				ctx := t.Context()
				bea := memberBySide(t, p, plans.SideBuyer)
				cases := map[string]struct {
					n     store.NewInvitation
					field string
					is    error
				}{
					"seller member": {store.NewInvitation{PlanID: p.ID, Member: memberBySide(t, p, plans.SideSeller), By: seller}, "role", plans.ErrInvalid},
					"no member id":  {store.NewInvitation{PlanID: p.ID, Member: plans.Member{Side: plans.SideBuyer}, By: seller}, "member_id", plans.ErrInvalid},
					"ttl too long":  {store.NewInvitation{PlanID: p.ID, Member: bea, By: seller, TTL: store.MaxInvitationTTL + time.Hour}, "expires_in_days", plans.ErrInvalid},
					"negative ttl":  {store.NewInvitation{PlanID: p.ID, Member: bea, By: seller, TTL: -time.Hour}, "expires_in_days", plans.ErrInvalid},
					"unknown plan":  {store.NewInvitation{PlanID: "nope", Member: bea, By: seller}, "", store.ErrNotFound},
				}
				for name, c := range cases {
					_, tok, err := s.CreateInvitation(ctx, c.n)
					var ie *plans.InputError
					if !errors.Is(err, c.is) || tok != "" || (c.field != "" && (!errors.As(err, &ie) || ie.Field != c.field)) {
						t.Errorf("%s: got %v (token %q), want %v on %q", name, err, tok, c.is, c.field)
					}
				}
				if list, err := s.Invitations(ctx, p.ID); err != nil || len(list) != 0 {
					t.Errorf("list after refusals: got %d, %v; want none stored", len(list), err)
				}
			})
		})
	}
}
