// Package salesforce is an in-process Salesforce REST API simulator that unmodified clients
// (jsforce 3.x, simple-salesforce, our connector) can talk to: OAuth, SOQL query and queryAll with
// locators, describe, sObject CRUD and collections, the replication endpoints, API limits, faults
// and outbound messages, all on the real wire formats of shared/CRM-API.md Part A.
//
// A *Sandbox is an http.Handler. One address serves the login host (/services/oauth2/token), the
// instance (/services/data/vNN.N/...; any version, "latest" too) and the control API
// (/__sandbox/...). The token reply's instance_url is the scheme and host of the token request,
// so the sandbox works on any address without configuration.
//
// # Data
//
// New generates Options.Deals opportunities with sandbox/fakedata (deterministic per Seed) and
// maps them to Users (005), Accounts (001), Contacts (003), Opportunities (006) and
// OpportunityContactRoles (00K) with 18-character ids whose checksum is the real one. Stamps
// come from the generator; every later write sets LastModifiedDate and SystemModstamp to the
// clock (Options.Now), strictly later than the record's previous stamp; all records of one
// collection request share one stamp, as one transaction does. Changing StageName derives
// Probability, IsClosed, IsWon and ForecastCategoryName; a contact's Name follows First and
// LastName; one contact role per opportunity is primary. Deletes go to the recycle bin: visible to
// queryAll (IsDeleted = true) and deleted/, and an opportunity takes its contact roles along.
// Contacts belong to the owner of the deal they were generated for. Opportunity carries
// TotalOpportunityQuantity (double 18,2), set on the deals fakedata gives a quantity.
// Options.CustomFields declares custom fields; nil means DefaultCustomFields (MAP_Progress__c,
// MAP_Status__c, MAP_Next_Step__c, MAP_Plan_URL__c, MAP_Security_Review_Date__c on Opportunity).
//
// # SOQL
//
// The parser (soql.go) accepts SELECT of fields or COUNT(), FROM one object, WHERE with
// AND / OR (parenthesised to mix, as SOQL demands), NOT, = != <> < <= > >=, [NOT] IN, LIKE,
// string, number, date, datetime (with or without milliseconds, Z or offsets), true, false and
// null literals, ORDER BY several fields with ASC / DESC / NULLS FIRST / LAST, LIMIT and OFFSET.
// Text compares case-insensitively, ids by their 18-character form (15-character literals work).
// Anything else (relationship fields, subqueries, functions, date keywords such as TODAY, bind
// variables, GROUP BY, ...) is 400 MALFORMED_QUERY saying what is unsupported; unknown fields are
// INVALID_FIELD and unknown objects INVALID_TYPE. The sandbox never answers a query it does not
// understand.
//
// Pages hold 2000 records, or Sforce-Query-Options: batchSize=N (200..2000). A query ordered by
// nothing, Id, or SystemModstamp [, Id] walks an index and its cursor stores only where each page
// ended, so paging any number of records costs each page only its own rows and memory stays
// flat; a lower bound on SystemModstamp seeks straight to it, and Id or OpportunityId equality
// or IN looks records up directly. Other orders sort the matching record pointers once per query
// (filtering the object's records sorted once per ORDER BY, sorted again only after a write).
// Every record is rendered to JSON once, when loaded and after each write; a page concatenates
// those renderings, so serving a record costs little more than copying it.
// Locators (01g...-N) work under any version and under /query/ or /queryAll/, may be fetched again
// (a retried page), and expire after 15 idle minutes.
//
// # Limits
//
// Every API response carries Sforce-Limit-Info: api-usage=N/M. M is Options.DailyLimit
// (DefaultDailyLimit, 100,000, when 0); the count resets at midnight UTC on the sandbox clock.
// Past the limit requests get 403 REQUEST_LIMIT_EXCEEDED. OAuth and the versions root are not
// counted. Responses of injected faults carry the header too (with the usage of the moment; the
// fault itself is not counted).
//
// # Control API and faults
//
// /__sandbox/ serves JSON (see controlHandler for the routes), and every operation has a Go twin
// on *Sandbox: Counters / Requests / ResetCounters (requests per endpoint name, method and
// status; control requests are not counted), SetLatency, InjectFault (bursts of 5xx, 403 or 429
// REQUEST_LIMIT_EXCEEDED, slow responses; optionally for one endpoint), ExpireTokens,
// RevokeRefreshToken, FailNextWrite, AddValidationRule / ClearValidationRules (active validation
// rules: a write leaving a field at a value fails with FIELD_CUSTOM_VALIDATION_EXCEPTION and the
// rule's message, per record in collections), CreateRecord / UpdateRecord / DeleteRecord (changes made as a
// person would, firing outbound messages), MassUpdate (many records, 10,000 and more, with one
// identical SystemModstamp; records beyond the live ones are imported with that stamp, so any
// count works on a small sandbox) and CommitLag / ReleaseLagged (a change that becomes visible after
// readers have moved past its stamp).
//
// Endpoint names in the counters: oauth.token, oauth.revoke, versions, resources, limits,
// sobjects, sobject.info, describe, query, queryAll, query.more, record.get, record.create,
// record.update, record.delete, composite.update, composite.create, composite.delete,
// composite.retrieve, updated, deleted, not_found, method_not_allowed.
//
// # Outbound messages
//
// ConfigureOutbound (or POST /__sandbox/outbound) watches an object with a rule (stage_changed,
// field_changed, created, any_change) and POSTs the SOAP notifications envelope of CRM-API.md A10
// to a listener, up to 100 notifications a message with the record's data as of sending,
// retrying with doubling pauses until <Ack>true</Ack>. Close stops delivery and waits for it.
//
// # Limits of the simulation
//
// Only the five objects above exist; there are no record types, sharing rules, triggers or
// validation rules beyond the field checks (type, length, restricted picklist, required,
// createable / updateable, references, numeric range). Cursors page by key, so a record changed
// between two pages of an index-ordered query can move within the result, which a real cursor's
// snapshot would not do.
package salesforce
