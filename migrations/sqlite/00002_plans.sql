-- +goose Up
-- Templates, versioned by key: importing a changed template adds the next version; a plan keeps
-- the version it was made from. body is the whole template as JSON (plans.Template).
CREATE TABLE templates (
    key        TEXT NOT NULL,
    version    INTEGER NOT NULL CHECK (version > 0),
    name       TEXT NOT NULL,
    -- plans.Template.Hash: hex SHA-256 of the content, to tell a changed import from a re-import
    hash       TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (key, version)
);

-- One row per plan, holding the whole plan document (phases, actions, sub-tasks, members,
-- comments, attachments) as JSON in body, next to indexed columns for filters and the
-- uniqueness rule. Why a document rather than a table per child: loading a plan with its 40
-- actions is one primary-key read instead of a join or one query per table; the domain
-- (plans.Plan) changes a plan whole and in memory, and a write is a compare-and-swap on version,
-- so child tables would only be deleted and re-inserted; every filter the API offers (connection,
-- deal, status, owner) is a column here. The columns are derived from body on every write.
CREATE TABLE plans (
    id               TEXT PRIMARY KEY,
    -- the connection's name (plans name connections by name; no foreign key, so a renamed or
    -- removed connection leaves its plans readable)
    connection       TEXT NOT NULL,
    deal_id          TEXT NOT NULL,
    template_key     TEXT NOT NULL,
    template_version INTEGER NOT NULL,
    -- active | closed | cancelled
    status           TEXT NOT NULL,
    name             TEXT NOT NULL,
    -- the deal-owner member's CRM id and lowercased email ('' when none), for the owner filter
    owner_crm_id     TEXT NOT NULL DEFAULT '',
    owner_email      TEXT NOT NULL DEFAULT '',
    -- TEXT, not JSONB: the store never looks inside the document (filters use the columns
    -- here), and jsonb's parse on every write and re-serialisation on every read cost more
    -- than the rest of a plan's insert. Ad-hoc queries can cast body::jsonb.
    body             TEXT NOT NULL,
    -- plans.Plan.Version, for the compare-and-swap in UpdatePlan
    version          INTEGER NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    -- exactly one plan per (connection, deal, template), decided by the database so that two
    -- replicas (or a webhook and a schedule) racing to create it cannot both win
    CONSTRAINT plans_deal_template UNIQUE (connection, deal_id, template_key)
);
CREATE INDEX plans_status ON plans (status, id);
CREATE INDEX plans_owner_crm_id ON plans (owner_crm_id) WHERE owner_crm_id <> '';
CREATE INDEX plans_owner_email ON plans (owner_email) WHERE owner_email <> '';

-- Every change to a plan, append-only, in the transaction of the change. seq orders them; body is
-- the whole plans.Event as JSON, the other columns are copies for filtering.
CREATE TABLE plan_events (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id   TEXT NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    id        TEXT NOT NULL,
    action_id TEXT NOT NULL DEFAULT '',
    type      TEXT NOT NULL,
    -- info | warning
    level     TEXT NOT NULL,
    actor     TEXT NOT NULL,
    at        TIMESTAMP NOT NULL,
    internal  BOOLEAN NOT NULL DEFAULT 0,
    -- TEXT for the reason given at plans.body
    body      TEXT NOT NULL,
    CONSTRAINT plan_events_id UNIQUE (plan_id, id)
);
CREATE INDEX plan_events_plan ON plan_events (plan_id, seq);

-- The CRM projection outbox: a row says the plan's CRM projection must be recomputed for
-- plan_version. Every plan write upserts it in the same transaction; the push pipeline claims
-- rows (claimed_by / claimed_until, a lease) and deletes a row once it pushed that version or a
-- later one, so a change made during a push leaves the row for the next round.
CREATE TABLE plan_marks (
    plan_id       TEXT PRIMARY KEY REFERENCES plans (id) ON DELETE CASCADE,
    connection    TEXT NOT NULL,
    deal_id       TEXT NOT NULL,
    plan_version  INTEGER NOT NULL,
    marked_at     TIMESTAMP NOT NULL,
    claimed_by    TEXT NOT NULL DEFAULT '',
    claimed_until TIMESTAMP
);
CREATE INDEX plan_marks_marked ON plan_marks (marked_at);

-- Bearer tokens of the plan API. Only the SHA-256 of a token is kept. A name is unique among
-- tokens not revoked; revoked tokens stay for the record.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    hash         BLOB NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP
);
CREATE UNIQUE INDEX api_tokens_name ON api_tokens (name) WHERE revoked_at IS NULL;

-- +goose Down
DROP TABLE api_tokens;
DROP TABLE plan_marks;
DROP TABLE plan_events;
DROP TABLE plans;
DROP TABLE templates;
