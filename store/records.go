package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/mapsync/mapsync/connectors"
)

// upsertChunk is how many records one SQLite INSERT carries (8 parameters each, well under its
// parameter limit), and how many ids one read of stored stamps asks for. PostgreSQL stages a
// page's rows with COPY whatever their number (copy.go).
const upsertChunk = 1000

// UpsertStats counts what a batch of records did to the store.
type UpsertStats struct {
	// Inserted records were new.
	Inserted int `json:"inserted"`
	// Updated records existed with an older stamp or other fields.
	Updated int `json:"updated"`
	// Deleted counts records newly marked deleted (a subset of Inserted+Updated).
	Deleted int `json:"deleted"`
	// Unchanged records were already stored at that stamp with those fields (overlap re-reads),
	// or older than what is stored.
	Unchanged int `json:"unchanged"`
}

// Add sums two stats.
func (u *UpsertStats) Add(o UpsertStats) {
	u.Inserted += o.Inserted
	u.Updated += o.Updated
	u.Deleted += o.Deleted
	u.Unchanged += o.Unchanged
}

// PullPage is one page of a pull, applied atomically: the records, the complete contact-role
// sets of the deals it names, and the cursor that covers them. The cursor advances only if the
// records are stored, so a crash resumes from the last committed page.
type PullPage struct {
	// ConnectionID is the stored connection.
	ConnectionID int64
	// Object is the kind of the records.
	Object connectors.Object
	// Records are upserted; duplicates by id within the page keep the latest stamp.
	Records []connectors.Record
	// Roles replaces, per deal id, the deal's contact roles with the given set (empty: none).
	Roles map[string][]connectors.DealContact
	// Cursor, when not nil, is stored for (connection, object) in the same transaction.
	Cursor *connectors.Cursor
	// Seen marks every record of the page as seen now, even unchanged ones, so that a full
	// reconcile can afterwards mark what it did not see as deleted (MarkUnseenDeleted).
	Seen bool
	// Fresh says the store held no records of this object for the connection when the pull
	// began (a first load): the stored stamps are not read, and every record counts as
	// inserted. The upsert still never lets an older stamp overwrite a newer one. A fresh page's
	// contact roles are upserted without first clearing the deals' stored ones: on a first load
	// there are none to clear (the clearing DELETE, probing every deal of the page against a table
	// the planner still believes empty, was a quarter of the database's work in a first pull), and
	// a fresh pass is a full one, whose reconcile (MarkUnseenDeleted) drops any role it did not
	// deliver.
	Fresh bool
	// Reconcile marks a page of a full pass: the CRM's current version of a record replaces the
	// stored one whenever their content (fields or deleted flag) differs, even when its stamp is
	// older (a stamp that went backwards: a restored backup, a clock fix, a record rewritten by a
	// data load). Without it an older stamp never overwrites a newer one. A stored row written
	// after ReadAt (by a webhook fetch or another page, which knows better) is kept.
	Reconcile bool
	// ReadAt is when the page was read from the CRM (the store's clock); zero means now.
	ReadAt time.Time
}

// ApplyPullPage stores a page in one transaction and reports what changed.
func (s *Store) ApplyPullPage(ctx context.Context, p PullPage) (UpsertStats, error) {
	var stats UpsertStats
	if s.dialect == Postgres {
		// On PostgreSQL a page goes through COPY, and lib/pq's COPY reads the connection in a
		// goroutine of its own: a cancelled context would make database/sql roll the transaction
		// back concurrently with that reader (a data race on the connection, seen under -race).
		// So the page's transaction runs to its end (bounded: one page) once begun, and a
		// cancellation is honoured before it starts and by the caller after it.
		if err := ctx.Err(); err != nil {
			return stats, err
		}
		ctx = context.WithoutCancel(ctx)
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if s.dialect == Postgres {
			// A pull page may be lost in a crash without harm: its records and its cursor commit
			// together, so a lost commit loses both and the next pull reads them again. Not
			// waiting for the WAL flush makes small pages (HubSpot's 100) cheap.
			// A page with rows also makes sure the session has its COPY staging tables (copy.go),
			// in the same round trip.
			q := `SET LOCAL synchronous_commit TO OFF`
			if len(p.Records) > 0 || len(p.Roles) > 0 {
				q += ";" + stageTables
			}
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return interpretError(err)
			}
		}
		var err error
		var reconcileBefore *time.Time
		if p.Reconcile {
			at := p.ReadAt.UTC()
			if at.IsZero() {
				at = s.Now()
			}
			reconcileBefore = &at
		}
		stats, err = s.upsertRecords(ctx, tx, p.ConnectionID, p.Object, p.Records, p.Seen, p.Fresh, reconcileBefore)
		if err != nil {
			return err
		}
		if err := s.replaceRoles(ctx, tx, p.ConnectionID, p.Roles, p.Fresh, s.Now()); err != nil {
			return err
		}
		if p.Cursor != nil {
			return s.setCursor(ctx, tx, p.ConnectionID, p.Object, *p.Cursor)
		}
		return nil
	})
	if err != nil {
		return UpsertStats{}, fmt.Errorf("apply %s page: %w", p.Object, err)
	}
	return stats, nil
}

