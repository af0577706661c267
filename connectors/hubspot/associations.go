package hubspot

import (
	"slices"
	"strings"

	"github.com/mapsync/mapsync/connectors"
)

// associationBatchSize is the most ids a v4 association batch read takes.
const associationBatchSize = 100

// subCategoryNoAssociations marks a v4 batch-read error that only says an input has no
// associations; it is not a failure.
const subCategoryNoAssociations = "crm.associations.NO_ASSOCIATIONS_FOUND"

// primaryLabel is the label text that marks the primary association rather than a role.
const primaryLabel = "primary"

// labelSet resolves association type ids to their labels, as read from the labels endpoint once per
// pull.
type labelSet map[int]string

// newLabelSet indexes the labels endpoint's reply. Types without a label (the unlabelled default
// association) are left out.
func newLabelSet(labels []associationLabel) labelSet {
	ls := make(labelSet, len(labels))
	for _, l := range labels {
		if l.Label != nil && strings.TrimSpace(*l.Label) != "" {
			ls[l.TypeID] = strings.TrimSpace(*l.Label)
		}
	}
	return ls
}

// label returns the label of an association type: the label the reply carries, else the one the
// labels endpoint gave for its type id, else "".
func (ls labelSet) label(t associationType) string {
	if t.Label != nil && strings.TrimSpace(*t.Label) != "" {
		return strings.TrimSpace(*t.Label)
	}
	return ls[t.TypeID]
}

// dealContacts turns one deal's associations to contacts into its complete role set: one
// DealContact per (contact, role label), a contact with no role label gets one row with an empty
// role, and Primary is set on every row of the contact that carries the primary label. The result
// is sorted by contact id, then role.
func (ls labelSet) dealContacts(dealID string, to []associationTo) []connectors.DealContact {
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
			case strings.EqualFold(l, primaryLabel):
				c.primary = true
			default:
				if !slices.Contains(c.roles, l) {
					c.roles = append(c.roles, l)
				}
			}
		}
	}
	slices.SortFunc(order, compareIDs)
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
