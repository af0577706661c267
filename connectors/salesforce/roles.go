package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/mapsync/mapsync/connectors"
)

// roles returns the complete current contact roles of every deal that has a record in recs: one
// query per Options.RolesChunk deals, on query (not queryAll) so deleted roles are left out. A deal
// without roles maps to an empty slice.
func (c *Connector) roles(ctx context.Context, recs []connectors.Record) (map[string][]connectors.DealContact, error) {
	out := map[string][]connectors.DealContact{}
	var ids []string
	for _, r := range recs {
		id, _ := r.Fields["OpportunityId"].(string)
		if id == "" {
			continue
		}
		if _, ok := out[id]; !ok {
			out[id] = []connectors.DealContact{}
			ids = append(ids, id)
		}
	}
	for len(ids) > 0 {
		n := min(len(ids), c.opts.RolesChunk)
		chunk := ids[:n]
		ids = ids[n:]
		quoted := make([]string, len(chunk))
		for i, id := range chunk {
			q, err := quoteID(id)
			if err != nil {
				return nil, err
			}
			quoted[i] = q
		}
		soql := "SELECT Id, OpportunityId, ContactId, Role, IsPrimary FROM OpportunityContactRole WHERE OpportunityId IN (" +
			strings.Join(quoted, ", ") + ") ORDER BY OpportunityId ASC, Id ASC"
		path := c.base + "/query?q=" + url.QueryEscape(soql)
		for path != "" {
			var qr queryResult
			if err := c.do(ctx, call{op: "query", method: http.MethodGet, path: path, header: c.batchHeader()}, &qr); err != nil {
				return nil, fmt.Errorf("contact roles: %w", err)
			}
			for _, m := range qr.Records {
				deal, _ := m["OpportunityId"].(string)
				contact, _ := m["ContactId"].(string)
				role, _ := m["Role"].(string)
				primary, _ := m["IsPrimary"].(bool)
				if _, ok := out[deal]; !ok {
					return nil, &connectors.Error{Kind: connectors.KindTransient, Code: "UNEXPECTED_ROLE", Message: fmt.Sprintf("contact role for deal %q that was not asked for", truncate(deal, 40))}
				}
				out[deal] = append(out[deal], connectors.DealContact{DealID: deal, ContactID: contact, Role: role, Primary: primary})
			}
			path = ""
			if !qr.Done && qr.NextRecordsURL != "" {
				next, err := c.nextPath(qr.NextRecordsURL)
				if err != nil {
					return nil, fmt.Errorf("contact roles: %w", err)
				}
				path = next
			}
		}
	}
	return out, nil
}
