package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Run modes, triggers and statuses.
const (
	RunIncremental = "incremental"
	RunFull        = "full"

	TriggerSchedule = "schedule"
	TriggerManual   = "manual"
	TriggerWebhook  = "webhook"

	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
	// RunAbandoned is a run whose process stopped without finishing it (killed, database lost):
	// the next run of the connection, holding the run lock, marks it so.
	RunAbandoned = "abandoned"
	// RunCancelled is a run that was stopped before it finished (the process shutting down on
	// SIGTERM, a job cancelled): not a failure of the CRM or the store. Its committed pages
	// stay, and the next run resumes after them.
	RunCancelled = "cancelled"
)

// Run is one recorded sync run.
type Run struct {
	ID           int64      `db:"id" json:"id"`
	ConnectionID int64      `db:"connection_id" json:"connection_id"`
	Mode         string     `db:"mode" json:"mode"`
	Trigger      string     `db:"trigger" json:"trigger"`
	Status       string     `db:"status" json:"status"`
	StartedAt    time.Time  `db:"started_at" json:"started_at"`
	FinishedAt   *time.Time `db:"finished_at" json:"finished_at,omitempty"`
	Stats        string     `db:"stats" json:"-"`
	Error        string     `db:"error" json:"error,omitempty"`
}

const runColumns = `id, connection_id, mode, trigger, status, started_at, finished_at, stats, error`

// StartRun records a run as running and returns its id.
func (s *Store) StartRun(ctx context.Context, connectionID int64, mode, trigger string) (int64, error) {
	var id int64
	err := s.db.GetContext(ctx, &id, s.rebind(`
		INSERT INTO sync_runs (connection_id, mode, trigger, status, started_at, stats, error)
		VALUES (?, ?, ?, ?, ?, '{}', '') RETURNING id`), connectionID, mode, trigger, RunRunning, s.Now())
	if err != nil {
		return 0, fmt.Errorf("start run: %w", interpretError(err))
	}
	return id, nil
}

// FinishRun records a run's outcome and its stats (any JSON-encodable value).
func (s *Store) FinishRun(ctx context.Context, runID int64, status string, stats any, runErr string) error {
	raw, err := json.Marshal(stats)
	if err != nil {
		return fmt.Errorf("finish run %d: %w", runID, err)
	}
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE sync_runs SET status = ?, finished_at = ?, stats = ?, error = ? WHERE id = ?`),
		status, s.Now(), string(raw), runErr, runID)
	if err != nil {
		return fmt.Errorf("finish run %d: %w", runID, interpretError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("finish run %d: %w", runID, ErrNotFound)
	}
	return nil
}

// Runs lists a connection's latest runs, newest first.
func (s *Store) Runs(ctx context.Context, connectionID int64, limit int) ([]Run, error) {
	var runs []Run
	err := s.db.SelectContext(ctx, &runs, s.rebind(`SELECT `+runColumns+` FROM sync_runs WHERE connection_id = ? ORDER BY started_at DESC, id DESC LIMIT ?`), connectionID, limit)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", interpretError(err))
	}
	return runs, nil
}

// Run returns one run, or ErrNotFound.
func (s *Store) Run(ctx context.Context, runID int64) (*Run, error) {
	var r Run
	if err := s.db.GetContext(ctx, &r, s.rebind(`SELECT `+runColumns+` FROM sync_runs WHERE id = ?`), runID); err != nil {
		return nil, fmt.Errorf("run %d: %w", runID, interpretError(err))
	}
	return &r, nil
}

// AbandonRuns marks every run of the connection still recorded as running as abandoned, and
// returns their ids. Call it only while holding the connection's run lock: then no live run of
// the connection exists, so a "running" row belongs to a process that died.
func (s *Store) AbandonRuns(ctx context.Context, connectionID int64, reason string) ([]int64, error) {
	var ids []int64
	err := s.db.SelectContext(ctx, &ids, s.rebind(`
		UPDATE sync_runs SET status = ?, finished_at = ?, error = ?
		WHERE connection_id = ? AND status = ?
		RETURNING id`), RunAbandoned, s.Now(), reason, connectionID, RunRunning)
	if err != nil {
		return nil, fmt.Errorf("abandon runs: %w", interpretError(err))
	}
	return ids, nil
}
