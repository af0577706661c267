package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq" // PostgreSQL driver "postgres"
	"github.com/lib/pq/pqerror"
	"github.com/rs/zerolog"
	"modernc.org/sqlite" // pure-Go SQLite driver "sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/secrets"
)

// Dialect names the database behind a Store.
type Dialect string

// The supported databases.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

func init() {
	// sqlx does not know modernc's driver name; "?" placeholders are SQLite's own. This only
	// teaches sqlx a bind type: no state of ours is set up at import time.
	sqlx.BindDriver("sqlite", sqlx.QUESTION)
}

// Store is mapsync's persistence: every table, on PostgreSQL or the embedded SQLite.
//
// SQLite limits: one open connection (writers are serialised, which suits one process and a
// small team); no SKIP LOCKED, so claims rely on that single connection. Use PostgreSQL for
// several replicas.
type Store struct {
	db      *sqlx.DB
	dialect Dialect
	cipher  *secrets.Cipher
	now     func() time.Time
	log     zerolog.Logger
	// markHook runs in every plan write's transaction (OnPlansMarked).
	markHook MarkHook
	// turns orders write transactions on SQLite, the run lock's first (nil on PostgreSQL).
	turns *turns
	// lockDB runs the run lock's statements. On PostgreSQL it is a pool of its own (two
	// connections), so a lease renewal never waits behind the main pool's callers, of which
	// database/sql wakes a random one; on SQLite it is db (one file, one writer) and turns gives
	// the run lock its priority instead.
	lockDB *sqlx.DB
}

// Options configures Open.
type Options struct {
	// MaxOpenConns caps PostgreSQL connections (default 10). SQLite always uses 1.
	MaxOpenConns int
	// Cipher seals OAuth tokens. Nil is allowed; token methods then fail with secrets.ErrNoKey.
	Cipher *secrets.Cipher
	// Now is the clock (default time.Now); tests pin it.
	Now func() time.Time
	// Logger receives store-level events (migrations).
	Logger zerolog.Logger
}

// Open connects to the database named by rawURL: "postgres://..." / "postgresql://..." for
// PostgreSQL, "sqlite:PATH" (or "" for sqlite:mapsync.db) for the embedded database. It pings
// the database, so an unreachable server is reported here with what to do.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	s := &Store{cipher: opts.Cipher, now: opts.Now, log: opts.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	var err error
	switch {
	case rawURL == "" || strings.HasPrefix(rawURL, "sqlite:"):
		s.dialect = SQLite
		path := strings.TrimPrefix(rawURL, "sqlite:")
		if path == "" {
			path = "mapsync.db"
		}
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("create database folder: %w", err)
			}
		}
		dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate&_time_format=sqlite"
		s.db, err = sqlx.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		s.db.SetMaxOpenConns(1)
		s.db.SetConnMaxIdleTime(0)
		s.turns = newTurns()
		s.lockDB = s.db
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		s.dialect = Postgres
		s.db, err = sqlx.Open("postgres", rawURL)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		n := opts.MaxOpenConns
		if n <= 0 {
			n = 10
		}
		s.db.SetMaxOpenConns(n)
		s.db.SetMaxIdleConns(n)
		s.db.SetConnMaxIdleTime(5 * time.Minute)
		s.lockDB, err = sqlx.Open("postgres", rawURL)
		if err != nil {
			s.db.Close()
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		s.lockDB.SetMaxOpenConns(2)
		s.lockDB.SetMaxIdleConns(2)
		s.lockDB.SetConnMaxIdleTime(5 * time.Minute)
	default:
		return nil, fmt.Errorf("database url: want postgres://... or sqlite:PATH")
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.db.PingContext(pingCtx); err != nil {
		s.Close()
		if s.dialect == Postgres {
			return nil, fmt.Errorf("cannot reach PostgreSQL at %s: %w (is the server running? check database.url or %s)", redactURL(rawURL), err, "MAPSYNC_DATABASE_URL")
		}
		return nil, fmt.Errorf("cannot open SQLite database %s: %w", rawURL, err)
	}
	return s, nil
}

// redactURL hides a password in a database URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable url>"
	}
	return u.Redacted()
}

// Close closes the database.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.lockDB != nil && s.lockDB != s.db {
		err = errors.Join(err, s.lockDB.Close())
	}
	return err
}

// Dialect reports which database the store runs on.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB exposes the handle for packages that add their own store files in later migrations' tests.
func (s *Store) DB() *sqlx.DB { return s.db }

// Ping checks the database is reachable (for /readyz).
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Now returns the store's clock reading in UTC.
func (s *Store) Now() time.Time { return s.now().UTC() }

// rebind turns "?" placeholders into the dialect's.
func (s *Store) rebind(q string) string { return s.db.Rebind(q) }

// inTx runs fn in a transaction, committing when it returns nil and rolling back otherwise.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	if err := s.turns.take(ctx, false); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer s.turns.give()
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", interpretError(err))
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", interpretError(err))
	}
	return nil
}

// Sentinel errors callers branch on with errors.Is. They are package plans' own sentinels, so
// callers of plans.Store and of the store branch on one set.
var (
	// ErrNotFound means the row asked for does not exist (plans.ErrNotFound).
	ErrNotFound = plans.ErrNotFound
	// ErrConflict means a unique constraint refused the write: a row exists already
	// (plans.ErrConflict).
	ErrConflict = plans.ErrConflict
)

// interpretError maps driver errors onto the store's sentinels, in one place for both databases,
// by the drivers' typed errors: sql.ErrNoRows is ErrNotFound; a unique or primary-key violation
// (PostgreSQL SQLSTATE 23505 from lib/pq's *pq.Error; SQLite's extended result codes
// SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY from modernc's *sqlite.Error) matches
// ErrConflict and keeps the driver error reachable; text PostgreSQL cannot hold (SQLSTATE 22021,
// 22P05) matches plans.ErrInvalid. Anything else is returned as it is.
func interpretError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case isUniqueViolation(err):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	case isBadText(err):
		return fmt.Errorf("%w: text the database cannot hold (a NUL byte or invalid UTF-8): %w", plans.ErrInvalid, err)
	}
	return err
}

// isBadText reports whether err is PostgreSQL refusing a text value: a NUL byte (22021) or bytes
// that are not UTF-8 (22021, 22P05). SQLite stores any bytes.
func isBadText(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && (pqErr.Code == pqerror.CharacterNotInRepertoire || pqErr.Code == pqerror.UntranslatableCharacter)
}

// isUniqueViolation reports whether err is a driver's unique or primary-key violation.
func isUniqueViolation(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return pqErr.Code == pqerror.UniqueViolation
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		switch liteErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return true
		}
	}
	return false
}
