package store_test

import (
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/lib/pq"
	"modernc.org/sqlite"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// TestOneSetOfSentinels: callers of plans.Store and of the store branch on the same errors.
func TestOneSetOfSentinels(t *testing.T) {
	t.Parallel()
	if store.ErrNotFound != plans.ErrNotFound || store.ErrConflict != plans.ErrConflict {
		t.Fatal("store sentinels differ from plans' sentinels")
	}
}

// TestInterpretError provokes real driver errors on each database and checks that the store
// reads them by their typed codes, not their text.
func TestInterpretError(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		db := s.DB()
		if _, err := db.ExecContext(ctx, `CREATE TABLE errs_probe (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE)`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, db.Rebind(`INSERT INTO errs_probe (id, k) VALUES (1, 'a')`)); err != nil {
			t.Fatal(err)
		}
		driverErr := func(t *testing.T, err error) {
			t.Helper()
			var pqErr *pq.Error
			var liteErr *sqlite.Error
			if !errors.As(err, &pqErr) && !errors.As(err, &liteErr) {
				t.Errorf("driver error not reachable from %v", err)
			}
		}
		for name, q := range map[string]string{
			"unique":      `INSERT INTO errs_probe (id, k) VALUES (2, 'a')`,
			"primary key": `INSERT INTO errs_probe (id, k) VALUES (1, 'b')`,
		} {
			t.Run(name, func(t *testing.T) {
				_, err := db.ExecContext(ctx, q)
				if err == nil {
					t.Fatal("duplicate insert succeeded")
				}
				got := fmt.Errorf("wrapped: %w", store.InterpretError(err))
				if !errors.Is(got, store.ErrConflict) || !errors.Is(got, plans.ErrConflict) {
					t.Errorf("got %v, want ErrConflict", got)
				}
				driverErr(t, got)
			})
		}
		t.Run("not null is no conflict", func(t *testing.T) {
			_, err := db.ExecContext(ctx, `INSERT INTO errs_probe (id, k) VALUES (3, NULL)`)
			if err == nil {
				t.Fatal("NULL insert succeeded")
			}
			if got := store.InterpretError(err); errors.Is(got, store.ErrConflict) || errors.Is(got, store.ErrNotFound) {
				t.Errorf("got %v, want neither sentinel", got)
			}
		})
		t.Run("bad text", func(t *testing.T) {
			var k string
			err := db.QueryRowContext(ctx, db.Rebind(`SELECT k FROM errs_probe WHERE k = ?`), "a\x00b").Scan(&k)
			got := store.InterpretError(err)
			switch s.Dialect() {
			case store.Postgres:
				if !errors.Is(got, plans.ErrInvalid) {
					t.Errorf("NUL in a PostgreSQL text parameter: got %v, want ErrInvalid", got)
				}
			case store.SQLite:
				if !errors.Is(got, store.ErrNotFound) {
					t.Errorf("NUL in a SQLite text parameter: got %v, want ErrNotFound", got)
				}
			}
		})
		t.Run("no rows", func(t *testing.T) {
			var k string
			err := db.QueryRowContext(ctx, `SELECT k FROM errs_probe WHERE id = 42`).Scan(&k)
			if got := store.InterpretError(err); !errors.Is(got, store.ErrNotFound) || !errors.Is(got, plans.ErrNotFound) {
				t.Errorf("got %v, want ErrNotFound", got)
			}
		})
	})
}

// TestInterpretErrorIgnoresText: an error that only says what a unique violation says is not one.
func TestInterpretErrorIgnoresText(t *testing.T) {
	t.Parallel()
	for _, msg := range []string{
		"pq: duplicate key value violates unique constraint (23505)",
		"constraint failed: UNIQUE constraint failed: plans.id (2067)",
	} {
		if got := store.InterpretError(errors.New(msg)); errors.Is(got, store.ErrConflict) {
			t.Errorf("%q: got ErrConflict from text alone", msg)
		}
	}
	if got := store.InterpretError(nil); got != nil {
		t.Errorf("nil: got %v", got)
	}
	if !errors.Is(store.InterpretError(sql.ErrNoRows), store.ErrNotFound) {
		t.Error("sql.ErrNoRows is not ErrNotFound")
	}
}
