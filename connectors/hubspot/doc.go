// Package hubspot implements connectors.Connector for HubSpot over its CRM v3 and v4 APIs. It
// translates HubSpot's wire formats into the connectors vocabulary and back, and nothing more; the
// shared connectors.Client does the HTTP (governor, retries, token refresh, metrics).
//
// # Auth
//
// A private-app token is a connectors.StaticToken: it never expires, and a 401 is a KindAuth error.
// An OAuth installation uses the shared connectors.TokenSource with OAuthConfig (token endpoint
// /oauth/v1/token, client id and secret in the form body); HubSpot's 400 BAD_REFRESH_TOKEN becomes
// a KindNeedsReauth error.
//
// # Pulling deals and contacts
//
// An incremental pull uses the search API: a filter on the modification stamp (hs_lastmodifieddate
// on deals, lastmodifieddate on contacts) GTE Since.Stamp−Overlap, sorted ascending by the stamp,
// 200 a page, with the configured properties plus the ones mapsync always needs. Search pages by
// offset and refuses offsets past 10,000, and an offset shifts when a record is modified during the
// run. So the connector never sends an offset: every page is a fresh search that starts at the last
// stamp it has read whole. On a full page the records at the page's last stamp are held back and
// read again, complete, by the next search, so stamps are never split across pages, no (id, stamp)
// is delivered twice, and pages come in (stamp, id) order. A stamp that fills a whole page (a mass
// update can give more than 10,000 records one millisecond) is read by a keyset on hs_object_id
// inside that stamp (stamp EQ X AND hs_object_id GT last, sorted by hs_object_id), then the walk
// continues after it. The cost is the records at each page boundary read twice: about 1% more calls
// than the minimum with distinct stamps.
//
// Search has its own limit (5 requests per second per account) and sends no rate headers; the
// connector paces it with its own limiter (Options.SearchLimiter, 4.5 per second by default), and
// its 429 "secondly limit" is retried after one second by the shared client.
//
// A full pull (reconcile) pages GET /crm/v3/objects/{type}, 100 a page, then the same with
// archived=true, whose records come with Deleted set and stamped at archivedAt (so the deletion is
// newer than the stored live record). Full pages are each sorted but follow the list's id order.
// Each full page's Cursor.Extra says where the walk stands after it (list_pass: live, archived or
// done; list_after: the list's paging cursor of the next page), and a Full pull given that Extra in
// Since continues there: an interrupted reconcile resumes after its last committed page (contact
// roles too; owners, a handful of calls, start over).
//
// # Contact roles, owners
//
// ObjectDealContact walks the deals the same way (only id and stamp), groups the walked pages up
// to Options.AssociationBatch deals (default 1,000, HubSpot's documented maximum of batch-read
// inputs; list pages of 100 whole, search pages of up to 199 split to fill each group) and
// batch-reads each group's deal-to-contact associations in one v4 call (a 207
// NO_ASSOCIATIONS_FOUND means no contacts): the roles of D deals cost ceil(D/1000) calls besides
// the walk, where one call per list page of 100 cost ten times as many. Given PullRequest.Deals
// (the deals the deal pull of the same run delivers; see connectors.DealFeed), it reads the roles
// of those instead and walks nothing: the live ones, grouped the same way, each page's position the
// deal page's (the archived pass ends it), so that a resumed pass walks on from there.
// Labels resolve through the labels endpoint, read once per pull; the labels in
// Options.PrimaryLabels set the Primary flag instead of a role. Page.Roles holds the complete role
// set of every deal walked. Owners (GET /crm/v3/owners/) are few and are read whole, then sorted.
//
// # Describe and Update
//
// Describe maps GET /crm/v3/properties/{type} onto connectors.FieldMeta: type and fieldType to a
// neutral type, enumeration option values (not labels), read-only values and calculated properties
// not updateable. Update sends batch/update in chunks of 100 and isolates the inputs a 400
// VALIDATION_ERROR is about (see Connector.Update).
//
// # Limits
//
// Incremental pulls do not see deletions (search skips archived records): only a full pull does.
// Association changes that do not bump the deal's stamp are only seen by a full deal_contact pull.
// HubSpot ids are decimal numbers, and they are ordered as numbers everywhere: by search's
// hs_object_id sort and by connectors.CompareIDs, which Cursor.After uses, so a cursor at one
// stamp orders records as the pages do.
package hubspot
