-- +goose Up
-- Buyer invitation links (store/invitations.go). An invitation lets one buyer-side member of one
-- plan into that plan's room (web/invite*.go): the link carries a random token, of which only
-- the SHA-256 is kept (token_hash), so the database never holds a usable link. Joining makes a
-- web session of kind invitation (web_sessions.ref is the invitation's id), valid only while
-- the invitation is. An invitation expires (expires_at), can be revoked (revoked_at), and
-- counts its uses (each join: use_count, last_used_at). email, name and role are the member's
-- at invitation time, for the list a seller reads; member_id is who the buyer acts as. created_by is the plans.Actor who invited, as JSON.
CREATE TABLE plan_invitations (
    id           TEXT PRIMARY KEY,
    plan_id      TEXT NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    member_id    TEXT NOT NULL,
    email        TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    role         TEXT NOT NULL,
    token_hash   BYTEA NOT NULL UNIQUE,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    use_count    INTEGER NOT NULL DEFAULT 0,
    last_used_at TIMESTAMPTZ
);
CREATE INDEX plan_invitations_plan ON plan_invitations (plan_id, created_at, id);

-- +goose Down
DROP TABLE plan_invitations;
