package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"

	"github.com/mapsync/mapsync/migrations"
)

// ErrSchemaBehind means the database needs `mapsync migrate up` before this binary can use it.
var ErrSchemaBehind = errors.New("database schema is behind this binary")

// ErrSchemaAhead means the database was migrated by a newer mapsync.
var ErrSchemaAhead = errors.New("database schema is newer than this binary")

func (s *Store) provider() (*goose.Provider, error) {
	var (
		fsys fs.FS
		dir  string
		d    goose.Dialect
	)
	switch s.dialect {
	case Postgres:
		fsys, dir, d = migrations.Postgres, "postgres", goose.DialectPostgres
	default:
		fsys, dir, d = migrations.SQLite, "sqlite", goose.DialectSQLite3
	}
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(d, s.db.DB, sub, goose.WithGoMigrations(s.goMigrations()...))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	Version int64
	Name    string
	Applied bool
}

// MigrateUp applies every pending migration, each in its own transaction, and returns the
// versions applied.
func (s *Store) MigrateUp(ctx context.Context) ([]int64, error) {
	p, err := s.provider()
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	var applied []int64
	for _, r := range res {
		if r.Error == nil {
			applied = append(applied, r.Source.Version)
		}
	}
	if err != nil {
		return applied, fmt.Errorf("migrate up: %w", err)
	}
	// Not logged: the caller reports what was applied, once (`mapsync migrate up` prints it).
	return applied, nil
}

// MigrateDown rolls back the latest applied migration and returns its version (0 if none).
func (s *Store) MigrateDown(ctx context.Context) (int64, error) {
	p, err := s.provider()
	if err != nil {
		return 0, err
	}
	r, err := p.Down(ctx)
	if errors.Is(err, goose.ErrNoNextVersion) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("migrate down: %w", err)
	}
	return r.Source.Version, nil
}

// MigrationStatuses lists every known migration and whether it is applied.
func (s *Store) MigrationStatuses(ctx context.Context) ([]MigrationStatus, error) {
	p, err := s.provider()
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, m := range st {
		name := m.Source.Path
		if name == "" && m.Source.Version == pushMigrationVersion {
			name = "00004_river_and_push (Go: River's tables through rivermigrate, then migrations/push)"
		}
		out = append(out, MigrationStatus{Version: m.Source.Version, Name: name, Applied: m.State == goose.StateApplied})
	}
	return out, nil
}

// SchemaVersions returns the database's schema version and the one this binary needs.
func (s *Store) SchemaVersions(ctx context.Context) (current, target int64, err error) {
	p, err := s.provider()
	if err != nil {
		return 0, 0, err
	}
	current, target, err = p.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("schema version: %w", err)
	}
	return current, target, nil
}

// CheckSchema refuses a database whose schema is behind or ahead of this binary, with a message
// that says what to do.
func (s *Store) CheckSchema(ctx context.Context) error {
	current, target, err := s.SchemaVersions(ctx)
	if err != nil {
		return err
	}
	switch {
	case current < target:
		return fmt.Errorf("%w: it is at version %d, this mapsync needs %d: run `mapsync migrate up`", ErrSchemaBehind, current, target)
	case current > target:
		return fmt.Errorf("%w: it is at version %d, this mapsync knows up to %d: upgrade mapsync (or migrate down with the newer binary)", ErrSchemaAhead, current, target)
	}
	return nil
}
