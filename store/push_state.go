package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/mapsync/mapsync/connectors"
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
// letter, if any, is removed; a dead_letter outcome upserts the record's dead letter. A push has
// one outcome per record: outcomes of one record in one call are not applied in order.
func (s *Store) RecordPush(ctx context.Context, connection string, outcomes []PushOutcome) error {
	return s.FinishPush(ctx, connection, outcomes, nil)
}

// FinishPush is RecordPush and DonePlanMarks in one transaction: the outcomes of a push and the
// marks it dealt with are recorded together, so a process killed in between has recorded
// neither (its marks are claimed again once their lease expires) or both. An "unchanged"
// outcome's Fields (values the CRM was found to hold already, equal to the desired ones) are
// merged into the push state too, without a dead letter change: see package sync/push.
func (s *Store) FinishPush(ctx context.Context, connection string, outcomes []PushOutcome, done []PlanVersion) error {
	now := s.Now()
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.recordPush(ctx, tx, connection, outcomes, now); err != nil {
			return err
		}
		return donePlanMarks(ctx, tx, done)
	})
	if err != nil {
		return fmt.Errorf("record push for %s: %w", connection, err)
	}
	return nil
}

// recordPush writes outcomes in tx (see RecordPush).
func (s *Store) recordPush(ctx context.Context, tx *sqlx.Tx, connection string, outcomes []PushOutcome, now time.Time) error {
	st := &txStmts{tx: tx}
	defer st.close()
	// The log, in multi-row INSERTs: one round trip per 500 outcomes, not one per outcome.
	const logCols = 9
	for start := 0; start < len(outcomes); start += 500 {
		chunk := outcomes[start:min(start+500, len(outcomes))]
		var q strings.Builder
		q.WriteString(`INSERT INTO push_log (connection, object, crm_id, outcome, fields, code, message, job_id, created_at) VALUES `)
		args := make([]any, 0, len(chunk)*logCols)
		for i, o := range chunk {
			fields, err := json.Marshal(o.Fields)
			if err != nil {
				return fmt.Errorf("encode fields of %s: %w", o.CRMID, err)
			}
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, connection, o.Object, o.CRMID, o.Outcome, string(fields), o.Code, o.Message, o.JobID, now)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q.String()), args...); err != nil {
			return fmt.Errorf("push log: %w", interpretError(err))
		}
	}
	// Push state: the fields of written records (and of unchanged ones the CRM already holds)
	// merged into what is stored, read and written per object in a few statements.
	type key struct{ object, crmID string }
	merges := map[key]map[string]any{}
	var order []key
	var cleared []key
	for _, o := range outcomes {
		switch {
		case o.Outcome == "written", o.Outcome == "unchanged" && len(o.Fields) > 0:
			k := key{o.Object, o.CRMID}
			m, ok := merges[k]
			if !ok {
				m = map[string]any{}
				merges[k] = m
				order = append(order, k)
			}
			for f, v := range o.Fields {
				m[f] = v
			}
			if o.Outcome == "written" {
				cleared = append(cleared, k)
			}
		case o.Outcome == "dead_letter":
			fields, err := json.Marshal(o.Fields)
			if err != nil {
				return fmt.Errorf("encode fields of %s: %w", o.CRMID, err)
			}
			if err := st.exec(ctx, `INSERT INTO push_dead_letters (connection, object, crm_id, fields, code, message, first_at, last_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (connection, object, crm_id) DO UPDATE SET fields = excluded.fields, code = excluded.code,
					message = excluded.message, failures = push_dead_letters.failures + 1, last_at = excluded.last_at`,
				connection, o.Object, o.CRMID, string(fields), o.Code, o.Message, now, now); err != nil {
				return fmt.Errorf("dead letter %s: %w", o.CRMID, err)
			}
		}
	}
	byObject := map[string][]string{}
	for _, k := range order {
		byObject[k.object] = append(byObject[k.object], k.crmID)
	}
	for object, ids := range byObject {
		for start := 0; start < len(ids); start += markChunk {
			chunk := ids[start:min(start+markChunk, len(ids))]
			q, args, err := sqlx.In(`SELECT crm_id, pushed FROM push_state WHERE connection = ? AND object = ? AND crm_id IN (?)`, connection, object, chunk)
			if err != nil {
				return err
			}
			var rows []struct {
				CRMID  string `db:"crm_id"`
				Pushed string `db:"pushed"`
			}
			if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
				return fmt.Errorf("push state: %w", interpretError(err))
			}
			prev := make(map[string]map[string]any, len(rows))
			for _, r := range rows {
				var m map[string]any
				if err := json.Unmarshal([]byte(r.Pushed), &m); err != nil {
					return fmt.Errorf("push state of %s: %w", r.CRMID, err)
				}
				prev[r.CRMID] = m
			}
			var up strings.Builder
			up.WriteString(`INSERT INTO push_state (connection, object, crm_id, pushed, pushed_at) VALUES `)
			uargs := make([]any, 0, len(chunk)*5)
			for i, id := range chunk {
				merged := prev[id]
				if merged == nil {
					merged = map[string]any{}
				}
				for f, v := range merges[key{object, id}] {
					merged[f] = v
				}
				body, err := json.Marshal(merged)
				if err != nil {
					return err
				}
				if i > 0 {
					up.WriteString(", ")
				}
				up.WriteString("(?, ?, ?, ?, ?)")
				uargs = append(uargs, connection, object, id, string(body), now)
			}
			up.WriteString(` ON CONFLICT (connection, object, crm_id) DO UPDATE SET pushed = excluded.pushed, pushed_at = excluded.pushed_at`)
			if _, err := tx.ExecContext(ctx, tx.Rebind(up.String()), uargs...); err != nil {
				return fmt.Errorf("push state: %w", interpretError(err))
			}
		}
	}
	// A written record's dead letter is over.
	clearedBy := map[string][]string{}
	for _, k := range cleared {
		clearedBy[k.object] = append(clearedBy[k.object], k.crmID)
	}
	for object, ids := range clearedBy {
		for start := 0; start < len(ids); start += markChunk {
			q, args, err := sqlx.In(`DELETE FROM push_dead_letters WHERE connection = ? AND object = ? AND crm_id IN (?)`, connection, object, ids[start:min(start+markChunk, len(ids))])
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
				return interpretError(err)
			}
		}
	}
	return nil
}

