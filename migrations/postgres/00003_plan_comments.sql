-- +goose Up
-- Comments on actions leave the plan document: a conversation grows without bound, and a plan is
-- read and written whole on every change, so comments kept inside it made every read and write
-- slower with each comment. Each comment is now an append-only row here, written in the
-- transaction of the plan change that records it (UpdatePlan's compare-and-swap) and read page
-- by page; the plan document keeps only what plans.Max* caps. body is the whole plans.Comment as
-- JSON (like plan_events.body); the other columns are copies for filtering and ordering.
CREATE TABLE plan_comments (
    seq        BIGSERIAL PRIMARY KEY,
    plan_id    TEXT NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    action_id  TEXT NOT NULL,
    id         TEXT NOT NULL,
    internal   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    body       TEXT NOT NULL,
    CONSTRAINT plan_comments_id UNIQUE (plan_id, id)
);
CREATE INDEX plan_comments_action ON plan_comments (plan_id, action_id, seq);
CREATE INDEX plan_comments_plan ON plan_comments (plan_id, seq);

-- Move the comments plans hold into rows, oldest first within each plan (then in document
-- order), then strip them from the documents.
INSERT INTO plan_comments (plan_id, action_id, id, internal, created_at, body)
SELECT p.id, a.value->>'id', c.value->>'id', COALESCE((c.value->>'internal')::boolean, FALSE),
       (c.value->>'created_at')::timestamptz,
       (c.value || jsonb_build_object('plan_id', p.id, 'action_id', a.value->>'id'))::text
FROM plans p
CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(p.body::jsonb->'phases') = 'array' THEN p.body::jsonb->'phases' ELSE '[]'::jsonb END) WITH ORDINALITY AS ph(value, n)
CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(ph.value->'actions') = 'array' THEN ph.value->'actions' ELSE '[]'::jsonb END) WITH ORDINALITY AS a(value, n)
CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(a.value->'comments') = 'array' THEN a.value->'comments' ELSE '[]'::jsonb END) WITH ORDINALITY AS c(value, n)
WHERE p.body LIKE '%"comments"%'
ORDER BY p.id, (c.value->>'created_at')::timestamptz, ph.n, a.n, c.n;

UPDATE plans SET body = (
    SELECT jsonb_set(doc.b, '{phases}', (
        SELECT COALESCE(jsonb_agg(
            CASE WHEN jsonb_typeof(ph.value->'actions') = 'array' THEN
                jsonb_set(ph.value, '{actions}', (
                    SELECT COALESCE(jsonb_agg(a.value - 'comments' ORDER BY a.n), '[]'::jsonb)
                    FROM jsonb_array_elements(ph.value->'actions') WITH ORDINALITY AS a(value, n)))
            ELSE ph.value END ORDER BY ph.n), '[]'::jsonb)
        FROM jsonb_array_elements(doc.b->'phases') WITH ORDINALITY AS ph(value, n)))::text
    FROM (SELECT plans.body::jsonb AS b) AS doc)
WHERE body LIKE '%"comments"%' AND jsonb_typeof(body::jsonb->'phases') = 'array';

-- +goose Down
-- Put the comments back into the plan documents, in order, then drop the rows.
UPDATE plans SET body = (
    SELECT jsonb_set(doc.b, '{phases}', (
        SELECT COALESCE(jsonb_agg(
            CASE WHEN jsonb_typeof(ph.value->'actions') = 'array' THEN
                jsonb_set(ph.value, '{actions}', (
                    SELECT COALESCE(jsonb_agg(
                        CASE WHEN EXISTS (SELECT 1 FROM plan_comments pc WHERE pc.plan_id = plans.id AND pc.action_id = a.value->>'id') THEN
                            a.value || jsonb_build_object('comments', (
                                SELECT jsonb_agg(pc.body::jsonb - 'plan_id' - 'action_id' ORDER BY pc.seq)
                                FROM plan_comments pc WHERE pc.plan_id = plans.id AND pc.action_id = a.value->>'id'))
                        ELSE a.value END ORDER BY a.n), '[]'::jsonb)
                    FROM jsonb_array_elements(ph.value->'actions') WITH ORDINALITY AS a(value, n)))
            ELSE ph.value END ORDER BY ph.n), '[]'::jsonb)
        FROM jsonb_array_elements(doc.b->'phases') WITH ORDINALITY AS ph(value, n)))::text
    FROM (SELECT plans.body::jsonb AS b) AS doc)
WHERE id IN (SELECT plan_id FROM plan_comments) AND jsonb_typeof(body::jsonb->'phases') = 'array';
DROP TABLE plan_comments;
