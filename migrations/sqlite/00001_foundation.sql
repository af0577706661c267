-- +goose Up
CREATE TABLE connections (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL CHECK (kind IN ('salesforce', 'hubspot')),
    -- active | needs_reauth | disabled
    status        TEXT NOT NULL DEFAULT 'active',
    status_reason TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

-- OAuth tokens, sealed with AES-256-GCM (nonce || ciphertext), bound to the connection name.
CREATE TABLE oauth_tokens (
    connection_id BIGINT PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    sealed        BLOB NOT NULL,
    expires_at    TIMESTAMP,
    updated_at    TIMESTAMP NOT NULL
);

CREATE TABLE crm_records (
    connection_id BIGINT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    object        TEXT NOT NULL,
    crm_id        TEXT NOT NULL,
    fields        TEXT NOT NULL,
    -- hex SHA-256 of the canonical fields JSON: re-reads compare it instead of the JSON
    fields_hash   TEXT NOT NULL DEFAULT '',
    -- the CRM's modification stamp (SystemModstamp, hs_lastmodifieddate)
    modified_at   TIMESTAMP NOT NULL,
    deleted       BOOLEAN NOT NULL DEFAULT 0,
    synced_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (connection_id, object, crm_id)
);
-- catch-up of plan instantiation (DealsSyncedAfter) and reconcile (MarkUnseenDeleted) walk synced_at
CREATE INDEX crm_records_synced ON crm_records (connection_id, object, synced_at, crm_id);

CREATE TABLE deal_contacts (
    connection_id BIGINT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    deal_id       TEXT NOT NULL,
    contact_id    TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT '',
    is_primary    BOOLEAN NOT NULL DEFAULT 0,
    -- when a pull last delivered this deal's role set (full reconciles drop what they did not see)
    synced_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (connection_id, deal_id, contact_id, role)
);
CREATE INDEX deal_contacts_contact ON deal_contacts (connection_id, contact_id);

CREATE TABLE sync_cursors (
    connection_id BIGINT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    object        TEXT NOT NULL,
    cursor        TEXT NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (connection_id, object)
);

CREATE TABLE sync_runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id BIGINT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    -- incremental | full
    mode          TEXT NOT NULL,
    -- schedule | manual | webhook
    trigger       TEXT NOT NULL,
    -- running | succeeded | failed
    status        TEXT NOT NULL,
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP,
    -- per-object counts, API calls, retries (JSON)
    stats         TEXT NOT NULL DEFAULT '{}',
    error         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sync_runs_connection ON sync_runs (connection_id, started_at);

-- +goose Down
DROP TABLE sync_runs;
DROP TABLE sync_cursors;
DROP TABLE deal_contacts;
DROP TABLE crm_records;
DROP TABLE oauth_tokens;
DROP TABLE connections;
