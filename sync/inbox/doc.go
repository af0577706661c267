// Package inbox processes the webhook events the server stored (store.WebhookEvent): it turns
// stored events into the store changes they call for and marks them done. It keeps no queue of
// its own: the daemon inserts a River job per stored batch in the transaction that stored it
// (cmd/mapsync/webhooks_wiring.go) and the job's worker calls Processor.Process.
//
// # How an event is handled
//
//   - A deletion (HubSpot deal.deletion, contact.deletion, contact.privacyDeletion) marks the
//     record deleted at once, as a full reconcile would (an incremental pull never sees HubSpot's
//     archived records).
//   - A merge (deal.merge, contact.merge) marks the merged-away records deleted; the surviving
//     deal is fetched.
//   - An event about a deal (HubSpot deal creations, property and association changes, restores;
//     Salesforce outbound messages about an Opportunity; generic events with "object": "deal")
//     fetches that deal through Options.Fetch (with its contacts and roles), which stores it and
//     gives it its plan; the deals of one batch are fetched together, each once.
//   - An event about a contact fetches the deals the contact is on (their stored roles name it;
//     Options.ContactDeals), which brings the contact and the deals' roles too; a contact's
//     association change with a deal fetches that deal.
//   - Other events (a contact on no stored deal, objects the processor cannot place) ask for one
//     incremental pull of the connection (under its run lock, trigger webhook) followed by the
//     plan catch-up, however many such events the batch holds.
//
// # Failures
//
// A failed attempt counts an attempt on each of its events and keeps the error; River retries
// the job with backoff. On the job's last attempt (Process's final) the events are made dead
// (store.WebhookDead) before River discards the job: a dead letter, listed by `mapsync webhooks
// list --status dead` and /api/v1/dead-letters, and put back, with a new job, by `mapsync
// webhooks retry` or POST /api/v1/dead-letters/{event}/retry.
package inbox
