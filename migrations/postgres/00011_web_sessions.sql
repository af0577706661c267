-- +goose Up
-- Sessions of the web console (web/): a browser signed in by exchanging an API token, or (room
-- pages) by an invitation link. Only the SHA-256 of the session id, the cookie's value, is kept.
-- A session made from an API token ends with it: revoking the token ends its sessions.
CREATE TABLE web_sessions (
    id_hash     BYTEA PRIMARY KEY,
    -- the API token signed in with; NULL for sessions that are not a token's
    token_id    BIGINT REFERENCES api_tokens (id) ON DELETE CASCADE,
    -- who the session acts as (plans.Actor): id, name, side (seller | buyer)
    actor_id    TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    side        TEXT NOT NULL,
    -- when not '': the one plan the session may open (a buyer's invitation)
    plan_id     TEXT NOT NULL DEFAULT '',
    -- what made the session: token | invitation (with its id in ref)
    kind        TEXT NOT NULL,
    ref         TEXT NOT NULL DEFAULT '',
    -- unix milliseconds (an integer on both databases, so comparisons are exact)
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);
CREATE INDEX web_sessions_token ON web_sessions (token_id);

-- +goose Down
DROP TABLE web_sessions;
