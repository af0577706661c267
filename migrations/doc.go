// Package migrations embeds mapsync's SQL migrations, one folder per database (postgres, sqlite),
// applied in order by goose. Files are append-only: a released migration is never edited.
package migrations

import "embed"

// Postgres holds the PostgreSQL migrations.
//
//go:embed postgres/*.sql
var Postgres embed.FS

// SQLite holds the SQLite migrations.
//
//go:embed sqlite/*.sql
var SQLite embed.FS

// Push holds migration 00004's SQL (push state, push log, dead letters), one up and one down
// file per database. 00004 is a Go migration (store/river_migrate.go): it creates River's own
// tables through rivermigrate and then runs these, in one transaction, so `mapsync migrate up`
// stays the one step. The files live outside postgres/ and sqlite/ so goose does not read them
// as SQL migrations of their own.
//
//go:embed push/*.sql
var Push embed.FS
