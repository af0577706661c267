// Package storetest opens fresh, migrated stores for tests on both backends: SQLite in a
// temporary folder, and PostgreSQL in a schema of its own at MAPSYNC_TEST_DATABASE_URL, dropped
// when the test ends. Tests that use it run against real databases, never mocks.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/secrets"
	"github.com/mapsync/mapsync/store"
)

// EnvURL names the PostgreSQL server tests use.
const EnvURL = "MAPSYNC_TEST_DATABASE_URL"

// DefaultURL is used when EnvURL is not set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Backends lists the databases every store test runs on.
var Backends = []store.Dialect{store.SQLite, store.Postgres}

// Key is the fixed secret key of test stores.
const Key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// PostgresURL returns the test server's URL.
func PostgresURL() string {
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	return DefaultURL
}

var (
	pgOnce sync.Once
	pgErr  error
)

// requirePostgres fails (under CI=true or MAPSYNC_REQUIRE_POSTGRES=1) or skips with a message
// when the server is unreachable; a PostgreSQL test never passes without PostgreSQL.
func requirePostgres(t testing.TB) {
	t.Helper()
	pgOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		db, err := sqlx.Open("postgres", PostgresURL())
		if err == nil {
			err = db.PingContext(ctx)
			db.Close()
		}
		pgErr = err
	})
	if pgErr == nil {
		return
	}
	msg := "PostgreSQL is not reachable at " + EnvURL + " (" + redacted() + "): " + pgErr.Error() +
		"; start it (scripts/test.sh does: pg_ctlcluster <version> main start) or set " + EnvURL
	if os.Getenv("CI") == "true" || os.Getenv("MAPSYNC_REQUIRE_POSTGRES") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func redacted() string {
	u, err := url.Parse(PostgresURL())
	if err != nil {
		return "<bad url>"
	}
	return u.Redacted()
}

// Options tune Open.
type Options struct {
	// Now pins the store's clock.
	Now func() time.Time
	// NoCipher opens the store without a secret key.
	NoCipher bool
	// NoMigrate leaves the schema empty.
	NoMigrate bool
}

// Open returns a fresh store on backend, migrated, closed and removed when t ends.
func Open(t testing.TB, backend store.Dialect, opts ...Options) *store.Store {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	ctx := context.Background()
	so := store.Options{Now: o.Now, Logger: zerolog.Nop(), MaxOpenConns: 8}
	if !o.NoCipher {
		c, err := secrets.ParseKey(Key)
		if err != nil {
			t.Fatal(err)
		}
		so.Cipher = c
	}
	var dsn string
	switch backend {
	case store.SQLite:
		dsn = "sqlite:" + filepath.Join(t.TempDir(), "mapsync.db")
	case store.Postgres:
		requirePostgres(t)
		dsn = NewSchema(t)
	default:
		t.Fatalf("unknown backend %q", backend)
	}
	s, err := store.Open(ctx, dsn, so)
	if err != nil {
		t.Fatalf("open %s store: %v", backend, err)
	}
	t.Cleanup(func() { s.Close() })
	if !o.NoMigrate {
		if _, err := s.MigrateUp(ctx); err != nil {
			t.Fatalf("migrate %s store: %v", backend, err)
		}
	}
	return s
}

// NewSchema creates an empty PostgreSQL schema for t, dropped when t ends, and returns a URL
// whose connections use it.
func NewSchema(t testing.TB) string {
	t.Helper()
	requirePostgres(t)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "mapsync_test_" + hex.EncodeToString(b)
	admin, err := sqlx.Open("postgres", PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(context.Background()), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	u, err := url.Parse(PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Each runs fn as a subtest on every backend, with a fresh store each.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, b := range Backends {
		t.Run(string(b), func(t *testing.T) {
			fn(t, Open(t, b))
		})
	}
}
