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
