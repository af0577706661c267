package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/secrets"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

var t0 = time.Date(2026, 10, 28, 1, 25, 21, 0, time.UTC)

func deal(id string, stamp time.Time, name string) connectors.Record {
	return connectors.Record{Object: connectors.ObjectDeal, ID: id, ModifiedAt: stamp, Fields: map[string]any{"Name": name, "Amount": 1000.0}}
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s := storetest.Open(t, b, storetest.Options{NoMigrate: true})
			if err := s.CheckSchema(ctx); !errors.Is(err, store.ErrSchemaBehind) || !strings.Contains(err.Error(), "run `mapsync migrate up`") {
				t.Fatalf("empty database: got %v, want ErrSchemaBehind telling to migrate", err)
			}
			applied, err := s.MigrateUp(ctx)
			if err != nil || len(applied) == 0 {
				t.Fatalf("migrate up: got %v, %v", applied, err)
			}
			if err := s.CheckSchema(ctx); err != nil {
				t.Fatalf("after up: %v", err)
			}
			st, err := s.MigrationStatuses(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range st {
				if !m.Applied {
					t.Errorf("migration %d not applied after up", m.Version)
				}
			}
			v, err := s.MigrateDown(ctx)
			if err != nil || v != applied[len(applied)-1] {
				t.Fatalf("down: got %d, %v; want %d", v, err, applied[len(applied)-1])
			}
			if err := s.CheckSchema(ctx); !errors.Is(err, store.ErrSchemaBehind) {
				t.Fatalf("after down: got %v, want ErrSchemaBehind", err)
			}
			if _, err := s.MigrateUp(ctx); err != nil {
				t.Fatal(err)
			}
			// A newer binary's migration recorded in the database.
			if _, err := s.DB().ExecContext(ctx, s.DB().Rebind(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, ?)`), 999999, true); err != nil {
				t.Fatal(err)
			}
			if err := s.CheckSchema(ctx); !errors.Is(err, store.ErrSchemaAhead) || !strings.Contains(err.Error(), "upgrade mapsync") {
				t.Fatalf("ahead: got %v, want ErrSchemaAhead", err)
			}
		})
	}
}

func TestConnections(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a, err := s.EnsureConnection(ctx, "acme-sf", "salesforce")
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.EnsureConnection(ctx, "acme-sf", "salesforce")
		if err != nil || b.ID != a.ID {
			t.Fatalf("second ensure: got %+v, %v; want id %d", b, err, a.ID)
		}
		if _, err := s.EnsureConnection(ctx, "acme-sf", "hubspot"); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("kind change: got %v, want ErrConflict", err)
		}
		if err := s.SetConnectionStatus(ctx, "acme-sf", store.ConnectionNeedsReauth, "refresh token revoked"); err != nil {
			t.Fatal(err)
		}
		c, _ := s.ConnectionByName(ctx, "acme-sf")
		if c.Status != store.ConnectionNeedsReauth || c.StatusReason != "refresh token revoked" {
			t.Fatalf("got %s %q, want needs_reauth with reason", c.Status, c.StatusReason)
		}
		if _, err := s.ConnectionByName(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
		if err := s.SetConnectionStatus(ctx, "nope", "active", ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
}

func TestTokensAreSealed(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if _, err := s.EnsureConnection(ctx, "sf", "salesforce"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LoadToken(ctx, "sf"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no token yet: got %v, want ErrNotFound", err)
		}
		tok := (&oauth2.Token{AccessToken: "00Dxx!access-secret", RefreshToken: "refresh-secret", TokenType: "Bearer"}).
			WithExtra(map[string]any{"instance_url": "https://acme.my.salesforce.com", "ignored": "x"})
		if err := s.SaveToken(ctx, "sf", tok); err != nil {
			t.Fatal(err)
		}
		got, err := s.LoadToken(ctx, "sf")
		if err != nil {
			t.Fatal(err)
		}
		if got.AccessToken != tok.AccessToken || got.RefreshToken != tok.RefreshToken || got.Extra("instance_url") != "https://acme.my.salesforce.com" {
			t.Fatalf("got %+v, want the saved token with instance_url", got)
		}
		var sealed []byte
		if err := s.DB().GetContext(ctx, &sealed, `SELECT sealed FROM oauth_tokens`); err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"access-secret", "refresh-secret"} {
			if bytes.Contains(sealed, []byte(secret)) {
				t.Fatalf("stored token holds %q in plaintext", secret)
			}
		}
		// Saving again replaces.
		if err := s.SaveToken(ctx, "sf", &oauth2.Token{AccessToken: "new", RefreshToken: "r2"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.LoadToken(ctx, "sf"); got.AccessToken != "new" {
			t.Fatalf("got %q, want the replaced token", got.AccessToken)
		}
		if err := s.SaveToken(ctx, "unknown", tok); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown connection: got %v, want ErrNotFound", err)
		}
	})
}

func TestTokensNeedTheKey(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.SQLite, storetest.Options{NoCipher: true})
	ctx := t.Context()
	s.EnsureConnection(ctx, "sf", "salesforce")
	if err := s.SaveToken(ctx, "sf", &oauth2.Token{AccessToken: "a"}); !errors.Is(err, secrets.ErrNoKey) {
		t.Fatalf("got %v, want ErrNoKey (never a plaintext fallback)", err)
	}
	if _, err := s.LoadToken(ctx, "sf"); !errors.Is(err, secrets.ErrNoKey) {
		t.Fatalf("got %v, want ErrNoKey", err)
	}
}

func TestApplyPullPage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c, _ := s.EnsureConnection(ctx, "sf", "salesforce")
		page := store.PullPage{
			ConnectionID: c.ID, Object: connectors.ObjectDeal,
			Records: []connectors.Record{deal("006A", t0, "Acme"), deal("006B", t0, "Globex"), deal("006C", t0.Add(time.Second), "Initech")},
			Cursor:  &connectors.Cursor{Stamp: t0.Add(time.Second), ID: "006C"},
			Roles: map[string][]connectors.DealContact{
				"006A": {{DealID: "006A", ContactID: "003X", Role: "Champion", Primary: true}, {DealID: "006A", ContactID: "003Y", Role: "Economic Buyer"}},
			},
		}
		st, err := s.ApplyPullPage(ctx, page)
		if err != nil {
			t.Fatal(err)
		}
		if st != (store.UpsertStats{Inserted: 3}) {
			t.Fatalf("first apply: got %+v, want 3 inserted", st)
		}
		cur, _ := s.Cursor(ctx, c.ID, connectors.ObjectDeal)
		if !cur.Stamp.Equal(t0.Add(time.Second)) || cur.ID != "006C" {
			t.Fatalf("cursor: got %+v", cur)
		}
		// The overlap window reads the same page again: nothing changes.
		if st, _ := s.ApplyPullPage(ctx, page); st != (store.UpsertStats{Unchanged: 3}) {
			t.Fatalf("re-apply: got %+v, want 3 unchanged", st)
		}
		// A newer version updates; an older one is ignored; duplicates in a page keep the newest.
		st, err = s.ApplyPullPage(ctx, store.PullPage{ConnectionID: c.ID, Object: connectors.ObjectDeal, Records: []connectors.Record{
			deal("006A", t0.Add(time.Minute), "Acme renamed"),
			deal("006B", t0.Add(-time.Minute), "Globex stale"),
			deal("006D", t0.Add(2*time.Minute), "Old D"), deal("006D", t0.Add(3*time.Minute), "New D"),
		}})
		if err != nil {
			t.Fatal(err)
		}
		if st != (store.UpsertStats{Inserted: 1, Updated: 1, Unchanged: 2}) {
			t.Fatalf("mixed apply: got %+v, want 1 inserted, 1 updated, 2 unchanged", st)
		}
		for id, want := range map[string]string{"006A": "Acme renamed", "006B": "Globex", "006D": "New D"} {
			r, err := s.Record(ctx, c.ID, connectors.ObjectDeal, id)
			if err != nil || r.Fields["Name"] != want {
				t.Fatalf("%s: got %v, %v; want Name %q", id, r, err, want)
			}
		}
		// A delete notice without fields keeps the last known fields.
		st, _ = s.ApplyPullPage(ctx, store.PullPage{ConnectionID: c.ID, Object: connectors.ObjectDeal, Records: []connectors.Record{
			{Object: connectors.ObjectDeal, ID: "006C", ModifiedAt: t0.Add(time.Hour), Deleted: true},
		}})
		if st != (store.UpsertStats{Updated: 1, Deleted: 1}) {
			t.Fatalf("delete: got %+v", st)
		}
		r, _ := s.Record(ctx, c.ID, connectors.ObjectDeal, "006C")
		if !r.Deleted || r.Fields["Name"] != "Initech" {
			t.Fatalf("deleted record: got %+v, want deleted with fields kept", r)
		}
		roles, _ := s.DealContacts(ctx, c.ID, "006A")
		if len(roles) != 2 || !roles[0].Primary || roles[0].ContactID != "003X" {
			t.Fatalf("roles: got %+v", roles)
		}
		// Roles are replaced as a set.
		s.ApplyPullPage(ctx, store.PullPage{ConnectionID: c.ID, Object: connectors.ObjectDealContact, Roles: map[string][]connectors.DealContact{
			"006A": {{DealID: "006A", ContactID: "003Z", Role: "Decision Maker", Primary: true}},
		}})
		roles, _ = s.DealContacts(ctx, c.ID, "006A")
		if len(roles) != 1 || roles[0].ContactID != "003Z" {
			t.Fatalf("replaced roles: got %+v", roles)
		}
		counts, _ := s.RecordCounts(ctx, c.ID)
		if counts[connectors.ObjectDeal] != 3 {
			t.Fatalf("live deals: got %d, want 3", counts[connectors.ObjectDeal])
		}
	})
}

// A page that fails stores nothing, and its cursor does not advance.
func TestApplyPullPageIsAtomic(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c, _ := s.EnsureConnection(ctx, "sf", "salesforce")
		bad := store.PullPage{ConnectionID: c.ID, Object: connectors.ObjectDeal,
			Records: []connectors.Record{deal("006A", t0, "ok"), {Object: connectors.ObjectContact, ID: "003A", ModifiedAt: t0}},
			Cursor:  &connectors.Cursor{Stamp: t0, ID: "003A"}}
		if _, err := s.ApplyPullPage(ctx, bad); err == nil {
			t.Fatal("mixed-object page: got nil error")
		}
		if _, err := s.Record(ctx, c.ID, connectors.ObjectDeal, "006A"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("record of failed page: got %v, want ErrNotFound", err)
		}
		if cur, _ := s.Cursor(ctx, c.ID, connectors.ObjectDeal); !cur.Stamp.IsZero() {
			t.Fatalf("cursor advanced by a failed page: %+v", cur)
		}
	})
}

func TestMarkUnseenDeleted(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends {
		t.Run(string(b), func(t *testing.T) {
			now := t0
			s := storetest.Open(t, b, storetest.Options{Now: func() time.Time { return now }})
			ctx := t.Context()
			c, _ := s.EnsureConnection(ctx, "hs", "hubspot")
			s.ApplyPullPage(ctx, store.PullPage{ConnectionID: c.ID, Object: connectors.ObjectDeal,
				Records: []connectors.Record{deal("1", t0, "a"), deal("2", t0, "b"), deal("3", t0, "c")},
				Roles:   map[string][]connectors.DealContact{"2": {{DealID: "2", ContactID: "9"}}}})
			now = t0.Add(time.Hour)
			reconcileStart := now
			// The full pull sees 1 (unchanged) and 3 (changed), not 2.
			st, err := s.ApplyPullPage(ctx, store.PullPage{ConnectionID: c.ID, Object: connectors.ObjectDeal, Seen: true,
				Records: []connectors.Record{deal("1", t0, "a"), deal("3", t0.Add(time.Minute), "c2")}})
			if err != nil || st.Unchanged != 1 || st.Updated != 1 {
				t.Fatalf("full page: got %+v, %v", st, err)
			}
			ids, err := s.MarkUnseenDeleted(ctx, c.ID, connectors.ObjectDeal, reconcileStart)
			if err != nil || len(ids) != 1 || ids[0] != "2" {
				t.Fatalf("got %v, %v; want [2]", ids, err)
			}
			r, _ := s.Record(ctx, c.ID, connectors.ObjectDeal, "2")
			if !r.Deleted {
				t.Fatal("deal 2 not marked deleted")
			}
			if roles, _ := s.DealContacts(ctx, c.ID, "2"); len(roles) != 0 {
				t.Fatalf("deleted deal keeps roles %+v", roles)
			}
			if ids, _ := s.MarkUnseenDeleted(ctx, c.ID, connectors.ObjectDeal, reconcileStart); len(ids) != 0 {
				t.Fatalf("second reconcile marked %v again", ids)
			}
		})
	}
}

func TestRuns(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c, _ := s.EnsureConnection(ctx, "sf", "salesforce")
		id, err := s.StartRun(ctx, c.ID, store.RunIncremental, store.TriggerManual)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.FinishRun(ctx, id, store.RunFailed, map[string]int{"api_calls": 3}, "crm unavailable"); err != nil {
			t.Fatal(err)
		}
		r, err := s.Run(ctx, id)
		if err != nil || r.Status != store.RunFailed || r.FinishedAt == nil || !strings.Contains(r.Stats, `"api_calls":3`) || r.Error != "crm unavailable" {
			t.Fatalf("got %+v, %v", r, err)
		}
		runs, _ := s.Runs(ctx, c.ID, 10)
		if len(runs) != 1 || runs[0].ID != id {
			t.Fatalf("runs: got %+v", runs)
		}
		if err := s.FinishRun(ctx, 424242, store.RunSucceeded, nil, ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown run: got %v, want ErrNotFound", err)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, err := store.Open(ctx, "postgres://nobody:pw-secret@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", store.Options{})
	if err == nil || !strings.Contains(err.Error(), "cannot reach PostgreSQL") || strings.Contains(err.Error(), "pw-secret") {
		t.Fatalf("unreachable: got %v, want a clear error without the password", err)
	}
	if _, err := store.Open(ctx, "mysql://x", store.Options{}); err == nil {
		t.Fatal("mysql url accepted")
	}
}

func BenchmarkUpsertRecords(b *testing.B) {
	for _, backend := range storetest.Backends {
		b.Run(string(backend), func(b *testing.B) {
			s := storetest.Open(b, backend)
			ctx := context.Background()
			c, _ := s.EnsureConnection(ctx, "bench", "salesforce")
			const page = 2000
			n := 0
			for b.Loop() {
				recs := make([]connectors.Record, page)
				for i := range recs {
					recs[i] = connectors.Record{Object: connectors.ObjectDeal, ID: fmt.Sprintf("006%015d", n), ModifiedAt: t0.Add(time.Duration(n) * time.Millisecond),
						Fields: map[string]any{"Name": fmt.Sprintf("Deal %d", n), "StageName": "Prospecting", "Amount": float64(n), "CloseDate": "2026-12-01", "OwnerId": "005000000000001AAA"}}
					n++
				}
				if _, err := s.ApplyPullPage(ctx, store.PullPage{ConnectionID: c.ID, Object: connectors.ObjectDeal, Records: recs}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

func TestReconcileDropsVanishedRoles(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends {
		t.Run(string(b), func(t *testing.T) {
			now := t0
			s := storetest.Open(t, b, storetest.Options{Now: func() time.Time { return now }})
			ctx := t.Context()
			c, _ := s.EnsureConnection(ctx, "sf", "salesforce")
			s.ApplyPullPage(ctx, store.PullPage{ConnectionID: c.ID, Object: connectors.ObjectDealContact, Roles: map[string][]connectors.DealContact{
				"006A": {{DealID: "006A", ContactID: "003A", Role: "Champion"}},
				"006B": {{DealID: "006B", ContactID: "003B", Role: "Champion"}},
			}})
			now = t0.Add(time.Hour)
			start := now
			// The reconcile delivers 006A's roles only: 006B's last role was removed in the CRM.
			s.ApplyPullPage(ctx, store.PullPage{ConnectionID: c.ID, Object: connectors.ObjectDealContact, Seen: true, Roles: map[string][]connectors.DealContact{
				"006A": {{DealID: "006A", ContactID: "003A", Role: "Champion"}},
			}})
			if _, err := s.MarkUnseenDeleted(ctx, c.ID, connectors.ObjectDealContact, start); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.DealContacts(ctx, c.ID, "006A"); len(got) != 1 {
				t.Fatalf("006A roles: got %+v, want 1", got)
			}
			if got, _ := s.DealContacts(ctx, c.ID, "006B"); len(got) != 0 {
				t.Fatalf("006B roles: got %+v, want none", got)
			}
		})
	}
}

// A first load skips reading stored stamps, yet an older record still never overwrites a newer one.
func TestFreshPageNeverOverwritesNewer(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c, _ := s.EnsureConnection(ctx, "sf", "salesforce")
		if has, err := s.HasRecords(ctx, c.ID, connectors.ObjectDeal); err != nil || has {
			t.Fatalf("empty store: HasRecords %v, %v", has, err)
		}
		s.UpsertRecords(ctx, c.ID, []connectors.Record{deal("006A", t0.Add(time.Hour), "newer")})
		if has, _ := s.HasRecords(ctx, c.ID, connectors.ObjectDeal); !has {
			t.Fatal("HasRecords false after an upsert")
		}
		st, err := s.ApplyPullPage(ctx, store.PullPage{ConnectionID: c.ID, Object: connectors.ObjectDeal, Fresh: true,
			Records: []connectors.Record{deal("006A", t0, "older"), deal("006B", t0, "new")}})
		if err != nil || st.Inserted != 2 {
			t.Fatalf("fresh page: %+v, %v; want both counted as inserted", st, err)
		}
		if r, _ := s.Record(ctx, c.ID, connectors.ObjectDeal, "006A"); r.Fields["Name"] != "newer" {
			t.Fatalf("fresh page overwrote a newer record: %v", r.Fields)
		}
		if r, _ := s.Record(ctx, c.ID, connectors.ObjectDeal, "006B"); r == nil || r.Fields["Name"] != "new" {
			t.Fatalf("fresh page did not store 006B: %v", r)
		}
	})
}

// A fresh page's roles are upserted without clearing the deals' stored ones first (there are none
// on a first load): a role the store already has is updated, not refused as a duplicate; and a
// stale role that a fresh full pass does not deliver is dropped by its reconcile.
func TestFreshPageUpsertsRoles(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends {
		t.Run(string(b), func(t *testing.T) {
			now := t0
			s := storetest.Open(t, b, storetest.Options{Now: func() time.Time { return now }})
			ctx := t.Context()
			c, _ := s.EnsureConnection(ctx, "sf", "salesforce")
			// Stored before the pass began (say by a webhook fetch): 006A's Champion, not primary,
			// and 006A's Economic Buyer, which the CRM no longer has.
			if _, err := s.ApplyPullPage(ctx, store.PullPage{ConnectionID: c.ID, Object: connectors.ObjectDealContact, Roles: map[string][]connectors.DealContact{
				"006A": {{DealID: "006A", ContactID: "003A", Role: "Champion"}, {DealID: "006A", ContactID: "003Z", Role: "Economic Buyer"}},
			}}); err != nil {
				t.Fatal(err)
			}
			now = t0.Add(time.Hour)
			start := now
			page := store.PullPage{ConnectionID: c.ID, Object: connectors.ObjectDealContact, Seen: true, Fresh: true, Reconcile: true, Roles: map[string][]connectors.DealContact{
				"006A": {{DealID: "006A", ContactID: "003A", Role: "Champion", Primary: true}},
				"006B": {{DealID: "006B", ContactID: "003B", Role: "Champion"}},
			}}
			for range 2 { // the same page twice (a repeated commit) changes nothing more
				if _, err := s.ApplyPullPage(ctx, page); err != nil {
					t.Fatalf("fresh page over stored roles: %v", err)
				}
			}
			got, _ := s.DealContacts(ctx, c.ID, "006A")
			if len(got) != 2 || got[0].ContactID != "003A" || !got[0].Primary {
				t.Fatalf("006A roles before the reconcile: %+v, want 003A's Champion updated to primary, and 003Z still there", got)
			}
			if _, err := s.MarkUnseenDeleted(ctx, c.ID, connectors.ObjectDealContact, start); err != nil {
				t.Fatal(err)
			}
			got, _ = s.DealContacts(ctx, c.ID, "006A")
			if len(got) != 1 || got[0].ContactID != "003A" || !got[0].Primary {
				t.Fatalf("006A roles after the reconcile: %+v, want only 003A's primary Champion", got)
			}
			if got, _ := s.DealContacts(ctx, c.ID, "006B"); len(got) != 1 {
				t.Fatalf("006B roles: %+v, want 1", got)
			}
		})
	}
}
