package connectors

import (
	"context"
	"time"
)

// Connector is one CRM connection seen through mapsync's CRM-neutral vocabulary. Implementations
// translate wire formats and nothing more: they take all configuration as constructor arguments,
// never return tokens in records or errors, and fail a page rather than return half of it.
//
// A Connector is safe for concurrent use by many workers; they share its token source, rate
// governor and HTTP connections. Every method returns early with ctx.Err() (possibly wrapped) when
// ctx is cancelled. Errors that come from the CRM or the network are *Error values (possibly wrapped),
// so callers decide with IsRetryable, RetryAfter and KindOf.
type Connector interface {
	// Pull streams the records of req.Object changed since req.Since (or all of them when req.Full),
	// page by page, in ascending (modification stamp, id) order (a Full pull may use another order;
	// see Page), calling fn once per page. See Page for what a page guarantees and PullRequest for
	// the overlap window.
	//
	// A page is delivered whole or not at all: when fetching or decoding a page fails, Pull returns
	// the error without calling fn for that page, and the pages already delivered stay valid (their
	// cursors are safe to commit). When fn returns an error, Pull stops and returns it (wrapped).
	// Pull returns nil only after the last page: for a Full pull that means every live record was
	// delivered, so the caller may mark the ones it did not see as deleted.
	Pull(ctx context.Context, req PullRequest, fn func(Page) error) error
	// Describe returns the metadata of every field of object, in the CRM's order.
	Describe(ctx context.Context, object Object) ([]FieldMeta, error)
	// Update writes changes to records of object, batched by the CRM's maximum, and returns one Result
	// per change in input order for the batches it sent. A non-nil error means a batch as a whole
	// failed (network, auth, rate limit after retries); the results of earlier batches are still
	// returned, and changes without a Result were not applied (or their outcome is unknown).
	Update(ctx context.Context, object Object, changes []Change) ([]Result, error)
}

// PullRequest says what to pull.
type PullRequest struct {
	// Object is the kind of record to pull.
	Object Object
	// Since is the cursor of the last committed page; the zero Cursor pulls from the beginning.
	Since Cursor
	// Full pulls every record regardless of Since (a reconcile), including records the CRM reports
	// as deleted but still keeps (Salesforce recycle bin, HubSpot archived).
	Full bool
	// Fields lists extra CRM field names to fetch (custom fields included) on top of the ones the
	// connector always fetches for Object. Names are validated; an invalid name fails the pull.
	Fields []string
	// Overlap re-reads records stamped up to Overlap before Since.Stamp, so records that became
	// visible late (written in a transaction that committed after a later stamp was read) are not
	// missed. A connector may skip window records its cursor says were delivered already (Salesforce
	// keeps their (id, stamp) pairs in Since.Extra); others are delivered again; see Page.
	Overlap time.Duration
	// Deals, for an ObjectDealContact pull by a DealFeeder, are the deals the deal pull of the same
	// run delivers: their roles are read instead of walking the deals again. The caller sets it
	// only when that pull covers every deal this one would walk (a Full pull beside a Full deal
	// pull that starts from the beginning; an incremental one beside an incremental deal pull from
	// a cursor no later than this one's). Nil: the connector finds the deals itself.
	Deals *DealFeed
}

// Page is one batch of records delivered by Connector.Pull.
//
// Contract for the store:
//   - Records of an incremental pull are in ascending (ModifiedAt, ID) order within a page and
//     across the pages of one pull. A Full pull may use another order where that saves API calls
//     (Salesforce deal_contact comes in deal order, so each page holds complete role sets); its
//     Cursor is then the greatest (ModifiedAt, ID) delivered so far. No (ID, ModifiedAt) pair is
//     delivered twice in one pull.
//   - Records in the overlap window (stamped at or before PullRequest.Since) may have been delivered
//     by an earlier pull: upsert them idempotently, keeping the stored record when its stamp is
//     newer than or equal to the delivered one. Store the whole Cursor, Extra included: a connector
//     may keep there what it needs to skip such records next time.
//   - Cursor is the (stamp, id) of the last record of the page, or PullRequest.Since when that is
//     later (pages of the overlap window, or of a Full pull given the stored cursor as Since), so it
//     never moves backwards within a pull or behind Since. Commit it in the same transaction as the
//     page's records and pass it as PullRequest.Since next time. A crash between pages loses
//     nothing: the next pull starts after the last committed page.
//   - Pages are never empty: a page whose records were all delivered earlier in the same pull is
//     not delivered, and a pull with nothing new calls fn zero times.
//   - Deleted records come as Records with Deleted set and whatever fields the CRM still returns.
//   - For ObjectDealContact, Roles holds the complete current set of contact roles of every deal
//     that has a record on the page (a deal whose last role was removed maps to an empty slice):
//     replace each listed deal's roles with it.
type Page struct {
	// Records are the page's records.
	Records []Record
	// Cursor covers every record of the page.
	Cursor Cursor
	// Roles maps a deal id to its complete set of contact roles; only for ObjectDealContact pulls.
	Roles map[string][]DealContact
}

// FieldType is a CRM-neutral field type.
type FieldType string

// The field types Describe reports.
const (
	TypeString        FieldType = "string"        // single-line text
	TypeText          FieldType = "text"          // long or multi-line text
	TypeNumber        FieldType = "number"        // integer or decimal
	TypeCurrency      FieldType = "currency"      // money amount
	TypePercent       FieldType = "percent"       // percentage, 0..100
	TypeDate          FieldType = "date"          // calendar date, YYYY-MM-DD
	TypeDateTime      FieldType = "datetime"      // instant
	TypeBool          FieldType = "bool"          // true or false
	TypePicklist      FieldType = "picklist"      // one value from Options
	TypeMultiPicklist FieldType = "multipicklist" // several values from Options, joined with ';'
	TypeReference     FieldType = "reference"     // the id of another record
	TypeID            FieldType = "id"            // the record's own id
	TypeURL           FieldType = "url"           // web address
	TypeEmail         FieldType = "email"         // e-mail address
	TypePhone         FieldType = "phone"         // phone number
)

// FieldMeta describes one field of a CRM object, as the mapping layer needs it.
type FieldMeta struct {
	// Name is the CRM's API name of the field.
	Name string `json:"name"`
	// Label is the field's display label.
	Label string `json:"label"`
	// Type is the neutral type.
	Type FieldType `json:"type"`
	// Length is the maximum length in characters for text types; 0 when not applicable.
	Length int `json:"length,omitempty"`
	// Options lists the active picklist values (API values, not labels).
	Options []string `json:"options,omitempty"`
	// Restricted is true when only Options may be written.
	Restricted bool `json:"restricted,omitempty"`
	// Updateable is true when the field can be written on an existing record.
	Updateable bool `json:"updateable"`
	// Nillable is true when the field may be empty.
	Nillable bool `json:"nillable"`
	// Custom is true for fields an admin added.
	Custom bool `json:"custom,omitempty"`
}

// Change is a set of field values to write to one record.
type Change struct {
	// ID is the CRM id of the record.
	ID string
	// Fields maps CRM field names to values: string, float64 (or any Go number), bool, or nil to clear.
	Fields map[string]any
}

// Result is the outcome of one Change.
type Result struct {
	// ID is the CRM id of the record the change was for.
	ID string
	// OK is true when the CRM applied the change.
	OK bool
	// Err says why not, when !OK: Kind is KindPermanent (do not retry as is: validation, bad value,
	// deleted record) or KindTransient (retry later: row lock), with the CRM's status code and message.
	Err *Error
}
