-- +goose Up
-- A push claims the pending marks of one connection, oldest first.
CREATE INDEX plan_marks_connection ON plan_marks (connection, marked_at);
-- The push log of one deal, newest first, is read by (connection, object, crm_id).
CREATE INDEX push_log_deal ON push_log (crm_id, created_at);

-- +goose Down
DROP INDEX push_log_deal;
DROP INDEX plan_marks_connection;
