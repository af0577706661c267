package plans

import "time"

// Deal is the CRM deal a plan is made for, in the typed shape plans needs. The pull pipeline fills
// it from the stored CRM records: the well-known fields typed, every field as the CRM named it in
// Fields, the owner and the contacts with their roles.
type Deal struct {
	// ConnectionName is the mapsync connection the deal came from.
	ConnectionName string `json:"connection"`
	// CRM is the connection's kind: "salesforce" or "hubspot".
	CRM string `json:"crm"`
	// ID is the CRM's id for the deal.
	ID string `json:"id"`
	// Name is the deal's name (Opportunity Name, dealname).
	Name string `json:"name"`
	// Account is the buyer company's name, when known.
	Account string `json:"account,omitempty"`
	// Stage is the deal stage's label, e.g. "Negotiation/Review".
	Stage string `json:"stage"`
	// Pipeline is the pipeline's name, e.g. "default", "renewals".
	Pipeline string `json:"pipeline"`
	// Type is the deal type, e.g. "New Business", "Renewal".
	Type string `json:"type,omitempty"`
	// Amount is the deal's amount in its currency; 0 when unknown.
	Amount float64 `json:"amount"`
	// CloseDate is the expected close date; zero when unknown.
	CloseDate Date `json:"close_date"`
	// IsClosed is true when the deal is in a closed stage (won or lost).
	IsClosed bool `json:"is_closed"`
	// IsWon is true when the deal is closed won.
	IsWon bool `json:"is_won"`
	// Fields holds every field as the CRM named it (values string, float64, bool or nil).
	Fields map[string]any `json:"fields,omitempty"`
	// OwnerID is the CRM id of the deal's owner.
	OwnerID string `json:"owner_id,omitempty"`
	// Owner is the deal's owner, when known.
	Owner *Person `json:"owner,omitempty"`
	// Contacts are the deal's contacts with their roles.
	Contacts []DealContact `json:"contacts,omitempty"`
}

// Person is a CRM user (a deal owner).
type Person struct {
	// ID is the CRM's user / owner id.
	ID string `json:"id"`
	// Name is the person's full name.
	Name string `json:"name"`
	// Email is the person's email address.
	Email string `json:"email"`
}

// DealContact is one of a deal's contacts with its role on the deal.
type DealContact struct {
	// ContactID is the CRM's id for the contact.
	ContactID string `json:"contact_id"`
	// Name is the contact's full name.
	Name string `json:"name"`
	// Email is the contact's email address.
	Email string `json:"email"`
	// Role is the Salesforce contact role or HubSpot association label; empty when none.
	Role string `json:"role,omitempty"`
	// Primary is true for the deal's primary contact.
	Primary bool `json:"primary,omitempty"`
}

// primaryContact returns the primary contact, or the first contact when none is marked, or nil.
func (d *Deal) primaryContact() *DealContact {
	for i := range d.Contacts {
		if d.Contacts[i].Primary {
			return &d.Contacts[i]
		}
	}
	if len(d.Contacts) > 0 {
		return &d.Contacts[0]
	}
	return nil
}

// RuleEnv is the environment selection rules are compiled and evaluated against. The names are
// the expr tags: a rule reads deal.stage, deal.amount, deal.fields["Custom__c"], connection, crm
// and now. The mapping layer uses the same names for the deal. The builtin now() is disabled:
// rules read the clock from `now`, which the caller passes in.
type RuleEnv struct {
	// Deal is the deal under selection.
	Deal RuleDeal `expr:"deal"`
	// Connection is the deal's connection name.
	Connection string `expr:"connection"`
	// CRM is "salesforce" or "hubspot".
	CRM string `expr:"crm"`
	// Now is the time of evaluation.
	Now time.Time `expr:"now"`
}

// RuleDeal is the deal as rules see it.
type RuleDeal struct {
	// ID is the CRM id.
	ID string `expr:"id"`
	// Name is the deal's name.
	Name string `expr:"name"`
	// Account is the buyer company's name.
	Account string `expr:"account"`
	// Stage is the stage label.
	Stage string `expr:"stage"`
	// Pipeline is the pipeline name.
	Pipeline string `expr:"pipeline"`
	// Type is the deal type.
	Type string `expr:"type"`
	// Amount is the amount (0 when unknown).
	Amount float64 `expr:"amount"`
	// CloseDate is the close date at midnight UTC; the zero time when unknown.
	CloseDate time.Time `expr:"close_date"`
	// IsClosed is true for a closed deal.
	IsClosed bool `expr:"is_closed"`
	// IsWon is true for a won deal.
	IsWon bool `expr:"is_won"`
	// OwnerID is the owner's CRM id.
	OwnerID string `expr:"owner_id"`
	// ContactRoles lists the roles of the deal's contacts.
	ContactRoles []string `expr:"contact_roles"`
	// Fields holds every CRM field by its CRM name; a missing field reads as nil.
	Fields map[string]any `expr:"fields"`
}

// NewRuleEnv returns the rule environment for deal at now.
func NewRuleEnv(deal Deal, now time.Time) RuleEnv {
	rd := RuleDeal{
		ID: deal.ID, Name: deal.Name, Account: deal.Account, Stage: deal.Stage, Pipeline: deal.Pipeline,
		Type: deal.Type, Amount: deal.Amount, IsClosed: deal.IsClosed, IsWon: deal.IsWon,
		OwnerID: deal.OwnerID, Fields: deal.Fields,
	}
	if !deal.CloseDate.IsZero() {
		rd.CloseDate = deal.CloseDate.In(time.UTC)
	}
	if rd.Fields == nil {
		rd.Fields = map[string]any{}
	}
	rd.ContactRoles = make([]string, 0, len(deal.Contacts))
	for _, c := range deal.Contacts {
		if c.Role != "" {
			rd.ContactRoles = append(rd.ContactRoles, c.Role)
		}
	}
	return RuleEnv{Deal: rd, Connection: deal.ConnectionName, CRM: deal.CRM, Now: now}
}
