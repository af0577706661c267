package hubspot

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mapsync/mapsync/connectors"
)

// associationBatchSize is the most ids a v4 association batch read takes: HubSpot's documented
// maximum of 1,000 inputs per request (developer changelog "Batch Read Limit for HubSpot
// Associations API", effective 2025-02-10; larger requests are refused).
const associationBatchSize = 1000

// subCategoryNoAssociations marks a v4 batch-read error that only says an input has no
// associations; it is not a failure.
const subCategoryNoAssociations = "crm.associations.NO_ASSOCIATIONS_FOUND"

// defaultPrimaryLabels are the label texts that mark a deal's primary contact rather than a role.
// HubSpot has no built-in primary type for deal-to-contact, so portals use a user-defined label.
var defaultPrimaryLabels = []string{"Primary", "Primary Contact"}

// labelSet resolves association type ids to their labels, as read from the labels endpoint once per
// pull, and knows which labels mean "primary".
type labelSet struct {
	byType  map[int]string
	primary []string
}

// newLabelSet indexes the labels endpoint's reply. Types without a label (the unlabelled default
// association) are left out. primary lists the labels that mark the primary contact (compared
// without case); nil means defaultPrimaryLabels.
func newLabelSet(labels []associationLabel, primary []string) *labelSet {
	if primary == nil {
		primary = defaultPrimaryLabels
	}
	ls := &labelSet{byType: make(map[int]string, len(labels)), primary: primary}
	for _, l := range labels {
		if l.Label != nil && strings.TrimSpace(*l.Label) != "" {
			ls.byType[l.TypeID] = strings.TrimSpace(*l.Label)
		}
	}
	return ls
}

// isPrimary reports whether label marks the primary contact.
func (ls *labelSet) isPrimary(label string) bool {
	for _, p := range ls.primary {
		if strings.EqualFold(label, p) {
			return true
		}
	}
	return false
}

// label returns the label of an association type: the label the reply carries, else the one the
// labels endpoint gave for its type id, else "".
func (ls *labelSet) label(t associationType) string {
	if t.Label != nil && strings.TrimSpace(*t.Label) != "" {
		return strings.TrimSpace(*t.Label)
	}
	return ls.byType[t.TypeID]
}

// dealContacts turns one deal's associations to contacts into its complete role set: one
// DealContact per (contact, role label), a contact with no role label gets one row with an empty
// role, and Primary is set on every row of the contact that carries the primary label. The result
// is sorted by contact id, then role.
func (ls *labelSet) dealContacts(dealID string, to []associationTo) []connectors.DealContact {
	type acc struct {
		roles   []string
		primary bool
	}
	byContact := make(map[string]*acc, len(to))
	order := make([]string, 0, len(to))
	for _, a := range to {
		id := string(a.ToObjectID)
		if id == "" {
			continue
		}
		c := byContact[id]
		if c == nil {
			c = &acc{}
			byContact[id] = c
			order = append(order, id)
		}
		for _, t := range a.AssociationTypes {
			l := ls.label(t)
			switch {
			case l == "":
			case ls.isPrimary(l):
				c.primary = true
			default:
				if !slices.Contains(c.roles, l) {
					c.roles = append(c.roles, l)
				}
			}
		}
	}
	slices.SortFunc(order, connectors.CompareIDs)
	var out []connectors.DealContact
	for _, id := range order {
		c := byContact[id]
		if len(c.roles) == 0 {
			out = append(out, connectors.DealContact{DealID: dealID, ContactID: id, Primary: c.primary})
			continue
		}
		slices.Sort(c.roles)
		for _, r := range c.roles {
			out = append(out, connectors.DealContact{DealID: dealID, ContactID: id, Role: r, Primary: c.primary})
		}
	}
	return out
}

// dealContactRecord renders a DealContact as an ObjectDealContact record. Its id is
// "deal:contact:role" so that each role row has a stable identity.
func dealContactRecord(dc connectors.DealContact, deal connectors.Record) connectors.Record {
	return connectors.Record{
		Object: connectors.ObjectDealContact,
		ID:     dc.DealID + ":" + dc.ContactID + ":" + dc.Role,
		Fields: map[string]any{
			"deal_id":    dc.DealID,
			"contact_id": dc.ContactID,
			"role":       dc.Role,
			"primary":    dc.Primary,
		},
		ModifiedAt: deal.ModifiedAt,
	}
}

