-- +goose Up
-- The field metadata of a connection's objects as the CRM last described them (Salesforce
-- describe, HubSpot properties), kept so that mapping checks and pushes do not ask the CRM
-- every time. Callers refresh a row older than their TTL.
CREATE TABLE field_meta (
    connection_id BIGINT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    -- deal, contact, ... (connectors.Object)
    object        TEXT NOT NULL,
    -- JSON array of connectors.FieldMeta, in the CRM's order
    fields        TEXT NOT NULL,
    fetched_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (connection_id, object)
);

-- +goose Down
DROP TABLE field_meta;
