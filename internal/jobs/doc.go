// Package jobs runs mapsync's durable background work on River (github.com/riverqueue/river),
// in the store's own database: PostgreSQL through riverdatabasesql over the store's lib/pq
// pool, SQLite through riversqlite over the store's single modernc connection. River's tables
// come in through the store's migrations (migration 00004), so `mapsync migrate up` is the one
// step.
//
// # What it gives
//
// New builds one River client for a store. Other packages register their workers on a
// *river.Workers (NewWorkers) before New, and insert jobs either alone (Insert) or inside a
// store transaction (InsertTx takes the *sqlx.Tx the store's methods run in), so a job exists
// exactly when the change that asked for it committed. Start works jobs; Stop stops gracefully
// within a bound and then cancels the jobs still running.
//
// # Latency
//
// Neither driver listens for notifications (riverdatabasesql has no LISTEN; SQLite has none),
// so the client polls for new jobs every Config.FetchPollInterval (default 100 ms), which bounds
// the delay from insert to work. River moves jobs scheduled for later to available only every
// 5 seconds; jobs inserted with a ScheduledAt up to that far ahead are therefore inserted as
// available at that time instead (River does the same for its own short retries), so a
// 1-second coalescing delay is worked about 1 second later, not up to 6.
//
// # Limits
//
// On SQLite every River operation shares the store's one connection with the store itself:
// writes are serialised, which suits one process. Several processes need PostgreSQL, where
// River shares jobs among them and elects the leader that runs periodic jobs and maintenance.
package jobs