// UpsertRecords stores records outside a pull (tests, benchmarks, webhook fetches).
func (s *Store) UpsertRecords(ctx context.Context, connectionID int64, records []connectors.Record) (UpsertStats, error) {
	return s.ApplyPullPage(ctx, PullPage{ConnectionID: connectionID, Object: objectOf(records), Records: records})
}

func objectOf(records []connectors.Record) connectors.Object {
	if len(records) == 0 {
		return ""
	}
	return records[0].Object
}

type storedStamp struct {
	CRMID      string    `db:"crm_id"`
	ModifiedAt time.Time `db:"modified_at"`
	Deleted    bool      `db:"deleted"`
	FieldsHash string    `db:"fields_hash"`
	SyncedAt   time.Time `db:"synced_at"`
}

type recordRow struct {
	id      string
	fields  []byte
	hash    string
	stamp   time.Time
	deleted bool
}

// upsertRecords dedupes by (id, stamp) against what is stored and writes only what changed, in
// one statement per chunk. A record older than the stored one never overwrites it, except in a
// reconcile (reconcileBefore set): there a record whose content differs from the stored one
// replaces it, stamp included, unless the stored row was written after *reconcileBefore.
func (s *Store) upsertRecords(ctx context.Context, tx *sqlx.Tx, connID int64, object connectors.Object, records []connectors.Record, seen, fresh bool, reconcileBefore *time.Time) (UpsertStats, error) {
	var stats UpsertStats
	if len(records) == 0 {
		return stats, nil
	}
	// Latest version per id within the batch.
	latest := make(map[string]int, len(records))
	order := make([]string, 0, len(records))
	for i, r := range records {
		if r.Object != object {
			return stats, fmt.Errorf("record %s is a %s in a %s page", r.ID, r.Object, object)
		}
		if j, ok := latest[r.ID]; ok {
			stats.Unchanged++
			if !r.ModifiedAt.Before(records[j].ModifiedAt) {
				latest[r.ID] = i
			}
			continue
		}
		latest[r.ID] = i
		order = append(order, r.ID)
	}
	now := s.Now()
	var w recordWrites
	var arena []byte
	for start := 0; start < len(order); start += upsertChunk {
		ids := order[start:min(start+upsertChunk, len(order))]
		stored := map[string]storedStamp{}
		if !fresh {
			var err error
			if stored, err = s.storedStamps(ctx, tx, connID, object, ids); err != nil {
				return stats, err
			}
		}
		for _, id := range ids {
			r := records[latest[id]]
			row := recordRow{id: id, stamp: r.ModifiedAt.UTC(), deleted: r.Deleted}
			if r.Fields != nil {
				// Encoded into one buffer for the page (appendJSON: Marshal's bytes without its
				// reflection); a row keeps its slice, which later appends never overwrite.
				start := len(arena)
				var err error
				if arena, err = appendJSON(arena, r.Fields); err != nil {
					return stats, fmt.Errorf("record %s fields: %w", id, err)
				}
				row.fields = arena[start:len(arena):len(arena)]
				if start == 0 {
					// Size the buffer once, from the first document (growing by doubling leaves
					// copies behind for the collector), but never past arenaCap: one large first
					// document must not reserve its size for every record.
					arena = slices.Grow(arena, min(len(arena)*(len(order)+len(order)/4), arenaCap))
				}
				sum := sha256.Sum256(row.fields)
				row.hash = hex.EncodeToString(sum[:])
			}
			old, exists := stored[id]
			if row.fields == nil {
				// A delete notice carries no fields: the stored ones stay, because the upsert keeps
				// the stored JSON whenever the hashes agree.
				row.fields, row.hash = []byte("{}"), emptyFieldsHash
				if exists {
					row.hash = old.FieldsHash
				}
			}
			differs := r.Deleted != old.Deleted || row.hash != old.FieldsHash
			switch {
			case !exists:
				stats.Inserted++
				if r.Deleted {
					stats.Deleted++
				}
			case row.stamp.Before(old.ModifiedAt.UTC()) && differs && reconcileBefore != nil && !old.SyncedAt.After(*reconcileBefore):
				stats.Updated++
				if r.Deleted && !old.Deleted {
					stats.Deleted++
				}
				w.repairs = append(w.repairs, row)
				continue
			case row.stamp.Before(old.ModifiedAt.UTC()),
				row.stamp.Equal(old.ModifiedAt.UTC()) && r.Deleted == old.Deleted && row.hash == old.FieldsHash:
				stats.Unchanged++
				if seen {
					w.touch = append(w.touch, id)
				}
				continue
			default:
				stats.Updated++
				if r.Deleted && !old.Deleted {
					stats.Deleted++
				}
			}
			w.rows = append(w.rows, row)
		}
	}
	if s.dialect == Postgres {
		return stats, s.copyRecords(ctx, tx, connID, object, w, now, reconcileBefore)
	}
	for start := 0; start < len(w.rows); start += upsertChunk {
		if err := s.writeRecords(ctx, tx, connID, object, w.rows[start:min(start+upsertChunk, len(w.rows))], now, nil); err != nil {
			return stats, err
		}
	}
	for start := 0; start < len(w.repairs); start += upsertChunk {
		if err := s.writeRecords(ctx, tx, connID, object, w.repairs[start:min(start+upsertChunk, len(w.repairs))], now, reconcileBefore); err != nil {
			return stats, err
		}
	}
	for start := 0; start < len(w.touch); start += upsertChunk {
		if err := s.touchRecords(ctx, tx, connID, object, w.touch[start:min(start+upsertChunk, len(w.touch))], now); err != nil {
			return stats, err
		}
	}
	return stats, nil
}

