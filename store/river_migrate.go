package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/mapsync/mapsync/migrations"
)

// riverVersion is the River schema version migration 00004 creates (rivermigrate's "main"
// line). It is pinned: a River upgrade that brings new River migrations gets a goose migration
// of its own that migrates River from this version to the next, so a database's goose version
// always says which River schema it has.
const riverVersion = 8

// pushMigrationVersion is the goose version of the River and push tables migration.
const pushMigrationVersion = 4

// goMigrations returns the store's Go migrations for goose: 00004 creates River's tables
// (through rivermigrate, at riverVersion) and then the push tables (migrations.Push), and drops
// both on the way down.
//
// On PostgreSQL it runs outside one transaction, because River's migrations add an enum value
// that a later one uses, which PostgreSQL refuses within a single transaction: River applies each
// of its versions in a transaction of its own and records it, so a run interrupted half way
// resumes where it stopped, and the push tables are one transaction. On SQLite it is one
// transaction: goose holds the single connection while it migrates, so nothing may ask for a
// second one.
func (s *Store) goMigrations() []*goose.Migration {
	up, down := "push/"+string(s.dialect)+".up.sql", "push/"+string(s.dialect)+".down.sql"
	if s.dialect == Postgres {
		return []*goose.Migration{goose.NewGoMigration(pushMigrationVersion,
			&goose.GoFunc{RunDB: func(ctx context.Context, db *sql.DB) error {
				m, err := rivermigrate.New(riverdatabasesql.New(db), riverMigrateConfig())
				if err != nil {
					return err
				}
				if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, riverMigrateOpts(rivermigrate.DirectionUp)); err != nil {
					return fmt.Errorf("river migrations up: %w", err)
				}
				return inSQLTx(ctx, db, func(tx *sql.Tx) error { return execFile(ctx, tx, up) })
			}},
			&goose.GoFunc{RunDB: func(ctx context.Context, db *sql.DB) error {
				if err := inSQLTx(ctx, db, func(tx *sql.Tx) error { return execFile(ctx, tx, down) }); err != nil {
					return err
				}
				m, err := rivermigrate.New(riverdatabasesql.New(db), riverMigrateConfig())
				if err != nil {
					return err
				}
				if _, err := m.Migrate(ctx, rivermigrate.DirectionDown, riverMigrateOpts(rivermigrate.DirectionDown)); err != nil {
					return fmt.Errorf("river migrations down: %w", err)
				}
				return nil
			}},
		)}
	}
	return []*goose.Migration{goose.NewGoMigration(pushMigrationVersion,
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			m, err := rivermigrate.New(riversqlite.New(s.db.DB), riverMigrateConfig())
			if err != nil {
				return err
			}
			//lint:ignore SA1019 SQLite has no enum values to add, so River's versions fit in goose's one transaction, which holds the only connection
			if _, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, riverMigrateOpts(rivermigrate.DirectionUp)); err != nil {
				return fmt.Errorf("river migrations up: %w", err)
			}
			return execFile(ctx, tx, up)
		}},
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			if err := execFile(ctx, tx, down); err != nil {
				return err
			}
			m, err := rivermigrate.New(riversqlite.New(s.db.DB), riverMigrateConfig())
			if err != nil {
				return err
			}
			//lint:ignore SA1019 as above: one transaction on the only connection
			if _, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionDown, riverMigrateOpts(rivermigrate.DirectionDown)); err != nil {
				return fmt.Errorf("river migrations down: %w", err)
			}
			return nil
		}},
	)}
}

// riverMigrateConfig is rivermigrate's config: River's tables go where ours do (on PostgreSQL,
// the schema first on the connection's search_path), and its logs are dropped (goose and
// `mapsync migrate` report what ran).
func riverMigrateConfig() *rivermigrate.Config {
	return &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)}
}

// riverMigrateOpts migrates up to riverVersion, or down to no River tables at all.
func riverMigrateOpts(dir rivermigrate.Direction) *rivermigrate.MigrateOpts {
	if dir == rivermigrate.DirectionDown {
		return &rivermigrate.MigrateOpts{TargetVersion: -1}
	}
	return &rivermigrate.MigrateOpts{TargetVersion: riverVersion}
}

// inSQLTx runs fn in a transaction of db, committing when it returns nil.
func inSQLTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// execFile runs one embedded SQL file of migrations.Push in tx.
func execFile(ctx context.Context, tx *sql.Tx, name string) error {
	body, err := migrations.Push.ReadFile(name)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return fmt.Errorf("run %s: %w", name, err)
	}
	return nil
}
