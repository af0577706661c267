package store_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

func TestWebSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
		tok, err := s.CreateAPIToken(ctx, "admin")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.VerifyAPIToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		ws := store.WebSession{Kind: store.WebSessionToken, TokenName: "admin", ActorID: "token:admin", ActorName: "admin", Side: "seller",
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		id, err := s.CreateWebSession(ctx, ws)
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.CreateWebSession(ctx, ws)
		if err != nil || other == id {
			t.Fatalf("second session: %v (same id: %v)", err, other == id)
		}

		// Only the hash is stored.
		var hashes [][]byte
		if err := s.DB().SelectContext(ctx, &hashes, `SELECT id_hash FROM web_sessions`); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(id))
		found := false
		for _, h := range hashes {
			if bytes.Contains(h, []byte(id)) {
				t.Errorf("a stored hash contains the session id")
			}
			found = found || bytes.Equal(h, sum[:])
		}
		if !found {
			t.Errorf("no stored hash is the session id's SHA-256")
		}

		got, err := s.WebSession(ctx, id, now.Add(59*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if got.ActorID != "token:admin" || got.TokenName != "admin" || got.Side != "seller" || !got.ExpiresAt.Equal(now.Add(time.Hour)) {
			t.Errorf("got %+v", got)
		}
		if _, err := s.WebSession(ctx, id, now.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("at expiry: got %v, want ErrNotFound", err)
		}
		if _, err := s.WebSession(ctx, id+"x", now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown id: got %v, want ErrNotFound", err)
		}

		if err := s.DeleteWebSession(ctx, other); err != nil {
			t.Fatal(err)
		}
		if _, err := s.WebSession(ctx, other, now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("signed out: got %v, want ErrNotFound", err)
		}

		// Revoking the token ends its sessions; a revoked token makes none.
		if err := s.RevokeAPIToken(ctx, "admin"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.WebSession(ctx, id, now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("token revoked: got %v, want ErrNotFound", err)
		}
		if _, err := s.CreateWebSession(ctx, ws); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("session of a revoked token: got %v, want ErrNotFound", err)
		}

		// Invitation sessions: scoped to a plan, ended by ref.
		inv := store.WebSession{Kind: store.WebSessionInvitation, Ref: "inv1", ActorID: "member:m1", ActorName: "Buyer", Side: "buyer", PlanID: "p1",
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		iid, err := s.CreateWebSession(ctx, inv)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.WebSession(ctx, iid, now); err != nil || got.PlanID != "p1" || got.TokenName != "" {
			t.Fatalf("invitation session: got %+v %v", got, err)
		}
		if n, err := s.DeleteWebSessionsRef(ctx, store.WebSessionInvitation, "inv1"); err != nil || n != 1 {
			t.Errorf("delete by ref: got %d %v, want 1", n, err)
		}
		if n, err := s.DeleteExpiredWebSessions(ctx, now.Add(2*time.Hour)); err != nil || n != 1 {
			t.Errorf("delete expired: got %d %v, want 1 (the revoked token's remaining session)", n, err)
		}
	})
}
