// Package push runs the push pipeline: it takes a connection's pending plan marks (the outbox
// every plan write fills in its own transaction), evaluates the connection's mapping for each
// marked deal, writes only the changed fields to the CRM in batches of its maximum, and records
// every record's outcome.
//
// # One push
//
// Pusher.Push(ctx, connection, opts) works in rounds. A round claims about Config.Claim marks
// of the connection, whole deals (store.ClaimConnectionPlanMarks: a lease of Config.Lease under
// this process's owner name; on PostgreSQL concurrent claimers skip each other's rows), groups
// them by deal and loads, for all of the round's deals at once, every plan of the deal, the pulled
// deal record and the push state (the values last written and when). Per deal:
//
//	main, byKey := mapping.SplitPlans(plans, additive)   // which plan each field reads
//	desired := Metas.CoerceAll(m.Evaluate(NewEnv(deal, main, byKey, now, publicURL)))
//	crm := deal                                          // as pulled
//	if deal.ModifiedAt < state.PushedAt { crm = Overlay(deal, state.Pushed) } // pulled before our write
//	diffs := mapping.Diff(desired, state.Pushed, crm, keepCRMEdits)
//
// A deal with fields to write goes into a batch of Target.BatchSize (200 Salesforce, 100
// HubSpot), filled across rounds (its marks stay claimed meanwhile), so a push of n records makes
// ceil(n / batch) write calls; the connector sends it through the connection's rate governor and token source
// (an expired access token is refreshed once there) and returns one result per record (HubSpot's
// whole-batch 400 is split and retried by parts inside the connector). Then, per record:
//
//   - accepted: outcome written; its values are merged into push_state; its dead letter, if any,
//     is removed; its marks are finished;
//   - refused for good (KindPermanent: restricted picklist, too long, validation rule, deleted
//     record ENTITY_IS_DELETED / OBJECT_NOT_FOUND, access): outcome dead_letter with the CRM's
//     code and message, upserted into push_dead_letters; its marks are finished, so it is never
//     retried in a loop, only on the plan's next change or by an admin (push dead-letters retry);
//   - refused for now (KindTransient: UNABLE_TO_LOCK_ROW, a missing result): outcome failed in
//     the log, nothing recorded as written, its marks released; Push returns an error for which
//     connectors.IsRetryable is true once the round is recorded.
//
// A deal with nothing to write is unchanged (the CRM holds every desired value), skipped (no
// plan, the mapping's when is false, a person edited the field and conflict is keep_crm_edits,
// the deal is deleted or was never pulled) or invalid (a value outside a restricted picklist,
// too long, of the wrong type: mapping.ValueError, an "invalid" push log entry, never sent);
// its marks are finished. A deal with invalid fields and valid changed ones writes the valid
// ones and logs the invalid ones.
//
// A batch that fails as a whole (network, 5xx or 429 after the connector's retries, timeout)
// records the results of the batches answered before it, releases the marks of everything
// not answered and returns the error (retryable): the job retries with backoff. A refused grant
// (KindNeedsReauth: invalid_grant on refresh) marks the connection needs_reauth and returns an
// error matching ErrNeedsReauth; a connection already in that state is not tried at all.
// Pushes of other connections are not affected.
//
// DryRun reads the pending marks without claiming them, evaluates them the same way and counts
// what would happen, with samples; it sends nothing and records nothing (the field metadata may
// be fetched and cached, as mappings preview does).
//
// # Nothing lost, nothing duplicated
//
// The order is: claim (lease) → evaluate → write to the CRM → record (store.FinishPush: the push
// log, push_state, dead letters and the deletion of the finished marks, in one transaction).
//
//   - A plan changed during a push keeps its mark: a mark is deleted only when its version is at
//     most the version the push evaluated (DonePlanMarks), otherwise it is released and pushed
//     next.
//   - A process killed before the write leaves its marks claimed; when the lease expires the
//     next push claims and pushes them. Nothing was sent, nothing recorded.
//   - A process killed after the CRM applied a batch but before FinishPush committed has
//     recorded nothing: its marks come back after the lease, and the next push evaluates the
//     same deals again. The CRM already holds the values. If the deal was pulled since, the
//     diff sees the CRM's value equal to the desired one and writes nothing (the push state
//     catches up: an "unchanged" outcome merges those values into push_state). If not, the
//     diff compares with the old push state and writes the same absolute values again. A
//     write sets fields to absolute values, so writing the same values twice leaves the CRM
//     exactly as one write does: no change is duplicated, and the push log shows one write
//     (the first was never recorded). What can differ is the CRM's own modification stamp and
//     field history, which get a second entry with the same value.
//   - A process killed after FinishPush committed has nothing left to do for those deals.
//   - Nothing is recorded as written that the CRM did not accept: only records with an OK
//     result are written outcomes.
//
// # Our own writes come back
//
// The next pull stores the deal with the values we wrote. They equal push_state, so they
// change nothing: a pull does not mark plans by itself, and RemarkChanged (called with each
// pulled page of deals) marks a deal's plans only when its mapping, evaluated against the new
// deal record, would write something, which our own values never cause.
package push
