package store_test

import (
	"errors"
	"testing"

	"golang.org/x/oauth2"

	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

func TestReconnectClearsNeedsReauth(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if _, err := s.EnsureConnection(ctx, "sf", "salesforce"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SeedToken(ctx, "sf", &oauth2.Token{RefreshToken: "revoked"}); err != nil {
			t.Fatal(err)
		}
		if err := s.NeedsReauth(ctx, "sf", "refresh token refused"); err != nil {
			t.Fatal(err)
		}
		// Seeding again never replaces a stored token: only Reconnect does.
		if seeded, err := s.SeedToken(ctx, "sf", &oauth2.Token{RefreshToken: "fresh"}); err != nil || seeded {
			t.Fatalf("seed over a stored token: got %v, %v; want false", seeded, err)
		}
		if err := s.Reconnect(ctx, "sf", &oauth2.Token{RefreshToken: "fresh"}); err != nil {
			t.Fatal(err)
		}
		tok, err := s.LoadToken(ctx, "sf")
		if err != nil || tok.RefreshToken != "fresh" || tok.AccessToken != "" {
			t.Fatalf("token after reconnect: %+v, %v; want only the new refresh token", tok, err)
		}
		c, err := s.ConnectionByName(ctx, "sf")
		if err != nil || c.Status != store.ConnectionActive || c.StatusReason != "" {
			t.Fatalf("connection after reconnect: %+v, %v; want active without a reason", c, err)
		}
		if err := s.Reconnect(ctx, "nope", &oauth2.Token{RefreshToken: "x"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown connection: got %v, want ErrNotFound", err)
		}
	})
}
