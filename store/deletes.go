package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/mapsync/mapsync/connectors"
)

// MarkDeleted marks the given live records of (connection, object) deleted, as a reconcile would
// when the CRM no longer has them (a webhook said they were deleted); a deal's contact roles go
// with it. It returns the ids it marked (ids unknown or already deleted are skipped).
func (s *Store) MarkDeleted(ctx context.Context, connectionID int64, object connectors.Object, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var marked []string
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		q, args, err := sqlx.In(`SELECT crm_id FROM crm_records WHERE connection_id = ? AND object = ? AND deleted = ? AND crm_id IN (?) ORDER BY crm_id`,
			connectionID, string(object), false, ids)
		if err != nil {
			return err
		}
		if err := tx.SelectContext(ctx, &marked, tx.Rebind(q), args...); err != nil {
			return interpretError(err)
		}
		if len(marked) == 0 {
			return nil
		}
		q, args, err = sqlx.In(`UPDATE crm_records SET deleted = ?, synced_at = ? WHERE connection_id = ? AND object = ? AND crm_id IN (?)`,
			true, s.Now(), connectionID, string(object), marked)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return interpretError(err)
		}
		if object == connectors.ObjectDeal {
			q, args, err = sqlx.In(`DELETE FROM deal_contacts WHERE connection_id = ? AND deal_id IN (?)`, connectionID, marked)
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
		return nil, fmt.Errorf("mark %s deleted: %w", object, err)
	}
	return marked, nil
}
