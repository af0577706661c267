package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/mapsync/mapsync/connectors"
)

// DealBundle is a stored deal with what a plan is built from: its contact roles, the contact
// records they name, and the owner's record, all as the CRM named their fields.
type DealBundle struct {
	Deal     connectors.Record
	Roles    []connectors.DealContact
	Contacts map[string]connectors.Record
	// Owner is nil when the deal has no owner or the owner is not stored.
	Owner *connectors.Record
}

// DealBundle loads a deal, its roles, contacts and owner in three queries. ownerField names the
// deal field holding the owner's id (OwnerId, hubspot_owner_id).
func (s *Store) DealBundle(ctx context.Context, connectionID int64, dealID, ownerField string) (*DealBundle, error) {
	deal, err := s.Record(ctx, connectionID, connectors.ObjectDeal, dealID)
	if err != nil {
		return nil, err
	}
	b := &DealBundle{Deal: *deal, Contacts: map[string]connectors.Record{}}
	if b.Roles, err = s.DealContacts(ctx, connectionID, dealID); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(b.Roles)+1)
	for _, r := range b.Roles {
		ids = append(ids, r.ContactID)
	}
	ownerID, _ := deal.Fields[ownerField].(string)
	if len(ids) == 0 && ownerID == "" {
		return b, nil
	}
	q := `SELECT object, crm_id, fields, modified_at, deleted FROM crm_records WHERE connection_id = ? AND ((object = ? AND crm_id IN (?)) OR (object = ? AND crm_id = ?))`
	if len(ids) == 0 {
		ids = []string{""}
	}
	q, args, err := sqlx.In(q, connectionID, string(connectors.ObjectContact), ids, string(connectors.ObjectOwner), ownerID)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Object     string    `db:"object"`
		CRMID      string    `db:"crm_id"`
		Fields     []byte    `db:"fields"`
		ModifiedAt time.Time `db:"modified_at"`
		Deleted    bool      `db:"deleted"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.rebind(q), args...); err != nil {
		return nil, fmt.Errorf("contacts of deal %s: %w", dealID, interpretError(err))
	}
	for _, r := range rows {
		rec := connectors.Record{Object: connectors.Object(r.Object), ID: r.CRMID, ModifiedAt: r.ModifiedAt.UTC(), Deleted: r.Deleted}
		if err := json.Unmarshal(r.Fields, &rec.Fields); err != nil {
			return nil, fmt.Errorf("record %s fields: %w", r.CRMID, err)
		}
		if rec.Object == connectors.ObjectOwner {
			b.Owner = &rec
		} else {
			b.Contacts[rec.ID] = rec
		}
	}
	return b, nil
}

// DealsSyncedAfter returns up to limit ids of live deals written by a pull after the cursor
// (ordered by the time the pull stored them, then id), and the cursor of the last one. It is how
// plan instantiation catches up with pulls without a queue: the cursor moves only after the
// deals before it have been handled, so a crash between the two loses nothing.
func (s *Store) DealsSyncedAfter(ctx context.Context, connectionID int64, after connectors.Cursor, limit int) ([]string, connectors.Cursor, error) {
	var rows []struct {
		CRMID    string    `db:"crm_id"`
		SyncedAt time.Time `db:"synced_at"`
	}
	err := s.db.SelectContext(ctx, &rows, s.rebind(`
		SELECT crm_id, synced_at FROM crm_records
		WHERE connection_id = ? AND object = ? AND deleted = ? AND (synced_at > ? OR (synced_at = ? AND crm_id > ?))
		ORDER BY synced_at, crm_id LIMIT ?`),
		connectionID, string(connectors.ObjectDeal), false, after.Stamp.UTC(), after.Stamp.UTC(), after.ID, limit)
	if err != nil {
		return nil, after, fmt.Errorf("deals synced after %s: %w", after.Stamp, interpretError(err))
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.CRMID
	}
	if len(rows) > 0 {
		last := rows[len(rows)-1]
		after = connectors.Cursor{Stamp: last.SyncedAt.UTC(), ID: last.CRMID}
	}
	return ids, after, nil
}

// SetCursor stores a cursor outside a pull page (e.g. the instantiation cursor, under a pseudo
// object such as "plans").
func (s *Store) SetCursor(ctx context.Context, connectionID int64, object connectors.Object, c connectors.Cursor) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error { return s.setCursor(ctx, tx, connectionID, object, c) })
}

// DealBundles loads many deals as DealBundle does one, in four queries whatever their number.
// Deals that are not stored are missing from the map.
func (s *Store) DealBundles(ctx context.Context, connectionID int64, dealIDs []string, ownerField string) (map[string]*DealBundle, error) {
	out := make(map[string]*DealBundle, len(dealIDs))
	if len(dealIDs) == 0 {
		return out, nil
	}
	deals, err := s.recordsByID(ctx, connectionID, connectors.ObjectDeal, dealIDs)
	if err != nil {
		return nil, err
	}
	ownerIDs := []string{}
	for _, d := range deals {
		out[d.ID] = &DealBundle{Deal: d, Contacts: map[string]connectors.Record{}}
		if id, _ := d.Fields[ownerField].(string); id != "" {
			ownerIDs = append(ownerIDs, id)
		}
	}
	q, args, err := sqlx.In(`SELECT deal_id, contact_id, role, is_primary FROM deal_contacts
		WHERE connection_id = ? AND deal_id IN (?) ORDER BY deal_id, is_primary DESC, contact_id, role`, connectionID, dealIDs)
	if err != nil {
		return nil, err
	}
	var roles []connectors.DealContact
	if err := s.db.SelectContext(ctx, &roles, s.rebind(q), args...); err != nil {
		return nil, fmt.Errorf("contact roles: %w", interpretError(err))
	}
	contactIDs := []string{}
	for _, r := range roles {
		if b, ok := out[r.DealID]; ok {
			b.Roles = append(b.Roles, r)
			contactIDs = append(contactIDs, r.ContactID)
		}
	}
	contacts, err := s.recordsByID(ctx, connectionID, connectors.ObjectContact, contactIDs)
	if err != nil {
		return nil, err
	}
	owners, err := s.recordsByID(ctx, connectionID, connectors.ObjectOwner, ownerIDs)
	if err != nil {
		return nil, err
	}
	byID := func(recs []connectors.Record) map[string]connectors.Record {
		m := make(map[string]connectors.Record, len(recs))
		for _, r := range recs {
			m[r.ID] = r
		}
		return m
	}
	cm, om := byID(contacts), byID(owners)
	for _, b := range out {
		for _, r := range b.Roles {
			if c, ok := cm[r.ContactID]; ok {
				b.Contacts[c.ID] = c
			}
		}
		if id, _ := b.Deal.Fields[ownerField].(string); id != "" {
			if o, ok := om[id]; ok {
				b.Owner = &o
			}
		}
	}
	return out, nil
}

// recordsByID loads records of one object by id, in chunks.
func (s *Store) recordsByID(ctx context.Context, connectionID int64, object connectors.Object, ids []string) ([]connectors.Record, error) {
	var out []connectors.Record
	for start := 0; start < len(ids); start += upsertChunk {
		chunk := ids[start:min(start+upsertChunk, len(ids))]
		q, args, err := sqlx.In(`SELECT crm_id, fields, modified_at, deleted FROM crm_records
			WHERE connection_id = ? AND object = ? AND crm_id IN (?)`, connectionID, string(object), chunk)
		if err != nil {
			return nil, err
		}
		var rows []struct {
			CRMID      string    `db:"crm_id"`
			Fields     []byte    `db:"fields"`
			ModifiedAt time.Time `db:"modified_at"`
			Deleted    bool      `db:"deleted"`
		}
		if err := s.db.SelectContext(ctx, &rows, s.rebind(q), args...); err != nil {
			return nil, fmt.Errorf("load %s records: %w", object, interpretError(err))
		}
		for _, r := range rows {
			rec := connectors.Record{Object: object, ID: r.CRMID, ModifiedAt: r.ModifiedAt.UTC(), Deleted: r.Deleted}
			if err := json.Unmarshal(r.Fields, &rec.Fields); err != nil {
				return nil, fmt.Errorf("%s %s fields: %w", object, r.CRMID, err)
			}
			out = append(out, rec)
		}
	}
	return out, nil
}

// PlanKeys returns which of the given deals already have a plan, as "deal\x00template" keys.
func (s *Store) PlanKeys(ctx context.Context, connection string, dealIDs []string) (map[string]bool, error) {
	out := map[string]bool{}
	for start := 0; start < len(dealIDs); start += upsertChunk {
		chunk := dealIDs[start:min(start+upsertChunk, len(dealIDs))]
		q, args, err := sqlx.In(`SELECT deal_id, template_key FROM plans WHERE connection = ? AND deal_id IN (?)`, connection, chunk)
		if err != nil {
			return nil, err
		}
		var rows []struct {
			DealID      string `db:"deal_id"`
			TemplateKey string `db:"template_key"`
		}
		if err := s.db.SelectContext(ctx, &rows, s.rebind(q), args...); err != nil {
			return nil, fmt.Errorf("existing plans: %w", interpretError(err))
		}
		for _, r := range rows {
			out[r.DealID+"\x00"+r.TemplateKey] = true
		}
	}
	return out, nil
}
