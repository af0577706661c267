-- +goose Up
-- Comments on actions leave the plan document: a conversation grows without bound, and a plan is
-- read and written whole on every change, so comments kept inside it made every read and write
-- slower with each comment. Each comment is now an append-only row here, written in the
-- transaction of the plan change that records it (UpdatePlan's compare-and-swap) and read page
-- by page; the plan document keeps only what plans.Max* caps. body is the whole plans.Comment as
-- JSON (like plan_events.body); the other columns are copies for filtering and ordering.
CREATE TABLE plan_comments (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id    TEXT NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    action_id  TEXT NOT NULL,
    id         TEXT NOT NULL,
    internal   BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    body       TEXT NOT NULL,
    CONSTRAINT plan_comments_id UNIQUE (plan_id, id)
);
CREATE INDEX plan_comments_action ON plan_comments (plan_id, action_id, seq);
CREATE INDEX plan_comments_plan ON plan_comments (plan_id, seq);

-- Move the comments plans hold into rows, oldest first within each plan (then in document
-- order), then strip them from the documents.
INSERT INTO plan_comments (plan_id, action_id, id, internal, created_at, body)
SELECT p.id, json_extract(a.value, '$.id'), json_extract(c.value, '$.id'),
       COALESCE(json_extract(c.value, '$.internal'), 0), json_extract(c.value, '$.created_at'),
       json_set(c.value, '$.plan_id', p.id, '$.action_id', json_extract(a.value, '$.id'))
FROM plans p, json_each(p.body, '$.phases') AS ph, json_each(ph.value, '$.actions') AS a, json_each(a.value, '$.comments') AS c
WHERE p.body LIKE '%"comments"%' AND json_type(p.body, '$.phases') = 'array'
  AND json_type(ph.value, '$.actions') = 'array' AND json_type(a.value, '$.comments') = 'array'
ORDER BY p.id, julianday(json_extract(c.value, '$.created_at')), ph.key, a.key, c.key;

UPDATE plans SET body = json_set(body, '$.phases', json((
    SELECT json_group_array(json(
        CASE WHEN json_type(ph.value, '$.actions') = 'array' THEN
            json_set(ph.value, '$.actions', json((
                SELECT json_group_array(json(json_remove(a.value, '$.comments')) ORDER BY a.key)
                FROM json_each(ph.value, '$.actions') AS a)))
        ELSE ph.value END) ORDER BY ph.key)
    FROM json_each(plans.body, '$.phases') AS ph)))
WHERE body LIKE '%"comments"%' AND json_type(body, '$.phases') = 'array';

-- +goose Down
-- Put the comments back into the plan documents, in order, then drop the rows.
UPDATE plans SET body = json_set(body, '$.phases', json((
    SELECT json_group_array(json(
        CASE WHEN json_type(ph.value, '$.actions') = 'array' THEN
            json_set(ph.value, '$.actions', json((
                SELECT json_group_array(json(
                    CASE WHEN EXISTS (SELECT 1 FROM plan_comments pc WHERE pc.plan_id = plans.id AND pc.action_id = json_extract(a.value, '$.id')) THEN
                        json_set(a.value, '$.comments', json((
                            SELECT json_group_array(json(json_remove(pc.body, '$.plan_id', '$.action_id')) ORDER BY pc.seq)
                            FROM plan_comments pc WHERE pc.plan_id = plans.id AND pc.action_id = json_extract(a.value, '$.id'))))
                    ELSE a.value END) ORDER BY a.key)
                FROM json_each(ph.value, '$.actions') AS a)))
        ELSE ph.value END) ORDER BY ph.key)
    FROM json_each(plans.body, '$.phases') AS ph)))
WHERE id IN (SELECT plan_id FROM plan_comments) AND json_type(body, '$.phases') = 'array';
DROP TABLE plan_comments;