// arenaCap bounds what a page's JSON buffer reserves up front (16 MiB); a page that needs more
// grows it as it goes.
const arenaCap = 16 << 20

var emptyFieldsHash = func() string { sum := sha256.Sum256([]byte("{}")); return hex.EncodeToString(sum[:]) }()

func (s *Store) storedStamps(ctx context.Context, tx *sqlx.Tx, connID int64, object connectors.Object, ids []string) (map[string]storedStamp, error) {
	const cols = `SELECT crm_id, modified_at, deleted, fields_hash, synced_at FROM crm_records WHERE connection_id = ? AND object = ? AND `
	var (
		q    string
		args []any
		err  error
	)
	if s.dialect == Postgres {
		q, args = cols+`crm_id = ANY(?)`, []any{connID, string(object), pq.Array(ids)}
	} else if q, args, err = sqlx.In(cols+`crm_id IN (?)`, connID, string(object), ids); err != nil {
		return nil, err
	}
	var got []storedStamp
	if err := tx.SelectContext(ctx, &got, tx.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("read stored stamps: %w", interpretError(err))
	}
	m := make(map[string]storedStamp, len(got))
	for _, g := range got {
		m[g.CRMID] = g
	}
	return m, nil
}

const upsertConflict = ` ON CONFLICT (connection_id, object, crm_id) DO UPDATE SET
		fields = CASE WHEN excluded.fields_hash = crm_records.fields_hash THEN crm_records.fields ELSE excluded.fields END,
		fields_hash = excluded.fields_hash,
		modified_at = excluded.modified_at, deleted = excluded.deleted, synced_at = excluded.synced_at
		WHERE `

