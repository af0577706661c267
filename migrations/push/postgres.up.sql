-- Push state: per CRM record, the values mapsync last wrote there and when. A push diffs the
-- mapping's desired values against these (and against the pulled record), and a pulled value
-- equal to the one we pushed is recognised as our own write coming back.
CREATE TABLE push_state (
    connection  TEXT NOT NULL,
    object      TEXT NOT NULL,
    crm_id      TEXT NOT NULL,
    -- field -> value last written (CRM form: null, string, number, boolean), JSON object
    pushed      TEXT NOT NULL DEFAULT '{}',
    pushed_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (connection, object, crm_id)
);

-- Push log: every push outcome per record (values sent, outcome, the CRM's code and message),
-- kept for push.log_retention and deleted by the push cleaner.
CREATE TABLE push_log (
    id          BIGSERIAL PRIMARY KEY,
    connection  TEXT NOT NULL,
    object      TEXT NOT NULL,
    crm_id      TEXT NOT NULL,
    -- written | unchanged | skipped | invalid | failed | dead_letter
    outcome     TEXT NOT NULL,
    -- field -> value sent (written, failed) or desired (others), JSON object
    fields      TEXT NOT NULL DEFAULT '{}',
    code        TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL DEFAULT '',
    job_id      BIGINT NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX push_log_record ON push_log (connection, crm_id, created_at);
CREATE INDEX push_log_created ON push_log (created_at);

-- Dead letters: records the CRM refused for good (validation rule, picklist, length, deleted
-- record, access). One row per record, kept until a later push of the record succeeds or an
-- admin retries it; never retried in a loop.
CREATE TABLE push_dead_letters (
    connection  TEXT NOT NULL,
    object      TEXT NOT NULL,
    crm_id      TEXT NOT NULL,
    fields      TEXT NOT NULL DEFAULT '{}',
    code        TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL DEFAULT '',
    field       TEXT NOT NULL DEFAULT '',
    failures    INTEGER NOT NULL DEFAULT 1,
    first_at    TIMESTAMPTZ NOT NULL,
    last_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (connection, object, crm_id)
);
