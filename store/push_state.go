package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// PushOutcome is one record's result in a push, as the push log keeps it.
type PushOutcome struct {
	// Object is the CRM object ("deal").
	Object string
	// CRMID is the record's id in the CRM.
	CRMID string
	// Outcome is written, unchanged, skipped, invalid, failed or dead_letter.
	Outcome string
	// Fields are the values sent (written, failed) or desired (others), in CRM form.
	Fields map[string]any
	// Code and Message are the CRM's (or the mapping's) words for a refusal.
	Code, Message string
	// JobID is the River job that pushed, 0 for a CLI run.
	JobID int64
}

// LastPushed returns, per CRM id, the values mapsync last wrote to records of object on the
// connection (absent: never pushed).
func (s *Store) LastPushed(ctx context.Context, connection, object string, crmIDs []string) (map[string]map[string]any, error) {
	out := make(map[string]map[string]any, len(crmIDs))
	if len(crmIDs) == 0 {
		return out, nil
	}
	q, args, err := sqlx.In(`SELECT crm_id, pushed FROM push_state WHERE connection = ? AND object = ? AND crm_id IN (?)`, connection, object, crmIDs)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		CRMID  string `db:"crm_id"`
		Pushed string `db:"pushed"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.rebind(q), args...); err != nil {
		return nil, fmt.Errorf("last pushed: %w", interpretError(err))
	}
	for _, r := range rows {
		var m map[string]any
		if err := json.Unmarshal([]byte(r.Pushed), &m); err != nil {
			return nil, fmt.Errorf("last pushed %s: %w", r.CRMID, err)
		}
		out[r.CRMID] = m
	}
	return out, nil
}

// RecordPush stores a push's outcomes in one transaction: every outcome goes to the push log; a
// written record's fields are merged into its push state (the values last pushed) and its dead
// letter, if any, is removed; a dead_letter outcome upserts the record's dead letter.
func (s *Store) RecordPush(ctx context.Context, connection string, outcomes []PushOutcome) error {
	now := s.Now()
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, o := range outcomes {
			fields, err := json.Marshal(o.Fields)
			if err != nil {
				return fmt.Errorf("encode fields of %s: %w", o.CRMID, err)
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO push_log (connection, object, crm_id, outcome, fields, code, message, job_id, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`), connection, o.Object, o.CRMID, o.Outcome, string(fields), o.Code, o.Message, o.JobID, now); err != nil {
				return fmt.Errorf("log %s: %w", o.CRMID, interpretError(err))
			}
			switch o.Outcome {
			case "written":
				if err := s.mergePushed(ctx, tx, connection, o, now); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM push_dead_letters WHERE connection = ? AND object = ? AND crm_id = ?`), connection, o.Object, o.CRMID); err != nil {
					return interpretError(err)
				}
			case "dead_letter":
				if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO push_dead_letters (connection, object, crm_id, fields, code, message, first_at, last_at)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?)
					ON CONFLICT (connection, object, crm_id) DO UPDATE SET fields = excluded.fields, code = excluded.code,
						message = excluded.message, failures = push_dead_letters.failures + 1, last_at = excluded.last_at`),
					connection, o.Object, o.CRMID, string(fields), o.Code, o.Message, now, now); err != nil {
					return fmt.Errorf("dead letter %s: %w", o.CRMID, interpretError(err))
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record push for %s: %w", connection, err)
	}
	return nil
}

// mergePushed merges a written record's fields into its push state.
func (s *Store) mergePushed(ctx context.Context, tx *sqlx.Tx, connection string, o PushOutcome, now time.Time) error {
	var prev string
	err := tx.GetContext(ctx, &prev, tx.Rebind(`SELECT pushed FROM push_state WHERE connection = ? AND object = ? AND crm_id = ?`), connection, o.Object, o.CRMID)
	merged := map[string]any{}
	switch err = interpretError(err); {
	case err == nil:
		if err := json.Unmarshal([]byte(prev), &merged); err != nil {
			return fmt.Errorf("push state of %s: %w", o.CRMID, err)
		}
	case err != ErrNotFound:
		return fmt.Errorf("push state of %s: %w", o.CRMID, err)
	}
	for k, v := range o.Fields {
		merged[k] = v
	}
	body, err := json.Marshal(merged)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO push_state (connection, object, crm_id, pushed, pushed_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (connection, object, crm_id) DO UPDATE SET pushed = excluded.pushed, pushed_at = excluded.pushed_at`),
		connection, o.Object, o.CRMID, string(body), now)
	if err != nil {
		return fmt.Errorf("push state of %s: %w", o.CRMID, interpretError(err))
	}
	return nil
}
