package store_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

func TestAPITokens(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(string(b), func(t *testing.T) {
			now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
			s := storetest.Open(t, b, storetest.Options{Now: func() time.Time { return now }})
			ctx := t.Context()

			tok, err := s.CreateAPIToken(ctx, "ci")
			if err != nil {
				t.Fatal(err)
			}
			raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, "msk_"))
			if !strings.HasPrefix(tok, "msk_") || err != nil || len(raw) != 32 {
				t.Fatalf("token %q: want msk_ and 32 bytes of base64url (%v)", tok, err)
			}
			other, err := s.CreateAPIToken(ctx, "ops")
			if err != nil || other == tok {
				t.Fatalf("second token: %v (same as the first: %v)", err, other == tok)
			}
			if _, err := s.CreateAPIToken(ctx, "ci"); !errors.Is(err, store.ErrConflict) {
				t.Errorf("duplicate name: got %v, want ErrConflict", err)
			}

			// Only the hash is stored.
			var hashes [][]byte
			if err := s.DB().SelectContext(ctx, &hashes, `SELECT hash FROM api_tokens`); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256([]byte(tok))
			found := false
			for _, h := range hashes {
				if bytes.Contains(h, []byte(tok)) || bytes.Contains(h, raw) {
					t.Errorf("a stored hash contains the token")
				}
				found = found || bytes.Equal(h, sum[:])
			}
			if !found {
				t.Errorf("no stored hash is the token's SHA-256")
			}

			name, err := s.VerifyAPIToken(ctx, tok)
			if err != nil || name != "ci" {
				t.Fatalf("verify: got %q %v, want ci", name, err)
			}
			for _, bad := range []string{"", "msk_", tok + "x", strings.TrimPrefix(tok, "msk_"), "msk_" + strings.Repeat("A", 43)} {
				_, err := s.VerifyAPIToken(ctx, bad)
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("verify %q: got %v, want ErrNotFound", bad, err)
				}
				if err != nil && bad != "" && len(bad) > 4 && strings.Contains(err.Error(), bad) {
					t.Errorf("verify error %q shows the token", err)
				}
			}

			lastUsed := func(name string) *time.Time {
				t.Helper()
				list, err := s.ListAPITokens(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, tk := range list {
					if tk.Name == name && tk.RevokedAt == nil {
						return tk.LastUsedAt
					}
				}
				t.Fatalf("no valid token %s", name)
				return nil
			}
			first := now
			if got := lastUsed("ci"); got == nil || !got.Equal(first) {
				t.Fatalf("last used: got %v, want %v", got, first)
			}
			// Within a minute the use is not written again; after it, it is.
			now = now.Add(59 * time.Second)
			if _, err := s.VerifyAPIToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			if got := lastUsed("ci"); !got.Equal(first) {
				t.Errorf("last used after 59s: got %v, want %v", got, first)
			}
			now = now.Add(time.Second)
			if _, err := s.VerifyAPIToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			if got := lastUsed("ci"); !got.Equal(now) {
				t.Errorf("last used after 60s: got %v, want %v", got, now)
			}
			if got := lastUsed("ops"); got != nil {
				t.Errorf("unused token: got last used %v, want nil", got)
			}

			// Revoking stops the token and frees the name.
			now = now.Add(time.Hour)
			if err := s.RevokeAPIToken(ctx, "ci"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.VerifyAPIToken(ctx, tok); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("verify revoked: got %v, want ErrNotFound", err)
			}
			if err := s.RevokeAPIToken(ctx, "ci"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("revoke twice: got %v, want ErrNotFound", err)
			}
			tok2, err := s.CreateAPIToken(ctx, "ci")
			if err != nil {
				t.Fatalf("new token after revoke: %v", err)
			}
			if name, err := s.VerifyAPIToken(ctx, tok2); err != nil || name != "ci" {
				t.Errorf("verify new token: got %q %v", name, err)
			}

			list, err := s.ListAPITokens(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tk := range list {
				state := "valid"
				if tk.RevokedAt != nil {
					state = "revoked " + tk.RevokedAt.Format(time.TimeOnly)
				}
				got = append(got, tk.Name+" "+state)
			}
			want := []string{"ci revoked 10:01:00", "ci valid", "ops valid"}
			if strings.Join(got, ", ") != strings.Join(want, ", ") {
				t.Errorf("list: got %v, want %v", got, want)
			}
		})
	}
}

// TestAPITokenNames checks the name rule and that a taken name is ErrConflict with a message of
// ours on both databases, never the driver's.
func TestAPITokenNames(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		for _, name := range []string{"a", "ci", "0", "ops.bot-1_x", strings.Repeat("x", 63)} {
			if _, err := s.CreateAPIToken(ctx, name); err != nil {
				t.Errorf("name %q: %v", name, err)
			}
		}
		for _, name := range []string{"", "bad name!", "CI", "-ci", ".ci", "_ci", " ci", "ci ", "ci\n", "crème", "a/b", strings.Repeat("x", 64)} {
			_, err := s.CreateAPIToken(ctx, name)
			if !errors.Is(err, store.ErrBadTokenName) || !strings.Contains(err.Error(), store.APITokenNameRule) {
				t.Errorf("name %q: got %v, want ErrBadTokenName stating the rule", name, err)
			}
		}
		list, err := s.ListAPITokens(ctx)
		if err != nil || len(list) != 5 {
			t.Fatalf("tokens: got %d, %v; want the 5 valid ones", len(list), err)
		}

		_, err = s.CreateAPIToken(ctx, "ci")
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("taken name: got %v, want ErrConflict", err)
		}
		for _, driver := range []string{"UNIQUE", "unique", "duplicate key", "23505", "2067", "constraint"} {
			if strings.Contains(err.Error(), driver) {
				t.Errorf("taken name: %q shows the driver's error (%q)", err, driver)
			}
		}
	})
}