// pullDealContacts walks the deals changed since since (all live deals when req.Full; archived
// deals are left to the deal pull) and delivers, per group of up to Options.AssociationBatch walked
// deals (ten list pages; searched deals fill each group, a search page split between two), their
// complete contact-role sets: Roles maps every walked deal to its roles (empty when it has none)
// and Records holds one ObjectDealContact record per role row, stamped with the deal's stamp.
// Each group costs one v4 batch read (plus one per deal with more associations than a reply's
// page), so the roles of D deals take ceil(D/1000)
// association calls besides the walk. The cursor is the last walked deal's (stamp, id), with the
// list position of a Full pull after the group's last page in its Extra (see Pull). Labels are
// read once per pull.
//
// With req.Deals (see connectors.DealFeed) the deals come from the deal pull of the same run
// instead of a walk, and cost no call; see feedDeals.
//
// Deal pages cannot carry the roles instead: the search API (incremental pulls) returns no
// associations, and the list endpoint's associations=contacts gives each association only an id
// and a type name, not the typeId and label of a user-defined role label.
func (c *Connector) pullDealContacts(ctx context.Context, req connectors.PullRequest, since time.Time, fn func(connectors.Page) error) error {
	var labels *labelSet
	cur := req.Since
	if req.Full {
		cur = connectors.Cursor{Stamp: req.Since.Stamp, ID: req.Since.ID}
	}
	emit := func(deals []connectors.Record, next *listPos) error {
		if len(deals) == 0 {
			return nil
		}
		if labels == nil {
			ls, err := c.labels(ctx)
			if err != nil {
				return err
			}
			labels = ls
		}
		ids := make([]string, 0, len(deals))
		for _, d := range deals {
			if !d.Deleted {
				ids = append(ids, d.ID)
			}
		}
		assoc, err := c.dealAssociations(ctx, ids)
		if err != nil {
			return err
		}
		page := connectors.Page{Roles: make(map[string][]connectors.DealContact, len(ids))}
		for _, d := range deals {
			if d.Deleted {
				continue
			}
			roles := labels.dealContacts(d.ID, assoc[d.ID])
			if roles == nil {
				roles = []connectors.DealContact{}
			}
			page.Roles[d.ID] = roles
			for _, dc := range roles {
				page.Records = append(page.Records, dealContactRecord(dc, d))
			}
			cur = laterCursor(cur, d)
		}
		page.Cursor = cur
		if next != nil {
			page.Cursor.Extra = next.extra()
		}
		return fn(page)
	}
	// Walked deals gather until a batch read's worth, then go out as one page.
	var group []connectors.Record
	var groupNext *listPos
	flush := func() error {
		deals, next := group, groupNext
		group, groupNext = nil, nil
		return emit(deals, next)
	}
	// Without a list position (an incremental pull: search pages, or the deal pull's search pages
	// through the feed) a page fills the group up to one batch read and the rest of it starts the
	// next, so that D deals cost ceil(D/1000) reads whatever the page sizes: a searched page holds
	// up to 199 deals (its last stamp is held back), and whole pages gave groups of at most 995:
	// ceil(D/995) reads, one more than needed for 2,986 to 3,000 deals, say (4 instead of 3),
	// and one more per 199,000. The cursor stays true: deals come in (stamp, id) order, a group's
	// cursor is its last deal's, and a resumed pull reads that whole stamp again (GTE since minus
	// the overlap).
	//
	// With a list position (a Full pull) a walked page joins the group unless the group would then
	// outgrow one batch read; a full group goes out at once. Such pages are never split, so a
	// page's list position stays the position after its group; list pages of 100 fill a read of
	// 1,000 exactly.
	add := func(deals []connectors.Record, next *listPos) error {
		if next == nil {
			for len(deals) > 0 {
				n := min(len(deals), c.opts.AssociationBatch-len(group))
				group, deals = append(group, deals[:n]...), deals[n:]
				if len(group) >= c.opts.AssociationBatch {
					if err := flush(); err != nil {
						return err
					}
				}
			}
			return nil
		}
		if len(group) > 0 && len(group)+len(deals) > c.opts.AssociationBatch {
			if err := flush(); err != nil {
				return err
			}
		}
		group, groupNext = append(group, deals...), next
		if len(group) < c.opts.AssociationBatch {
			return nil
		}
		return flush()
	}
	props := []string{dealSpec.stamp, "hs_object_id"}
	var err error
	if req.Deals != nil {
		err = c.feedDeals(ctx, req, add)
	} else if req.Full {
		from, ferr := listResume(req.Since.Extra)
		if ferr != nil {
			return fmt.Errorf("pull %s: %w", connectors.ObjectDealContact, ferr)
		}
		err = c.walkList(ctx, connectors.ObjectDealContact, dealSpec, props, false, from, func(deals []connectors.Record, next listPos) error {
			return add(deals, &next)
		})
	} else {
		err = c.walkSearch(ctx, connectors.ObjectDealContact, dealSpec, props, since, func(deals []connectors.Record) error { return add(deals, nil) })
	}
	if err != nil {
		return err
	}
	if err := flush(); err != nil {
		return fmt.Errorf("pull %s: %w", connectors.ObjectDealContact, err)
	}
	return nil
}

