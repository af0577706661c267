// Package pull runs the pull pipeline: read a connection's CRM objects page by page from a
// cursor with an overlap window, upsert them into the store together with the advanced cursor, and
// record the run.
//
// A full pass (an object's first pull, or a --full reconcile) stores, with each committed batch,
// where it stands (see resume.go): a run that dies mid-pass is continued by the next run after the
// last committed page, and its reconcile still uses the pass's original start. Its pages are
// stored with store.PullPage.Reconcile: the CRM's current version of a record replaces a stored
// one with other content even when its stamp is older (a stamp that went backwards), unless the
// stored row was written after the page was read.
package pull
