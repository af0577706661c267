package connectors

import (
	"strings"
	"time"
)

// Object names a kind of CRM record in mapsync's CRM-neutral vocabulary. Each connector maps it to
// its CRM's own object (Salesforce Opportunity, HubSpot deals, ...).
type Object string

// The objects mapsync pulls and pushes.
const (
	// ObjectDeal is a deal: Salesforce Opportunity, HubSpot deal.
	ObjectDeal Object = "deal"
	// ObjectContact is a person on the buyer side: Salesforce Contact, HubSpot contact.
	ObjectContact Object = "contact"
	// ObjectDealContact links a contact to a deal with a role: Salesforce OpportunityContactRole,
	// HubSpot deal-to-contact association (with its labels).
	ObjectDealContact Object = "deal_contact"
	// ObjectOwner is a CRM user who owns deals: Salesforce User, HubSpot owner.
	ObjectOwner Object = "owner"
)

// Objects lists every object in the order a pull visits them: owners and contacts before deals
// and their contact roles, so that a deal's plan can be built from what is already stored.
var Objects = []Object{ObjectOwner, ObjectContact, ObjectDeal, ObjectDealContact}

// Valid reports whether o is one of the known objects.
func (o Object) Valid() bool {
	for _, k := range Objects {
		if k == o {
			return true
		}
	}
	return false
}

// Record is one CRM record as mapsync stores it: the CRM's id, its fields as the CRM named them
// (values decoded to string, float64, bool or nil; dates stay in the CRM's string form), the CRM's
// modification stamp, and whether the CRM has deleted (archived) it.
type Record struct {
	// Object is the kind of record.
	Object Object `json:"object"`
	// ID is the CRM's id for the record (Salesforce 18-character id, HubSpot numeric id as a string).
	ID string `json:"id"`
	// Fields holds the record's field values keyed by the CRM's field (property) name.
	Fields map[string]any `json:"fields"`
	// ModifiedAt is the CRM's modification stamp (SystemModstamp, hs_lastmodifieddate), in UTC.
	ModifiedAt time.Time `json:"modified_at"`
	// Deleted is true when the CRM reports the record deleted or archived.
	Deleted bool `json:"deleted,omitempty"`
}

// DealContact is a contact's role on a deal. For ObjectDealContact records the connector also
// fills Fields, but DealContact is the typed view plans are built from.
type DealContact struct {
	// DealID is the CRM id of the deal.
	DealID string `json:"deal_id" db:"deal_id"`
	// ContactID is the CRM id of the contact.
	ContactID string `json:"contact_id" db:"contact_id"`
	// Role is the contact role (Salesforce Role) or association label (HubSpot); empty if none.
	Role string `json:"role" db:"role"`
	// Primary is true for the deal's primary contact.
	Primary bool `json:"primary" db:"is_primary"`
}

// Cursor is where an incremental pull of one object stands: the greatest (modification stamp, id)
// it has stored. A pull resumes at Stamp minus the overlap window and dedupes by (id, stamp), so
// records sharing a stamp across a page boundary are never skipped.
type Cursor struct {
	// Stamp is the greatest modification stamp stored so far, in UTC; zero means "from the start".
	Stamp time.Time `json:"stamp"`
	// ID is the greatest id stored at Stamp.
	ID string `json:"id,omitempty"`
	// Extra carries connector-specific state (e.g. an in-progress time window); opaque to the store.
	Extra map[string]string `json:"extra,omitempty"`
}

// After reports whether the (stamp, id) pair sorts strictly after the cursor.
func (c Cursor) After(stamp time.Time, id string) bool {
	if !stamp.Equal(c.Stamp) {
		return stamp.After(c.Stamp)
	}
	return CompareIDs(id, c.ID) > 0
}

// CompareIDs orders CRM ids: numerically when both are decimal numbers (HubSpot), else as
// strings (Salesforce). It returns -1, 0 or +1.
func CompareIDs(a, b string) int {
	if isDigits(a) && isDigits(b) {
		a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		if len(a) != len(b) {
			if len(a) < len(b) {
				return -1
			}
			return 1
		}
	}
	return strings.Compare(a, b)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