// writeRecords upserts rows on SQLite in one statement, a multi-row VALUES list (PostgreSQL
// stages them with COPY: copyRecords). A stored row is replaced only by a version at least as
// new, or, with syncedBefore (a reconcile's repairs), only when it was written no later than
// *syncedBefore, whatever the stamps.
func (s *Store) writeRecords(ctx context.Context, tx *sqlx.Tx, connID int64, object connectors.Object, rows []recordRow, now time.Time, syncedBefore *time.Time) error {
	if len(rows) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO crm_records (connection_id, object, crm_id, fields, fields_hash, modified_at, deleted, synced_at) VALUES `)
	args := make([]any, 0, len(rows)*8+1)
	for i, r := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, connID, string(object), r.id, string(r.fields), r.hash, r.stamp, r.deleted, now)
	}
	b.WriteString(upsertConflict)
	if syncedBefore != nil {
		b.WriteString(`crm_records.synced_at <= ?`)
		args = append(args, *syncedBefore)
	} else {
		b.WriteString(`crm_records.modified_at <= excluded.modified_at`)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(b.String()), args...); err != nil {
		return fmt.Errorf("upsert %d %s records: %w", len(rows), object, interpretError(err))
	}
	return nil
}

func (s *Store) touchRecords(ctx context.Context, tx *sqlx.Tx, connID int64, object connectors.Object, ids []string, now time.Time) error {
	q, args, err := sqlx.In(`UPDATE crm_records SET synced_at = ? WHERE connection_id = ? AND object = ? AND crm_id IN (?)`, now, connID, string(object), ids)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
		return fmt.Errorf("mark %s records seen: %w", object, interpretError(err))
	}
	return nil
}

// MarkUnseenDeleted marks deleted every live record of (connection, object) that no pull has
// seen since since: after a complete full reconcile, those are gone from the CRM. It returns
// the ids it marked. For ObjectDealContact it also drops the contact roles of deals whose role
// set the reconcile did not deliver (their last role was removed in the CRM).
func (s *Store) MarkUnseenDeleted(ctx context.Context, connectionID int64, object connectors.Object, since time.Time) ([]string, error) {
	var ids []string
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if object == connectors.ObjectDealContact {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM deal_contacts WHERE connection_id = ? AND synced_at < ?`), connectionID, since.UTC()); err != nil {
				return interpretError(err)
			}
		}
		if err := tx.SelectContext(ctx, &ids, tx.Rebind(`
			SELECT crm_id FROM crm_records WHERE connection_id = ? AND object = ? AND deleted = ? AND synced_at < ? ORDER BY crm_id`),
			connectionID, string(object), false, since.UTC()); err != nil {
			return interpretError(err)
		}
		if len(ids) == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, tx.Rebind(`
			UPDATE crm_records SET deleted = ?, synced_at = ? WHERE connection_id = ? AND object = ? AND deleted = ? AND synced_at < ?`),
			true, s.Now(), connectionID, string(object), false, since.UTC())
		if err != nil {
			return interpretError(err)
		}
		if object == connectors.ObjectDeal {
			q, args, err := sqlx.In(`DELETE FROM deal_contacts WHERE connection_id = ? AND deal_id IN (?)`, connectionID, ids)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
				return interpretError(err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mark unseen %s deleted: %w", object, err)
	}
	return ids, nil
}

// Record returns one stored record, or ErrNotFound.
func (s *Store) Record(ctx context.Context, connectionID int64, object connectors.Object, crmID string) (*connectors.Record, error) {
	var row struct {
		Fields     []byte    `db:"fields"`
		ModifiedAt time.Time `db:"modified_at"`
		Deleted    bool      `db:"deleted"`
	}
	err := s.db.GetContext(ctx, &row, s.rebind(`
		SELECT fields, modified_at, deleted FROM crm_records WHERE connection_id = ? AND object = ? AND crm_id = ?`),
		connectionID, string(object), crmID)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", object, crmID, interpretError(err))
	}
	r := &connectors.Record{Object: object, ID: crmID, ModifiedAt: row.ModifiedAt.UTC(), Deleted: row.Deleted}
	if err := json.Unmarshal(row.Fields, &r.Fields); err != nil {
		return nil, fmt.Errorf("%s %s fields: %w", object, crmID, err)
	}
	return r, nil
}

