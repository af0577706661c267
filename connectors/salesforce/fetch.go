package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/mapsync/mapsync/connectors"
)

// fetchChunk is how many ids one WHERE Id IN (...) query names: 200 ids of 18 characters keep
// the query far below SOQL's 100,000-character limit and the URL below common 16 KiB limits.
const fetchChunk = 200

var _ connectors.DealFetcher = (*Connector)(nil)

// FetchDeals reads deals by id: one queryAll per 200 deals (`SELECT ... FROM Opportunity WHERE
// Id IN ('006...', ...)`, deleted ones included, with IsDeleted), one query of their
// OpportunityContactRole rows per 200 live deals, and one queryAll of the contacts those roles
// name per 200 contacts. Every id is validated and quoted (quoteID) before it enters a query.
func (c *Connector) FetchDeals(ctx context.Context, req connectors.FetchRequest) (*connectors.Fetched, error) {
	out := &connectors.Fetched{Roles: map[string][]connectors.DealContact{}}
	ids := unique(req.IDs)
	if len(ids) == 0 {
		return out, nil
	}
	deals, err := c.queryByID(ctx, connectors.ObjectDeal, req.Fields[connectors.ObjectDeal], "Id", ids)
	if err != nil {
		return nil, err
	}
	found := map[string]bool{}
	var live []string
	for _, d := range deals {
		found[d.ID] = true
		if !d.Deleted {
			live = append(live, d.ID)
			out.Roles[d.ID] = []connectors.DealContact{}
		}
	}
	out.Deals = deals
	for _, id := range ids {
		if !found[id] && !found[fold15(id, found)] {
			out.Missing = append(out.Missing, id)
		}
	}
	if len(live) == 0 {
		return out, nil
	}
	roles, err := c.queryByID(ctx, connectors.ObjectDealContact, nil, "OpportunityId", live)
	if err != nil {
		return nil, err
	}
	var contacts []string
	for _, r := range roles {
		if r.Deleted {
			continue
		}
		deal, _ := r.Fields["OpportunityId"].(string)
		contact, _ := r.Fields["ContactId"].(string)
		role, _ := r.Fields["Role"].(string)
		primary, _ := r.Fields["IsPrimary"].(bool)
		if _, ok := out.Roles[deal]; !ok {
			return nil, &connectors.Error{Kind: connectors.KindTransient, Code: "UNEXPECTED_ROLE", Message: fmt.Sprintf("contact role for deal %q that was not asked for", truncate(deal, 40))}
		}
		out.Roles[deal] = append(out.Roles[deal], connectors.DealContact{DealID: deal, ContactID: contact, Role: role, Primary: primary})
		out.RoleRecords = append(out.RoleRecords, r)
		if contact != "" && !slices.Contains(contacts, contact) {
			contacts = append(contacts, contact)
		}
	}
	if len(contacts) > 0 {
		if out.Contacts, err = c.queryByID(ctx, connectors.ObjectContact, req.Fields[connectors.ObjectContact], "Id", contacts); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// queryByID reads the records of obj whose field is one of ids, fetchChunk ids a query,
// following nextRecordsUrl; through queryAll for objects with deletes except roles (a deleted
// role is no role).
func (c *Connector) queryByID(ctx context.Context, obj connectors.Object, extra []string, field string, ids []string) ([]connectors.Record, error) {
	spec, err := specFor(obj)
	if err != nil {
		return nil, err
	}
	fields, err := spec.selectFields(extra)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", obj, err)
	}
	resource := "/query"
	if spec.deletable && obj != connectors.ObjectDealContact {
		resource = "/queryAll"
	}
	var out []connectors.Record
	for len(ids) > 0 {
		n := min(len(ids), fetchChunk)
		chunk := ids[:n]
		ids = ids[n:]
		quoted := make([]string, len(chunk))
		for i, id := range chunk {
			q, err := quoteID(id)
			if err != nil {
				return nil, fmt.Errorf("fetch %s: %w", obj, err)
			}
			quoted[i] = q
		}
		soql := "SELECT " + strings.Join(fields, ", ") + " FROM " + spec.sobject + " WHERE " + field + " IN (" + strings.Join(quoted, ", ") + ") ORDER BY Id ASC"
		path := c.base + resource + "?q=" + url.QueryEscape(soql)
		for path != "" {
			var qr queryResult
			if err := c.do(ctx, call{op: "query", method: http.MethodGet, path: path, header: c.batchHeader()}, &qr); err != nil {
				return nil, fmt.Errorf("fetch %s: %w", obj, err)
			}
			for i, m := range qr.Records {
				r, err := toRecord(obj, m)
				if err != nil {
					e := &connectors.Error{Kind: connectors.KindTransient, Code: "MALFORMED_RECORD", Message: fmt.Sprintf("fetch %s: record %d of the reply", obj, i+1), Err: err}
					c.client.CountError("query", e)
					return nil, e
				}
				out = append(out, r)
			}
			path = ""
			if !qr.Done && qr.NextRecordsURL != "" {
				next, err := c.nextPath(qr.NextRecordsURL)
				if err != nil {
					return nil, fmt.Errorf("fetch %s: %w", obj, err)
				}
				path = next
			}
		}
	}
	return out, nil
}

// fold15 returns the 18-character id in found whose first 15 characters are id's (a webhook may
// name a record by its case-sensitive 15-character id, queries answer with 18), or "".
func fold15(id string, found map[string]bool) string {
	if len(id) != 15 {
		return ""
	}
	for f := range found {
		if len(f) == 18 && f[:15] == id {
			return f
		}
	}
	return ""
}

// unique returns ids without duplicates or empty strings, in their first order.
func unique(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}
