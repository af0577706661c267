package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/store"
)

// TestWebhooksDeadLetters: a dead webhook event is listed by `webhooks list --status dead` with
// its reason, and `webhooks retry` makes it pending again.
func TestWebhooksDeadLetters(t *testing.T) {
	t.Setenv(config.EnvDatabaseURL, "")
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "m.db")
	cfg := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte("database:\n  url: "+db+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "--config", cfg, "migrate", "up")
	ctx := context.Background()
	s, err := store.Open(ctx, db, store.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.EnsureConnection(ctx, "hs", "hubspot")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.StoreWebhookEvents(ctx, []store.NewWebhookEvent{{ConnectionID: c.ID, Source: "hubspot", Key: "1/1/7", Type: "deal.creation", Object: "deal", CRMID: "7", Payload: "{}"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FinishWebhookEvent(ctx, ids[0], store.WebhookDead, "pull: crm unreachable"); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "--config", cfg, "webhooks", "list", "--status", "dead")
	if !strings.Contains(out, "deal.creation") || !strings.Contains(out, "pull: crm unreachable") || !strings.Contains(out, " hs ") {
		t.Fatalf("dead letters:\n%s", out)
	}
	if out := mustRun(t, "--config", cfg, "webhooks", "retry", strconv.FormatInt(ids[0], 10)); !strings.Contains(out, "pending again") {
		t.Fatalf("retry: %s", out)
	}
	if out := mustRun(t, "--config", cfg, "webhooks", "list", "--status", "dead"); strings.Contains(out, "deal.creation") {
		t.Fatalf("still dead after retry:\n%s", out)
	}
	if code, _, errOut := runCLI(t, "--config", cfg, "webhooks", "retry", strconv.FormatInt(ids[0], 10)); code != 1 || !strings.Contains(errOut, "no dead event with that id") {
		t.Fatalf("retry of a pending event: exit %d, %s", code, errOut)
	}
}
