package connectors

import "context"

// DealFetcher reads named deals, with their contacts and contact roles, as a webhook about
// them asks: a few records by id instead of an incremental pull. Both connectors implement it.
type DealFetcher interface {
	// FetchDeals reads the deals req.IDs names, their complete contact roles and the contacts
	// those roles name, in as few calls as the CRM allows (batches by id). A deal the CRM still
	// keeps deleted (Salesforce recycle bin, HubSpot archived) comes back with Deleted set and
	// no roles; one it does not know at all is listed in Missing. A failure fails the whole
	// fetch: a partial role set would delete roles.
	FetchDeals(ctx context.Context, req FetchRequest) (*Fetched, error)
}

// FetchRequest says which deals to read.
type FetchRequest struct {
	// IDs are the deals' CRM ids.
	IDs []string
	// Fields lists extra CRM field names per object (ObjectDeal, ObjectContact), as in
	// PullRequest.Fields.
	Fields map[Object][]string
}

// Fetched is what FetchDeals read.
type Fetched struct {
	// Deals are the deals found, live or deleted.
	Deals []Record
	// Contacts are the contacts the live deals' roles name.
	Contacts []Record
	// RoleRecords are the roles as ObjectDealContact records (as a deal_contact pull delivers
	// them); Roles maps each live deal found to its complete role set (empty: none).
	RoleRecords []Record
	Roles       map[string][]DealContact
	// Missing are the ids the CRM does not know (deleted for good, or never existed).
	Missing []string
}
