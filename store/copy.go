package store

import (
	"context"
	"fmt"
	"time"
	"unsafe"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/mapsync/mapsync/connectors"
)

// On PostgreSQL a pull page reaches its tables in two steps: its rows are streamed with COPY into
// temporary staging tables of the connection (lib/pq's COPY FROM STDIN, inside the page's
// transaction), then merged into crm_records and deal_contacts with one INSERT ... SELECT each.
// COPY's text format carries a JSON document with only tabs, newlines and backslashes escaped,
// where the former unnest of arrays quoted and escaped every JSON quote and parsed the array on the
// server; the merge keeps every rule of the upsert (ON CONFLICT ... WHERE), and the staged rows
// are gone when the transaction ends (ON COMMIT DELETE ROWS; a rollback takes them too).
//
// ApplyPullPage creates the staging tables in its first statement whenever its page has rows (IF
// NOT EXISTS: once per database session, a catalog look-up after that); they are temporary,
// so nothing is left behind in the schema and concurrent pages on other connections never see
// each other's rows.
const stageTables = `
CREATE TEMP TABLE IF NOT EXISTS mapsync_stage_records (
	kind        "char" NOT NULL,
	crm_id      TEXT NOT NULL,
	fields      TEXT NOT NULL,
	fields_hash TEXT NOT NULL,
	modified_at TIMESTAMPTZ NOT NULL,
	deleted     BOOLEAN NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS mapsync_stage_roles (
	deal_id    TEXT NOT NULL,
	contact_id TEXT NOT NULL,
	role       TEXT NOT NULL,
	is_primary BOOLEAN NOT NULL
) ON COMMIT DELETE ROWS`

// Kinds of staged record rows: written when at least as new as the stored one, or a reconcile's
// repair, written whatever the stamps unless the stored row is newer knowledge.
const (
	stageWrite  = "w"
	stageRepair = "r"
)

// recordWrites is what one page does to crm_records once it is classified against what is stored.
type recordWrites struct {
	rows    []recordRow // inserts, and updates to a version at least as new
	repairs []recordRow // a reconcile's older stamp with other content: the CRM's version wins
	touch   []string    // unchanged records a full pass has seen (synced_at only)
}

// copyIn streams rows into a staging table with a COPY ... FROM STDIN statement (lib/pq sends
// each Exec's values as one line of COPY's text format). rows calls put once per row.
func copyIn(ctx context.Context, tx *sqlx.Tx, copyStmt string, rows func(put func(vals ...any) error) error) error {
	st, err := tx.PrepareContext(ctx, copyStmt)
	if err != nil {
		return interpretError(err)
	}
	defer st.Close()
	if err := rows(func(vals ...any) error {
		_, err := st.ExecContext(ctx, vals...)
		return err
	}); err != nil {
		return interpretError(err)
	}
	// The final Exec without values ends the stream and reports any error of the rows before.
	if _, err := st.ExecContext(ctx); err != nil {
		return interpretError(err)
	}
	return nil
}

// borrowString returns b's bytes as a string without copying them, for a COPY row: lib/pq's
// COPY appends each value's text to its send buffer within the Exec call and keeps nothing, and
// the document's buffer (a page's arena, see upsertRecords) is not written again until the page
// is stored. A []byte value would be sent as bytea, hence a string; copying each document into
// one (what string(b) does) allocated as many bytes again as the pull stores.
func borrowString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

const copyStageRecords = `COPY mapsync_stage_records (kind, crm_id, fields, fields_hash, modified_at, deleted) FROM STDIN`

// copyRecords applies a classified page to crm_records on PostgreSQL: the rows and repairs go
// through the staging table, then one merge per kind; seen unchanged records get their synced_at.
func (s *Store) copyRecords(ctx context.Context, tx *sqlx.Tx, connID int64, object connectors.Object, w recordWrites, now time.Time, reconcileBefore *time.Time) error {
	if len(w.rows)+len(w.repairs) > 0 {
		err := copyIn(ctx, tx, copyStageRecords, func(put func(...any) error) error {
			for _, r := range w.rows {
				if err := put(stageWrite, r.id, borrowString(r.fields), r.hash, r.stamp, r.deleted); err != nil {
					return err
				}
			}
			for _, r := range w.repairs {
				if err := put(stageRepair, r.id, borrowString(r.fields), r.hash, r.stamp, r.deleted); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("stage %d %s records: %w", len(w.rows)+len(w.repairs), object, err)
		}
		const merge = `INSERT INTO crm_records (connection_id, object, crm_id, fields, fields_hash, modified_at, deleted, synced_at)
			SELECT $1, $2, crm_id, fields::jsonb, fields_hash, modified_at, deleted, $3 FROM mapsync_stage_records WHERE kind = $4` + upsertConflict
		if len(w.rows) > 0 {
			if _, err := tx.ExecContext(ctx, merge+`crm_records.modified_at <= excluded.modified_at`, connID, string(object), now, stageWrite); err != nil {
				return fmt.Errorf("merge %d %s records: %w", len(w.rows), object, interpretError(err))
			}
		}
		if len(w.repairs) > 0 {
			if _, err := tx.ExecContext(ctx, merge+`crm_records.synced_at <= $5`, connID, string(object), now, stageRepair, *reconcileBefore); err != nil {
				return fmt.Errorf("merge %d repaired %s records: %w", len(w.repairs), object, interpretError(err))
			}
		}
	}
	if len(w.touch) > 0 {
		// Ids only: an array parameter is as cheap as staging them, and = ANY keeps the primary key's
		// index scan whatever the planner guesses of a temporary table.
		if _, err := tx.ExecContext(ctx, `UPDATE crm_records SET synced_at = $1 WHERE connection_id = $2 AND object = $3 AND crm_id = ANY($4)`,
			now, connID, string(object), pq.Array(w.touch)); err != nil {
			return fmt.Errorf("mark %s records seen: %w", object, interpretError(err))
		}
	}
	return nil
}

// rolesConflict makes a role insert an upsert: a fresh page does not clear its deals' roles first.
const rolesConflict = ` ON CONFLICT (connection_id, deal_id, contact_id, role) DO UPDATE SET is_primary = excluded.is_primary, synced_at = excluded.synced_at`

const copyStageRoles = `COPY mapsync_stage_roles (deal_id, contact_id, role, is_primary) FROM STDIN`

// copyRoles replaces the roles of the given deals on PostgreSQL: one DELETE by an array of deal
// ids (none when deals is empty: a fresh page's roles are only upserted), the new set through the
// staging table, one merge. roles holds each (deal, contact, role) once.
func copyRoles(ctx context.Context, tx *sqlx.Tx, connID int64, deals []string, roles []connectors.DealContact, now time.Time) error {
	if len(deals) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM deal_contacts WHERE connection_id = $1 AND deal_id = ANY($2)`, connID, pq.Array(deals)); err != nil {
			return fmt.Errorf("clear contact roles: %w", interpretError(err))
		}
	}
	if len(roles) == 0 {
		return nil
	}
	err := copyIn(ctx, tx, copyStageRoles, func(put func(...any) error) error {
		for _, r := range roles {
			if err := put(r.DealID, r.ContactID, r.Role, r.Primary); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("stage %d contact roles: %w", len(roles), err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO deal_contacts (connection_id, deal_id, contact_id, role, is_primary, synced_at)
		SELECT $1, deal_id, contact_id, role, is_primary, $2 FROM mapsync_stage_roles`+rolesConflict, connID, now); err != nil {
		return fmt.Errorf("store %d contact roles: %w", len(roles), interpretError(err))
	}
	return nil
}
