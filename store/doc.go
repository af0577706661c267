// Package store holds all of mapsync's SQL, one file per aggregate, on sqlx. One Store type
// serves both backends: PostgreSQL through lib/pq, and an embedded pure-Go SQLite for the
// zero-setup default.
package store
