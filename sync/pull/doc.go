// Package pull runs the pull pipeline: read a connection's CRM objects page by page from a
// cursor with an overlap window, upsert them into the store together with the advanced cursor, and
// record the run.
//
// A full pass (an object's first pull, or a --full reconcile) stores, with each committed batch,
// where it stands (see resume.go): a run that dies mid-pass is continued by the next run after the
// last committed page, and its reconcile still uses the pass's original start.
package pull