// txStmts prepares each statement once per transaction: a push records hundreds of rows with
// the same few statements, and preparing each time cost SQLite a third of the recording.
type txStmts struct {
	tx *sqlx.Tx
	m  map[string]*sqlx.Stmt
}

func (t *txStmts) stmt(ctx context.Context, q string) (*sqlx.Stmt, error) {
	if st, ok := t.m[q]; ok {
		return st, nil
	}
	st, err := t.tx.PreparexContext(ctx, t.tx.Rebind(q))
	if err != nil {
		return nil, interpretError(err)
	}
	if t.m == nil {
		t.m = map[string]*sqlx.Stmt{}
	}
	t.m[q] = st
	return st, nil
}

func (t *txStmts) exec(ctx context.Context, q string, args ...any) error {
	st, err := t.stmt(ctx, q)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, args...)
	return interpretError(err)
}

func (t *txStmts) close() {
	for _, st := range t.m {
		st.Close()
	}
}

// PushState is what a push last wrote to one CRM record and when.
type PushState struct {
	// Pushed maps field -> value last written (CRM form).
	Pushed map[string]any
	// PushedAt is when the last write was recorded.
	PushedAt time.Time
}

// PushStates returns, per CRM id, the push state of records of object on the connection
// (absent: never pushed). It is LastPushed with the time of the last write, which tells a push
// whether a pulled record saw that write.
func (s *Store) PushStates(ctx context.Context, connection, object string, crmIDs []string) (map[string]PushState, error) {
	out := make(map[string]PushState, len(crmIDs))
	for start := 0; start < len(crmIDs); start += markChunk {
		chunk := crmIDs[start:min(start+markChunk, len(crmIDs))]
		q, args, err := sqlx.In(`SELECT crm_id, pushed, pushed_at FROM push_state WHERE connection = ? AND object = ? AND crm_id IN (?)`, connection, object, chunk)
		if err != nil {
			return nil, err
		}
		var rows []struct {
			CRMID    string    `db:"crm_id"`
			Pushed   string    `db:"pushed"`
			PushedAt time.Time `db:"pushed_at"`
		}
		if err := s.db.SelectContext(ctx, &rows, s.rebind(q), args...); err != nil {
			return nil, fmt.Errorf("push state: %w", interpretError(err))
		}
		for _, r := range rows {
			var m map[string]any
			if err := json.Unmarshal([]byte(r.Pushed), &m); err != nil {
				return nil, fmt.Errorf("push state of %s: %w", r.CRMID, err)
			}
			out[r.CRMID] = PushState{Pushed: m, PushedAt: r.PushedAt.UTC()}
		}
	}
	return out, nil
}

// RecordsByID returns the stored records of object with the given CRM ids (deleted ones
// included, with Deleted set); ids not stored are absent.
func (s *Store) RecordsByID(ctx context.Context, connectionID int64, object connectors.Object, crmIDs []string) (map[string]connectors.Record, error) {
	recs, err := s.recordsByID(ctx, connectionID, object, crmIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[string]connectors.Record, len(recs))
	for _, r := range recs {
		out[r.ID] = r
	}
	return out, nil
}

