package hubspot

import (
	"context"
	"net/http"
	"slices"

	"github.com/mapsync/mapsync/connectors"
)

// readBatch is the most ids one CRM-object batch read takes.
const readBatch = 100

var _ connectors.DealFetcher = (*Connector)(nil)

// FetchDeals reads deals by id: POST /crm/v3/objects/deals/batch/read (100 ids a call; the ids
// it does not find are asked again with ?archived=true, which HubSpot answers only with archived
// records), the deal-to-contact associations with their labels through the v4 batch read (as
// the deal_contact pull does), and the contacts they name through
// /crm/v3/objects/contacts/batch/read.
func (c *Connector) FetchDeals(ctx context.Context, req connectors.FetchRequest) (*connectors.Fetched, error) {
	out := &connectors.Fetched{Roles: map[string][]connectors.DealContact{}}
	var ids []string
	for _, id := range req.IDs {
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	deals, missing, err := c.batchRead(ctx, connectors.ObjectDeal, dealSpec, req.Fields[connectors.ObjectDeal], ids, false)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		archived, gone, err := c.batchRead(ctx, connectors.ObjectDeal, dealSpec, req.Fields[connectors.ObjectDeal], missing, true)
		if err != nil {
			return nil, err
		}
		for i := range archived {
			archived[i].Deleted = true
		}
		deals = append(deals, archived...)
		out.Missing = gone
	}
	out.Deals = deals
	byID := map[string]connectors.Record{}
	var live []string
	for _, d := range deals {
		if !d.Deleted {
			byID[d.ID] = d
			live = append(live, d.ID)
		}
	}
	if len(live) == 0 {
		return out, nil
	}
	labels, err := c.labels(ctx)
	if err != nil {
		return nil, err
	}
	assoc, err := c.dealAssociations(ctx, live)
	if err != nil {
		return nil, err
	}
	var contacts []string
	for _, id := range live {
		roles := labels.dealContacts(id, assoc[id])
		if roles == nil {
			roles = []connectors.DealContact{}
		}
		out.Roles[id] = roles
		for _, dc := range roles {
			out.RoleRecords = append(out.RoleRecords, dealContactRecord(dc, byID[id]))
			if !slices.Contains(contacts, dc.ContactID) {
				contacts = append(contacts, dc.ContactID)
			}
		}
	}
	if len(contacts) > 0 {
		if out.Contacts, _, err = c.batchRead(ctx, connectors.ObjectContact, contactSpec, req.Fields[connectors.ObjectContact], contacts, false); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// batchRead reads records of obj by id, readBatch a call, live ones or (archived) archived ones;
// it returns the records and the ids not found. A per-input error other than not found fails
// the read.
func (c *Connector) batchRead(ctx context.Context, obj connectors.Object, spec objectSpec, extra, ids []string, archived bool) ([]connectors.Record, []string, error) {
	props := spec.properties(extra)
	var out []connectors.Record
	var missing []string
	path := "crm/v3/objects/" + spec.typ + "/batch/read"
	if archived {
		path += "?archived=true"
	}
	for len(ids) > 0 {
		n := min(len(ids), readBatch)
		chunk := ids[:n]
		ids = ids[n:]
		inputs := make([]map[string]string, len(chunk))
		for i, id := range chunk {
			inputs[i] = map[string]string{"id": id}
		}
		var reply batchReply
		if _, err := c.do(ctx, call{op: "batch_read", method: http.MethodPost, path: path, safe: true,
			body: map[string]any{"properties": props, "inputs": inputs}}, &reply); err != nil {
			return nil, nil, err
		}
		recs, err := decodeObjects(obj, spec, reply.Results)
		if err != nil {
			return nil, nil, c.countError("batch_read", err)
		}
		out = append(out, recs...)
		found := make(map[string]bool, len(recs))
		for _, r := range recs {
			found[r.ID] = true
		}
		for _, e := range reply.Errors {
			if e.Category != "OBJECT_NOT_FOUND" {
				return nil, nil, c.countError("batch_read", &connectors.Error{Kind: connectors.KindTransient, Code: firstOf(e.Category, e.SubCategory), Message: "batch read: " + e.Message})
			}
		}
		for _, id := range chunk {
			if !found[id] {
				missing = append(missing, id)
			}
		}
	}
	return out, missing, nil
}
