// Package salesforce implements connectors.Connector for Salesforce over its REST API.
//
// # Objects
//
//	deal         Opportunity             queryAll (deletes show as IsDeleted)
//	contact      Contact                 queryAll
//	deal_contact OpportunityContactRole  queryAll, plus each page's deals' complete role sets
//	                                     (incremental: one extra query per 200 deals; Full: read
//	                                     in deal order, so no extra queries)
//	owner        User                    query (users are deactivated, never deleted)
//
// Each object has a fixed field list (see objects.go) to which PullRequest.Fields adds configured
// ones, custom fields included; names are validated, never escaped into SOQL.
//
// # Incremental pulls
//
// Records are read in (SystemModstamp, Id) order. With an overlap window the query starts at
// Since.Stamp minus the overlap, so writes that committed late are caught; the (id, stamp) pairs
// delivered within the window travel in Cursor.Extra["seen"] (up to 2,000; a larger window, such as
// a mass update, is simply delivered again), so an unchanged window is re-read but not re-delivered:
// the dedupe by (id, stamp) against the cursor. Without an overlap the query starts
// strictly after the cursor with the keyset "(SystemModstamp = X AND Id > 'id') OR SystemModstamp
// > X". Pages follow nextRecordsUrl with Sforce-Query-Options batchSize; Options.QueryLimit switches
// to LIMIT queries chained by the same keyset (no long-lived query locators), and a lost locator
// (INVALID_QUERY_LOCATOR) resumes with the keyset too. Within one pull a (id, stamp) pair is never
// delivered twice. Timestamps are sent with milliseconds when they have some, so keyset comparisons
// are exact.
//
// # Deletes and reconcile
//
// queryAll reports records in the recycle bin with IsDeleted; Record.Deleted carries it. Records
// purged from the recycle bin (after about 15 days, or emptied by hand) are not reported: a Full
// pull delivers every record the CRM still has, and the caller marks the ones it did not see. A
// contact role added or removed without touching the deal's stamp is caught the same way: a
// deal_contact page always carries its deals' complete current roles.
//
// A Full pull can be resumed after any of its pages: the page's Cursor.Extra holds its last
// (SystemModstamp, Id) (full_stamp, full_id; for contact roles its last deal, full_deal), and a
// Full pull given that Extra in Since continues with the keyset after it ("OpportunityId > X" for
// roles, so a resumed page never splits a deal's role set). Stamps only grow, so a record changed
// after it was read moves past the position and is read again; nothing before it is read twice.
//
// # Limits of this implementation
//
//   - A query locator is a snapshot: a record changed or deleted during a pull that already passed
//     it shows up in the next incremental pull (or in the same one, with QueryLimit).
//   - The keyset assumes the CRM orders Id the way it compares Id with '>' (true for Salesforce's
//     18-character ids and the sandbox); duplicates at a resume point are dropped in any case.
//   - The deleted/ replication endpoint is not used: queryAll gives the same information with the
//     record's fields, in the same pass.
//   - Update sends PATCH composite/sobjects, 200 records per request, allOrNone=false, and retries a
//     lost request (updates set absolute values, so a repeat is harmless).
//
// # Authentication
//
// Every call goes to the token's instance_url, vetted by connectors.CheckInstanceURL with
// Options.Instance before the token is attached: without configured hosts only hosts that serve
// the REST API pass (*.my.salesforce.com and its partitioned forms such as
// *.sandbox.my.salesforce.com, and instance hosts such as na123.salesforce.com), never the
// Lightning, Visualforce, file or public site hosts (*.force.com, *.my.site.com,
// *.salesforce-sites.com). Tokens carry no expiry: a 401 INVALID_SESSION_ID
// triggers one refresh and one replay (connectors.Client); invalid_grant marks the connection
// needs_reauth through the token source.
package salesforce