// RecordCounts returns, per object, how many live (not deleted) records a connection has.
func (s *Store) RecordCounts(ctx context.Context, connectionID int64) (map[connectors.Object]int, error) {
	var rows []struct {
		Object string `db:"object"`
		N      int    `db:"n"`
	}
	err := s.db.SelectContext(ctx, &rows, s.rebind(`
		SELECT object, COUNT(*) AS n FROM crm_records WHERE connection_id = ? AND deleted = ? GROUP BY object`), connectionID, false)
	if err != nil {
		return nil, fmt.Errorf("count records: %w", interpretError(err))
	}
	out := map[connectors.Object]int{}
	for _, r := range rows {
		out[connectors.Object(r.Object)] = r.N
	}
	return out, nil
}

// replaceRoles replaces the contact roles of each deal in roles with the given set.
func (s *Store) replaceRoles(ctx context.Context, tx *sqlx.Tx, connID int64, roles map[string][]connectors.DealContact, fresh bool, now time.Time) error {
	if len(roles) == 0 {
		return nil
	}
	deals := make([]string, 0, len(roles))
	var set []connectors.DealContact
	seen := map[[3]string]bool{}
	for d, rs := range roles {
		deals = append(deals, d)
		for _, dc := range rs {
			key := [3]string{d, dc.ContactID, dc.Role}
			if seen[key] {
				continue
			}
			seen[key] = true
			set = append(set, connectors.DealContact{DealID: d, ContactID: dc.ContactID, Role: dc.Role, Primary: dc.Primary})
		}
	}
	if fresh {
		deals = nil // nothing to clear (PullPage.Fresh): the set is upserted
	}
	if s.dialect == Postgres {
		return copyRoles(ctx, tx, connID, deals, set, now)
	}
	for start := 0; start < len(deals); start += upsertChunk {
		q, args, err := sqlx.In(`DELETE FROM deal_contacts WHERE connection_id = ? AND deal_id IN (?)`, connID, deals[start:min(start+upsertChunk, len(deals))])
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return fmt.Errorf("clear contact roles: %w", interpretError(err))
		}
	}
	for start := 0; start < len(set); start += upsertChunk {
		chunk := set[start:min(start+upsertChunk, len(set))]
		var b strings.Builder
		vals := make([]any, 0, len(chunk)*6)
		for i, dc := range chunk {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?, ?, ?, ?, ?, ?)")
			vals = append(vals, connID, dc.DealID, dc.ContactID, dc.Role, dc.Primary, now)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO deal_contacts (connection_id, deal_id, contact_id, role, is_primary, synced_at) VALUES `+b.String()+rolesConflict), vals...); err != nil {
			return fmt.Errorf("store contact roles: %w", interpretError(err))
		}
	}
	return nil
}

// DealContacts returns a deal's contact roles, primary first.
func (s *Store) DealContacts(ctx context.Context, connectionID int64, dealID string) ([]connectors.DealContact, error) {
	var out []connectors.DealContact
	err := s.db.SelectContext(ctx, &out, s.rebind(`
		SELECT deal_id, contact_id, role, is_primary FROM deal_contacts
		WHERE connection_id = ? AND deal_id = ? ORDER BY is_primary DESC, contact_id, role`), connectionID, dealID)
	if err != nil {
		return nil, fmt.Errorf("contact roles of deal %s: %w", dealID, interpretError(err))
	}
	return out, nil
}

// HasRecords reports whether the store holds any record of object for the connection.
func (s *Store) HasRecords(ctx context.Context, connectionID int64, object connectors.Object) (bool, error) {
	var n int
	err := s.db.GetContext(ctx, &n, s.rebind(`SELECT COUNT(*) FROM (SELECT 1 FROM crm_records WHERE connection_id = ? AND object = ? LIMIT 1) AS one`),
		connectionID, string(object))
	if err != nil {
		return false, fmt.Errorf("has %s records: %w", object, interpretError(err))
	}
	return n > 0, nil
}
