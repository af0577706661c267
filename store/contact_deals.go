package store

import (
	"context"
	"fmt"
	"strings"
)

// ContactDeals returns, for each of the given contacts of a connection, the deals whose stored
// contact roles name it (in deal id order); a contact on no stored deal is absent. Webhooks
// about a contact use it to refresh the deals the contact is on.
func (s *Store) ContactDeals(ctx context.Context, connectionID int64, contactIDs []string) (map[string][]string, error) {
	out := map[string][]string{}
	for len(contactIDs) > 0 {
		n := min(len(contactIDs), 500)
		chunk := contactIDs[:n]
		contactIDs = contactIDs[n:]
		args := []any{connectionID}
		for _, id := range chunk {
			args = append(args, id)
		}
		var rows []struct {
			Contact string `db:"contact_id"`
			Deal    string `db:"deal_id"`
		}
		if err := s.db.SelectContext(ctx, &rows, s.rebind(`SELECT DISTINCT contact_id, deal_id FROM deal_contacts
			WHERE connection_id = ? AND contact_id IN (?`+strings.Repeat(", ?", n-1)+`) ORDER BY contact_id, deal_id`), args...); err != nil {
			return nil, fmt.Errorf("deals of contacts: %w", interpretError(err))
		}
		for _, r := range rows {
			out[r.Contact] = append(out[r.Contact], r.Deal)
		}
	}
	return out, nil
}
