// Package connectors defines the CRM-neutral vocabulary of mapsync (records, deals, contacts,
// contact roles, owners, field metadata, cursors), the Connector interface that each CRM implements,
// and the HTTP plumbing the implementations share.
//
// # Vocabulary and contract
//
// Connector (connector.go) is the whole surface the pipelines see: Pull streams Pages of Records in
// (stamp, id) order with a Cursor per page, Describe returns FieldMeta, Update returns one Result
// per Change. Page documents what the store may rely on. Errors are *Error values with a Kind
// (transient, permanent, rate_limited, auth, needs_reauth); callers branch with KindOf,
// IsRetryable and RetryAfter and never parse messages.
//
// # Plumbing
//
//   - Client (client.go) sends one connection's requests through go-retryablehttp. Every attempt
//     waits on the connection's Governor, is bounded by RetryPolicy.AttemptTimeout (body included:
//     the body is read inside the attempt), and is counted in Metrics. CheckRetry retries 5xx,
//     timeouts, network errors and 429 for idempotent requests (or ones marked RetrySafe), with full
//     jitter or the CRM's Retry-After, up to MaxAttempts and MaxElapsed; a longer Retry-After, a
//     daily quota (Salesforce 403 REQUEST_LIMIT_EXCEEDED, HubSpot DAILY) or our own reserve comes
//     back to the caller at once. A 2xx reply is decoded inside the retry loop (Request.Decode,
//     DecodeJSON): one that is cut short, not JSON, or JSON of the wrong shape (Shaped) is retried
//     like a 5xx, with reason "malformed". Each retry is one zerolog warning with method, host, path (no
//     query), attempt, status and wait, never headers. A 401 refreshes the token once and replays
//     the request once. Redirects are never followed, and a request path cannot leave the base host.
//   - ClassifyResponse and ParseUsage (classify.go) hold the CRM dialects: error bodies, rate-limit
//     policies, Retry-After in both forms, Sforce-Limit-Info and X-HubSpot-RateLimit-* headers.
//   - TokenSource (oauth.go) loads tokens from a TokenStore, refreshes at most once at a time per
//     connection (a refresh asked for a token that is already replaced returns the new one, and the
//     store is re-read first so replicas share refreshes), saves refreshed tokens back, and turns
//     invalid_grant into a KindNeedsReauth error reported once through ReauthReporter; until the
//     store holds a different refresh token, calls fail fast without hitting the CRM. Token requests
//     are not retried: a rotated refresh token must not be spent twice. MarshalToken and
//     UnmarshalToken keep Extra fields such as Salesforce's instance_url, which oauth2.Token's own
//     JSON drops.
//   - CheckInstanceURL (instance.go) vets a Salesforce instance_url before any token goes to it.
//   - Governors (governor.go) hold one Governor per connection for the whole process: a token
//     bucket at the connection's rate, the rolling window the CRM's headers report (HubSpot's
//     ten-secondly limit: at most the window's maximum less a headroom of our requests in any
//     interval, counted from when each was let through; `mapsync bench ratelimit` measures it),
//     and a daily budget that fails fast with a
//     KindRateLimited error once only the configured reserve for the org's other integrations is
//     left, letting one probe through every Recheck to see whether the budget recovered.
//   - Metrics (metrics.go): mapsync_connector_requests_total{connection,crm,op,status},
//     mapsync_connector_request_duration_seconds{connection,crm,op},
//     mapsync_connector_retries_total{connection,crm,op,reason},
//     mapsync_connector_api_usage_ratio{connection,crm},
//     mapsync_connector_token_refreshes_total{connection,outcome},
//     mapsync_connector_governor_denied_total{connection,crm} and
//     mapsync_connector_errors_total{connection,crm,op,kind} (failures after retries, including
//     replies still malformed after them, and records that do not convert, counted by the
//     connectors through Client.CountError), on an injected
//     Registerer.
//
// # Wiring
//
// cmd builds one Metrics and one Governors per process, one TokenSource per OAuth connection (or a
// StaticToken), and passes them to each connector's New. Nothing here reads the environment or
// files, and nothing is global.
package connectors
