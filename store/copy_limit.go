package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/sync/errgroup"

	"github.com/mapsync/mapsync/connectors"
)

// CopyLoad is everything a pull stored for one connection (crm_records rows and contact roles),
// held in memory to measure the limit a pull is held against: PostgreSQL's COPY of the same rows
// into the same tables and indexes, staged and merged as pull pages are, with nothing else to do
// (Store.CopyLimit). Benchmarks only: it holds every row.
type CopyLoad struct {
	objects []connectors.Object
	rows    map[connectors.Object][]recordRow
	roles   []connectors.DealContact
}

// Records is how many crm_records rows the load holds (what a pull counts as records read).
func (l *CopyLoad) Records() int {
	n := 0
	for _, rows := range l.rows {
		n += len(rows)
	}
	return n
}

// Roles is how many deal_contacts rows the load holds.
func (l *CopyLoad) Roles() int { return len(l.roles) }

// ReadCopyLoad reads what is stored for a connection. Each document is re-encoded the way a pull
// encodes it (encoding/json, sorted keys), so the load sends the bytes the pull sent.
func (s *Store) ReadCopyLoad(ctx context.Context, connectionID int64) (*CopyLoad, error) {
	l := &CopyLoad{rows: map[connectors.Object][]recordRow{}}
	rows, err := s.db.QueryxContext(ctx, s.rebind(`SELECT object, crm_id, fields, fields_hash, modified_at, deleted FROM crm_records
		WHERE connection_id = ? ORDER BY object, crm_id`), connectionID)
	if err != nil {
		return nil, fmt.Errorf("read records: %w", interpretError(err))
	}
	defer rows.Close()
	for rows.Next() {
		var (
			object string
			r      recordRow
			raw    []byte
			fields map[string]any
		)
		if err := rows.Scan(&object, &r.id, &raw, &r.hash, &r.stamp, &r.deleted); err != nil {
			return nil, fmt.Errorf("read records: %w", err)
		}
		if err := json.Unmarshal(raw, &fields); err != nil {
			return nil, fmt.Errorf("record %s fields: %w", r.id, err)
		}
		if r.fields, err = json.Marshal(fields); err != nil {
			return nil, fmt.Errorf("record %s fields: %w", r.id, err)
		}
		o := connectors.Object(object)
		if _, ok := l.rows[o]; !ok {
			l.objects = append(l.objects, o)
		}
		l.rows[o] = append(l.rows[o], r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read records: %w", interpretError(err))
	}
	if err := s.db.SelectContext(ctx, &l.roles, s.rebind(`SELECT deal_id, contact_id, role, is_primary FROM deal_contacts WHERE connection_id = ?`), connectionID); err != nil {
		return nil, fmt.Errorf("read contact roles: %w", interpretError(err))
	}
	return l, nil
}

// copyLimitBatch is how many rows one transaction of CopyLimit stages and merges: measured on a
// 500,000-row load, 10,000 beat 2,000, 50,000 and one transaction per object (whose staged rows
// spill out of temp_buffers).
const copyLimitBatch = 10_000

// CopyLimit stores a load under connectionID (whose records should be none yet, as in a first
// pull) the fastest way this store has: each object, and the contact roles, on a stream of its
// own, all at once (a full pull also stores its objects at once), each stream COPYing batches of
// copyLimitBatch rows into the staging table and merging them with the pull's own statements, one
// transaction a batch. It returns how long that took: the load's Records() over it is the COPY
// limit. PostgreSQL only.
func (s *Store) CopyLimit(ctx context.Context, connectionID int64, l *CopyLoad) (time.Duration, error) {
	if s.dialect != Postgres {
		return 0, errors.New("the COPY limit is PostgreSQL's: this store is " + string(s.dialect))
	}
	start := time.Now()
	now := s.Now()
	load := func(fn func(tx *sqlx.Tx) error) error {
		return s.inTx(ctx, func(tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit TO OFF;`+stageTables); err != nil {
				return interpretError(err)
			}
			return fn(tx)
		})
	}
	g, ctx := errgroup.WithContext(ctx)
	for _, o := range l.objects {
		g.Go(func() error {
			rows := l.rows[o]
			for i := 0; i < len(rows); i += copyLimitBatch {
				batch := recordWrites{rows: rows[i:min(i+copyLimitBatch, len(rows))]}
				if err := load(func(tx *sqlx.Tx) error { return s.copyRecords(ctx, tx, connectionID, o, batch, now, nil) }); err != nil {
					return fmt.Errorf("copy %s records: %w", o, err)
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		for i := 0; i < len(l.roles); i += copyLimitBatch {
			batch := l.roles[i:min(i+copyLimitBatch, len(l.roles))]
			if err := load(func(tx *sqlx.Tx) error { return copyRoles(ctx, tx, connectionID, nil, batch, now) }); err != nil {
				return fmt.Errorf("copy contact roles: %w", err)
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
