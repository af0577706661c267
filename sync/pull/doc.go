// Package pull runs the pull pipeline: read a connection's CRM objects page by page from a
// cursor with an overlap window, upsert them into the store together with the advanced cursor, and
// record the run.
package pull