// DeadLetter is a record the CRM refused for good, kept until a later push of it succeeds.
type DeadLetter struct {
	Connection string         `json:"connection"`
	Object     string         `json:"object"`
	CRMID      string         `json:"crm_id"`
	Fields     map[string]any `json:"fields"`
	Code       string         `json:"code"`
	Message    string         `json:"message"`
	Failures   int            `json:"failures"`
	FirstAt    time.Time      `json:"first_at"`
	LastAt     time.Time      `json:"last_at"`
}

// DeadLetters returns the dead letters of a connection ("" for every connection), newest
// failure first, at most limit (<= 0: 1000).
func (s *Store) DeadLetters(ctx context.Context, connection string, limit int) ([]DeadLetter, error) {
	if limit <= 0 {
		limit = 1000
	}
	var rows []struct {
		Connection string    `db:"connection"`
		Object     string    `db:"object"`
		CRMID      string    `db:"crm_id"`
		Fields     string    `db:"fields"`
		Code       string    `db:"code"`
		Message    string    `db:"message"`
		Failures   int       `db:"failures"`
		FirstAt    time.Time `db:"first_at"`
		LastAt     time.Time `db:"last_at"`
	}
	err := s.db.SelectContext(ctx, &rows, s.rebind(`
		SELECT connection, object, crm_id, fields, code, message, failures, first_at, last_at FROM push_dead_letters
		WHERE ? = '' OR connection = ? ORDER BY last_at DESC, connection, crm_id LIMIT ?`), connection, connection, limit)
	if err != nil {
		return nil, fmt.Errorf("dead letters: %w", interpretError(err))
	}
	out := make([]DeadLetter, len(rows))
	for i, r := range rows {
		out[i] = DeadLetter{Connection: r.Connection, Object: r.Object, CRMID: r.CRMID, Code: r.Code, Message: r.Message,
			Failures: r.Failures, FirstAt: r.FirstAt.UTC(), LastAt: r.LastAt.UTC()}
		if err := json.Unmarshal([]byte(r.Fields), &out[i].Fields); err != nil {
			return nil, fmt.Errorf("dead letter %s: %w", r.CRMID, err)
		}
	}
	return out, nil
}

// PushLogEntry is one record's outcome in one push, as the push log keeps it.
type PushLogEntry struct {
	Connection string         `json:"connection"`
	Object     string         `json:"object"`
	CRMID      string         `json:"crm_id"`
	Outcome    string         `json:"outcome"`
	Fields     map[string]any `json:"fields"`
	Code       string         `json:"code,omitempty"`
	Message    string         `json:"message,omitempty"`
	JobID      int64          `json:"job_id,omitempty"`
	At         time.Time      `json:"at"`
}

// PushLog returns the push log of one CRM record (a deal) on a connection ("" for every
// connection), newest first, at most limit (<= 0: 100).
func (s *Store) PushLog(ctx context.Context, connection, crmID string, limit int) ([]PushLogEntry, error) {
	if limit <= 0 {
		limit = 100
	}
	var rows []struct {
		Connection string    `db:"connection"`
		Object     string    `db:"object"`
		CRMID      string    `db:"crm_id"`
		Outcome    string    `db:"outcome"`
		Fields     string    `db:"fields"`
		Code       string    `db:"code"`
		Message    string    `db:"message"`
		JobID      int64     `db:"job_id"`
		CreatedAt  time.Time `db:"created_at"`
	}
	err := s.db.SelectContext(ctx, &rows, s.rebind(`
		SELECT connection, object, crm_id, outcome, fields, code, message, job_id, created_at FROM push_log
		WHERE crm_id = ? AND (? = '' OR connection = ?) ORDER BY created_at DESC, id DESC LIMIT ?`), crmID, connection, connection, limit)
	if err != nil {
		return nil, fmt.Errorf("push log of %s: %w", crmID, interpretError(err))
	}
	out := make([]PushLogEntry, len(rows))
	for i, r := range rows {
		out[i] = PushLogEntry{Connection: r.Connection, Object: r.Object, CRMID: r.CRMID, Outcome: r.Outcome, Code: r.Code,
			Message: r.Message, JobID: r.JobID, At: r.CreatedAt.UTC()}
		if err := json.Unmarshal([]byte(r.Fields), &out[i].Fields); err != nil {
			return nil, fmt.Errorf("push log of %s: %w", crmID, err)
		}
	}
	return out, nil
}
