package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/store"
)

// TestWebSessionsCleanupJob: serve removes expired web sessions through its periodic River job
// (run on start by the leader) and keeps valid ones.
func TestWebSessionsCleanupJob(t *testing.T) {
	cfg, _ := migratedSandbox(t, 3, nil)
	db := ""
	for _, l := range strings.Split(readFile(t, cfg), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "url: sqlite:") {
			db = strings.TrimPrefix(strings.TrimSpace(l), "url: ")
		}
	}
	ctx := context.Background()
	s, err := store.Open(ctx, db, store.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	for _, exp := range []time.Time{now.Add(-time.Minute), now.Add(time.Hour)} {
		if _, err := s.CreateWebSession(ctx, store.WebSession{Kind: store.WebSessionInvitation, Ref: "r", ActorID: "a", Side: "buyer",
			CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
	}
	var out strings.Builder
	stop := startCLI(t, &out, "--config", cfg, "--log-level", "warn", "serve", "--addr", freeAddr(t), "--shutdown-timeout", "5s")
	waitFor(t, 30*time.Second, "the expired session removed", func() (bool, string) {
		var n int
		err := s.DB().Get(&n, `SELECT COUNT(*) FROM web_sessions`)
		return err == nil && n == 1, fmt.Sprintf("%d sessions, %v", n, err)
	})
	if code := stop(); code != 0 {
		t.Fatalf("serve exit %d: %s", code, out.String())
	}
}
