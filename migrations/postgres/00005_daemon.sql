-- +goose Up
-- The per-connection run lock: a lease row, held by one run at a time across every process on the
-- database. A holder renews expires_at while it runs; a holder that died (kill -9, lost database)
-- stops renewing, and once the lease expires the next run takes it over.
CREATE TABLE run_locks (
    connection_id BIGINT PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    -- who holds it: "<host>:<pid>:<random>", unique per acquisition
    holder        TEXT NOT NULL,
    -- what for: e.g. "sync run (manual, incremental)"
    purpose       TEXT NOT NULL DEFAULT '',
    acquired_at   TIMESTAMPTZ NOT NULL,
    -- unix milliseconds (an integer on both databases, so comparisons are exact)
    expires_at    BIGINT NOT NULL
);

-- Webhook events as received, stored before they are acknowledged. (connection, source,
-- event_key) is unique, so a redelivered event is recognised and changes nothing.
CREATE TABLE webhook_events (
    id            BIGSERIAL PRIMARY KEY,
    connection_id BIGINT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    -- hubspot | salesforce | generic
    source        TEXT NOT NULL,
    -- HubSpot eventId, Salesforce notification Id, Standard Webhooks webhook-id
    event_key     TEXT NOT NULL,
    -- e.g. deal.creation, deal.propertyChange, deal.deletion, contact.propertyChange, deal.merge,
    -- Opportunity (Salesforce: the sObject type), deal (generic)
    event_type    TEXT NOT NULL,
    -- the CRM object and id the event is about (deal or contact)
    object        TEXT NOT NULL,
    crm_id        TEXT NOT NULL,
    occurred_at   TIMESTAMPTZ,
    received_at   TIMESTAMPTZ NOT NULL,
    -- the event as received (one array element, one Notification, the generic body), for audit
    payload       TEXT NOT NULL,
    -- pending | done | dead
    status        TEXT NOT NULL DEFAULT 'pending',
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT NOT NULL DEFAULT '',
    processed_at  TIMESTAMPTZ,
    UNIQUE (connection_id, source, event_key)
);
CREATE INDEX webhook_events_status ON webhook_events (status, id);

-- +goose Down
DROP TABLE webhook_events;
DROP TABLE run_locks;
