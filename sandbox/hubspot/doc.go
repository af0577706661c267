// Package hubspot is an in-process HubSpot CRM simulator that unmodified clients (including
// @hubspot/api-client 14.x, see testdata/sdk) talk to over HTTP: private-app and OAuth auth,
// CRM objects, search, batch, properties, associations v4, owners, rate limits, faults and
// signed webhooks, on the wire formats of shared/CRM-API.md Part B. A *Sandbox is an
// http.Handler; tests serve it with httptest.NewServer, the `mapsync sandbox` command with
// net/http.
//
// # Data
//
// New fills the sandbox from sandbox/fakedata: owners (ids from 70000001, userIds from
// 9000001), contacts (ids from 20000000001) and deals (ids from 10000000001) with
// pipelines "default" and "renewals". "default" is a fresh portal's Sales Pipeline, with
// HubSpot's internal stage ids, labels, order, probabilities and closed flags (appointmentscheduled
// 20%, qualifiedtobuy 40%, presentationscheduled 60%, decisionmakerboughtin 80%, contractsent 90%,
// closedwon 100% and closedlost 0%, both closed); fakedata's stages map onto it. "renewals"
// (Renewals) holds fakedata's renewal stages, ids slugified from the names ("renewaldue",
// "renewalnegotiation", "renewed", "churned"; a real portal would give them numeric ids).
// Each deal's contacts are associated with HUBSPOT_DEFINED type 3 (contact to deal: 4) plus a
// USER_DEFINED label per role (fakedata.ContactRoles, type ids 28, 30, ... with inverses 29,
// 31, ...); the primary contact also carries the label PrimaryContactLabel (type 44), since
// HubSpot has no built-in primary deal-to-contact type. Deals and contacts carry
// hubspot_owner_id (a contact is owned by the owner of the deal it was generated for).
// Options.CustomProperties adds properties; DefaultCustomProperties gives the map_* deal
// properties mappings write to.
// Every write sets hs_lastmodifieddate (deals) or lastmodifieddate (contacts) and updatedAt to
// the clock's now, at millisecond precision.
//
// # Routes
//
//	GET/POST          /crm/v3/objects/{deals|0-3|contacts|0-1}
//	GET/PATCH/DELETE  /crm/v3/objects/{type}/{id}
//	POST              /crm/v3/objects/{type}/search            (own limit, no rate-limit headers)
//	POST              /crm/v3/objects/{type}/batch/{read|update|create|archive}
//	GET               /crm/v3/properties/{type}[/{name}]
//	GET               /crm/v3/pipelines/deals
//	GET               /crm/v3/owners, /crm/v3/owners/, /crm/v3/owners/{id}
//	GET               /crm/v4/objects/{from}/{id}/associations/{to}
//	PUT               /crm/v4/objects/{from}/{id}/associations/default/{to}/{toId}   (200)
//	PUT               /crm/v4/objects/{from}/{id}/associations/{to}/{toId}           (201)
//	POST              /crm/v4/associations/{from}/{to}/batch/read
//	GET               /crm/v4/associations/{from}/{to}/labels, /crm/associations/v4/{from}/{to}/labels
//	POST              /oauth/v1/token; GET /oauth/v1/access-tokens/{token}
//
// Lists page in id order with after = the next id; the last page has no paging. Search pages
// by offset, caps results at 10,000 (after >= 10000 is a 400 VALIDATION_ERROR, while paging
// still offers after=10000 when total is larger, as HubSpot does) and sorts with the id as
// tie-breaker. Writes validate every value (enumeration options, numbers, booleans, dates at
// midnight UTC, read-only and unknown properties) and, on deals, that dealstage is a stage of
// the deal's pipeline after the write (a pipeline change in the same write included): HubSpot
// stages belong to one pipeline. Batch writes validate every input first and fail the whole
// batch with 400 VALIDATION_ERROR when any value is invalid; whether HubSpot fails the whole
// batch or only the bad input is not confirmed (CRM-API.md B4 says to assume the whole batch),
// and the sandbox deliberately follows that assumption. Unknown ids give 207 with
// OBJECT_NOT_FOUND; the per-input errors of a 207 carry no correlationId, as in HubSpot's
// examples.
//
// Every record's JSON is rendered once, at seeding and after each write, and a list or batch
// page copies spans of it (one per run of consecutive properties asked for); v4 association
// batch reads are rendered by hand from pre-rendered association types. Serving a record thus
// costs little more than copying it, so that a benchmark of a pull measures the puller rather
// than the simulator.
//
// # Control API
//
// Under /__sandbox/ (JSON, no auth, no limits, no faults, not counted), each mirrored by a
// method for tests in other packages:
//
//	GET    /__sandbox/                         credentials, record counts, daily usage
//	GET    /__sandbox/counters                 Counts, Requests; DELETE resets (ResetCounters)
//	PUT    /__sandbox/latency {"latency":"50ms"}                        SetLatency
//	POST   /__sandbox/faults {"kind":...}      server_errors {count,status} (InjectServerErrors),
//	                                           rate_limits {count} (InjectRateLimits),
//	                                           slow {count,delay} (InjectSlow), expire_tokens
//	                                           (ExpireTokens), revoke_refresh_token
//	                                           (RevokeRefreshToken), fail_write {objectType,id}
//	                                           (FailNextWrite; 404 for an id that names no live
//	                                           record); DELETE clears all (ClearFaults)
//	GET    /__sandbox/limits                   Limits
//	POST   /__sandbox/limits {"burstLimit","dailyLimit","searchPerSecond","dailyUsed"}
//	                                           SetLimits (omitted: unchanged; 0: default;
//	                                           negative: none), SetDailyUsage
//	POST   /__sandbox/objects/{type}, /__sandbox/deals                  CreateObject, CreateDeal
//	PATCH  /__sandbox/objects/{type}/{id}, /__sandbox/deals/{id}        UpdateObject, UpdateDeal
//	DELETE /__sandbox/objects/{type}/{id}, /__sandbox/deals/{id}        ArchiveObject
//	POST   /__sandbox/traps/same-stamp {"objectType","count","properties"}        SameStamp
//	POST   /__sandbox/traps/late-record {"objectType","id"?,"properties","lag","visibleAfter"}
//	                                           LateRecord (a new record stays hidden, an existing
//	                                           one keeps its previous version until released);
//	                                           .../late-record/{type}/{id}/release
//	PUT    /__sandbox/webhooks {WebhookConfig}; GET stats; DELETE turns delivery off
//
// Changes made through the control API fire webhooks with changeSource CRM_UI; API writes fire
// them with INTEGRATION, as HubSpot reports an app's own writes back to it.
//
// # Webhooks
//
// With a target URL and subscriptions, creations, property changes (one event per changed
// subscribed property) and deletions of deals and contacts are POSTed as JSON arrays of at
// most 100 events, signed with X-HubSpot-Signature-v3 (and v1) under ClientSecret with an
// epoch-ms X-HubSpot-Request-Timestamp. A request that fails, answers non-2xx or exceeds the
// timeout is retried with exponential backoff (configurable, real clock). Duplicates and
// OutOfOrder reproduce HubSpot's at-least-once, unordered delivery. Close stops delivery.
//
// # Limits and choices not confirmed by CRM-API.md
//
// The rolling 10 s burst window, the daily count (reset at midnight UTC) and the search
// per-second window run on Options.Now, so tests can move time. Injected 5xx and 429 answers
// of non-search routes carry the X-HubSpot-RateLimit-* headers of the moment (Remaining 0 on an
// injected ten-secondly 429) without being counted. The message of a dealstage outside the
// deal's pipeline is the sandbox's wording (error INVALID_OPTION on dealstage). The 400 body for search past
// 10,000, the category of NO_ASSOCIATIONS_FOUND errors (OBJECT_NOT_FOUND here), the message
// texts of validation errors, and list limits above 100 being a 400 are the sandbox's guesses.
// Text values longer than MaxValueLength (65,536 characters, HubSpot's documented limit) are
// refused with error INVALID_LENGTH: the limit is HubSpot's, the code name the sandbox's.
// Date-typed properties are returned as ISO midnight ("2027-01-31T00:00:00Z"); closedate is a
// datetime, as in HubSpot. Associations changes do not bump the deal's stamp.
package hubspot