// feedDeals hands the deals of req.Deals (what the deal pull of the same run delivered) to add as
// the walk would: live deals only, with a Full pull's list position (the deal pull's, whose
// archived pass this pull does not read, so it ends at the live pass's end). It costs no call.
func (c *Connector) feedDeals(ctx context.Context, req connectors.PullRequest, add func([]connectors.Record, *listPos) error) error {
	for {
		pg, ok, err := req.Deals.Next(ctx)
		if err != nil {
			return fmt.Errorf("pull %s: deals from the deal pull: %w", connectors.ObjectDealContact, err)
		}
		if !ok {
			return nil
		}
		var next *listPos
		if req.Full {
			pos, err := listResume(pg.Cursor.Extra)
			if err != nil {
				return fmt.Errorf("pull %s: deals from the deal pull: %w", connectors.ObjectDealContact, err)
			}
			if pos.archived {
				pos = listPos{done: true}
			}
			next = &pos
		}
		live := make([]connectors.Record, 0, len(pg.Deals))
		for _, d := range pg.Deals {
			if !d.Deleted {
				live = append(live, d)
			}
		}
		if len(live) == 0 {
			continue // the archived pass, or a page of deleted deals: no roles to read
		}
		if err := add(live, next); err != nil {
			return err
		}
	}
}

// TakesDealFeed reports that deal_contact pulls read the roles of PullRequest.Deals when given
// (see connectors.DealFeeder).
func (c *Connector) TakesDealFeed() bool { return true }

// labels reads the deal-to-contact association labels.
func (c *Connector) labels(ctx context.Context) (*labelSet, error) {
	var lr labelsReply
	if _, err := c.do(ctx, call{op: "association_labels", method: http.MethodGet, path: "crm/v4/associations/deals/contacts/labels"}, &lr); err != nil {
		return nil, err
	}
	return newLabelSet(lr.Results, c.opts.PrimaryLabels), nil
}

// dealAssociations batch-reads the contacts associated with dealIDs, at most 100 ids a call, and
// follows each deal's own paging. Deals without associations (a 207 NO_ASSOCIATIONS_FOUND error)
// map to nothing; any other per-input error fails the call, because a partial role set would
// delete roles.
func (c *Connector) dealAssociations(ctx context.Context, dealIDs []string) (map[string][]associationTo, error) {
	out := make(map[string][]associationTo, len(dealIDs))
	pending := make([]associationBatchInput, 0, len(dealIDs))
	for _, id := range dealIDs {
		pending = append(pending, associationBatchInput{ID: id})
	}
	for len(pending) > 0 {
		n := min(len(pending), c.opts.AssociationBatch)
		chunk := pending[:n]
		pending = pending[n:]
		var reply associationBatchReply
		if _, err := c.do(ctx, call{
			op: "association_read", method: http.MethodPost, path: "crm/v4/associations/deals/contacts/batch/read",
			body: associationBatchRequest{Inputs: chunk}, safe: true,
		}, &reply); err != nil {
			return nil, err
		}
		for _, e := range reply.Errors {
			if e.SubCategory == subCategoryNoAssociations || strings.HasSuffix(e.SubCategory, "NO_ASSOCIATIONS_FOUND") {
				continue
			}
			return nil, c.countError("association_read", &connectors.Error{Kind: connectors.KindTransient, Code: firstOf(e.Category, e.SubCategory), Message: "association batch read: " + e.Message})
		}
		for _, r := range reply.Results {
			id := string(r.From.ID)
			out[id] = append(out[id], r.To...)
			if next := r.Paging.nextAfter(); next != "" {
				pending = append(pending, associationBatchInput{ID: id, After: next})
			}
		}
	}
	return out, nil
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
