-- +goose Up
-- Buyer invitation links (store/invitations.go). An invitation lets one buyer-side member of one
-- plan into that plan's room: the link carries a random token, of which only the SHA-256 is kept
-- (token_hash), so the database never holds a usable link. It expires (expires_at), can be
-- revoked (revoked_at), and counts its uses (each join: use_count, last_used_at). email, name and
-- role are the member's at invitation time, for the list a seller reads; member_id is who the
-- buyer acts as. created_by is the plans.Actor who invited, as JSON.
CREATE TABLE plan_invitations (
    id           TEXT PRIMARY KEY,
    plan_id      TEXT NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    member_id    TEXT NOT NULL,
    email        TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    role         TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    revoked_at   TIMESTAMP,
    use_count    INTEGER NOT NULL DEFAULT 0,
    last_used_at TIMESTAMP
);
CREATE INDEX plan_invitations_plan ON plan_invitations (plan_id, created_at, id);

-- A buyer's session, made when they join through an invitation: the cookie holds a random
-- token, the row its SHA-256. It lasts until expires_at (never past its invitation's expiry) and
-- ends with its invitation (revoked, or deleted with the plan).
CREATE TABLE buyer_sessions (
    token_hash    BLOB PRIMARY KEY,
    invitation_id TEXT NOT NULL REFERENCES plan_invitations (id) ON DELETE CASCADE,
    created_at    TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL
);
CREATE INDEX buyer_sessions_invitation ON buyer_sessions (invitation_id);

-- +goose Down
DROP TABLE buyer_sessions;
DROP TABLE plan_invitations;
