package hubspot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// This file holds HubSpot's wire types (CRM v3 objects, search, batch, properties, associations v4,
// owners, errors) and the decoding rules they need: ids that arrive as JSON numbers or strings,
// dates as ISO 8601 or epoch milliseconds, property values as strings or null.

// flexID is an id that HubSpot sends as a JSON number in some places and as a string in others
// (associations v4 toObjectId). It always holds the decimal string form.
type flexID string

// UnmarshalJSON accepts a JSON string, a JSON number or null.
func (f *flexID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		*f = ""
		return nil
	case len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && bytes.IndexByte(b, '\\') < 0:
		// The common case, a string without escapes: its bytes (the reply's decoder has checked
		// the token), without a second decoder pass per record.
		*f = flexID(b[1 : len(b)-1])
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("decode id: %w", err)
		}
		*f = flexID(s)
		return nil
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("decode id %s: %w", b, err)
		}
		if i, err := n.Int64(); err == nil {
			*f = flexID(strconv.FormatInt(i, 10))
			return nil
		}
		*f = flexID(n.String())
		return nil
	}
}

// parseTime parses a HubSpot date or datetime value: ISO 8601 (with or without fractional seconds
// or zone) or epoch milliseconds as a decimal string. The result is in UTC.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("parse time: empty value")
	}
	if isDigits(s) {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("parse epoch ms %q: %w", s, err)
		}
		return time.UnixMilli(ms).UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("parse time %q: not ISO 8601 or epoch ms", s)
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

// formatMillis renders t as the epoch-millisecond string HubSpot's filters take.
func formatMillis(t time.Time) string {
	return strconv.FormatInt(t.UnixMilli(), 10)
}

// object is HubSpot's SimplePublicObject (and its archived variant). Property values are strings
// or null; they decode straight into the map a Record keeps (a null stays a nil entry, distinct from
// ""), so a record costs one map.
type object struct {
	ID         flexID         `json:"id"`
	Properties map[string]any `json:"properties"`
	CreatedAt  string         `json:"createdAt"`
	UpdatedAt  string         `json:"updatedAt"`
	ArchivedAt string         `json:"archivedAt,omitempty"`
	Archived   bool           `json:"archived"`
}

// paging is the paging block of list, search and v4 association replies. Next is nil on the last
// page.
type paging struct {
	Next *struct {
		After string `json:"after"`
		Link  string `json:"link,omitempty"`
	} `json:"next,omitempty"`
}

// nextAfter returns the cursor of the next page, or "" on the last page.
func (p *paging) nextAfter() string {
	if p == nil || p.Next == nil {
		return ""
	}
	return p.Next.After
}

// listPage is the reply of GET /crm/v3/objects/{type}.
type listPage struct {
	Results []object `json:"results"`
	Paging  *paging  `json:"paging,omitempty"`
}

// searchFilter is one filter of a search filter group.
type searchFilter struct {
	PropertyName string   `json:"propertyName"`
	Operator     string   `json:"operator"`
	Value        string   `json:"value,omitempty"`
	HighValue    string   `json:"highValue,omitempty"`
	Values       []string `json:"values,omitempty"`
}

// searchFilterGroup holds filters that are ANDed; groups are ORed.
type searchFilterGroup struct {
	Filters []searchFilter `json:"filters"`
}

// searchSort is one sort rule of a search request.
type searchSort struct {
	PropertyName string `json:"propertyName"`
	Direction    string `json:"direction"`
}

// searchRequest is the body of POST /crm/v3/objects/{type}/search.
type searchRequest struct {
	FilterGroups []searchFilterGroup `json:"filterGroups"`
	Sorts        []searchSort        `json:"sorts"`
	Properties   []string            `json:"properties"`
	Limit        int                 `json:"limit"`
	After        string              `json:"after,omitempty"`
}

// searchPage is the reply of a search.
type searchPage struct {
	Total   int      `json:"total"`
	Results []object `json:"results"`
	Paging  *paging  `json:"paging,omitempty"`
}

// batchError is one error of a 207 batch reply.
type batchError struct {
	Status      string              `json:"status"`
	Category    string              `json:"category"`
	SubCategory string              `json:"subCategory"`
	Message     string              `json:"message"`
	Context     map[string][]string `json:"context"`
}

// batchReply is the reply of the v3 batch endpoints (200 or 207).
type batchReply struct {
	Status    string       `json:"status"`
	Results   []object     `json:"results"`
	NumErrors int          `json:"numErrors"`
	Errors    []batchError `json:"errors"`
}

// batchUpdateInput is one input of batch/update.
type batchUpdateInput struct {
	ID         string            `json:"id"`
	Properties map[string]string `json:"properties"`
}

// batchUpdateRequest is the body of batch/update.
type batchUpdateRequest struct {
	Inputs []batchUpdateInput `json:"inputs"`
}

// propertyOption is one option of an enumeration property.
type propertyOption struct {
	Label        string `json:"label"`
	Value        string `json:"value"`
	DisplayOrder int    `json:"displayOrder"`
	Hidden       bool   `json:"hidden"`
	Description  string `json:"description"`
}

// property is one entry of GET /crm/v3/properties/{type}.
type property struct {
	Name                 string           `json:"name"`
	Label                string           `json:"label"`
	Description          string           `json:"description"`
	GroupName            string           `json:"groupName"`
	Type                 string           `json:"type"`
	FieldType            string           `json:"fieldType"`
	Options              []propertyOption `json:"options"`
	Calculated           bool             `json:"calculated"`
	HubspotDefined       bool             `json:"hubspotDefined"`
	HasUniqueValue       bool             `json:"hasUniqueValue"`
	Hidden               bool             `json:"hidden"`
	ExternalOptions      bool             `json:"externalOptions"`
	ReferencedObjectType string           `json:"referencedObjectType"`
	ShowCurrencySymbol   bool             `json:"showCurrencySymbol"`
	Archived             bool             `json:"archived"`
	ModificationMetadata *struct {
		ReadOnlyValue      bool `json:"readOnlyValue"`
		ReadOnlyDefinition bool `json:"readOnlyDefinition"`
		Archivable         bool `json:"archivable"`
	} `json:"modificationMetadata"`
}

// propertiesReply is the reply of GET /crm/v3/properties/{type}.
type propertiesReply struct {
	Results []property `json:"results"`
}

// associationType is one type (label) of an association.
type associationType struct {
	Category string  `json:"category"`
	TypeID   int     `json:"typeId"`
	Label    *string `json:"label"`
}

// associationTo is one associated record with its types.
type associationTo struct {
	ToObjectID       flexID            `json:"toObjectId"`
	AssociationTypes []associationType `json:"associationTypes"`
}

// associationResult is one input's result of a v4 batch read.
type associationResult struct {
	From struct {
		ID flexID `json:"id"`
	} `json:"from"`
	To     []associationTo `json:"to"`
	Paging *paging         `json:"paging,omitempty"`
}

// associationBatchRequest is the body of POST /crm/v4/associations/{from}/{to}/batch/read.
type associationBatchRequest struct {
	Inputs []associationBatchInput `json:"inputs"`
}

// associationBatchInput is one input of a v4 batch read; After pages a record's associations.
type associationBatchInput struct {
	ID    string `json:"id"`
	After string `json:"after,omitempty"`
}

// associationBatchReply is the reply of a v4 batch read (200 or 207).
type associationBatchReply struct {
	Status    string              `json:"status"`
	Results   []associationResult `json:"results"`
	NumErrors int                 `json:"numErrors"`
	Errors    []batchError        `json:"errors"`
}

// associationLabel is one entry of GET /crm/v4/associations/{from}/{to}/labels.
type associationLabel struct {
	Category string  `json:"category"`
	TypeID   int     `json:"typeId"`
	Label    *string `json:"label"`
}

// labelsReply is the reply of the labels endpoint.
type labelsReply struct {
	Results []associationLabel `json:"results"`
}

// owner is one entry of GET /crm/v3/owners/.
type owner struct {
	ID                      flexID `json:"id"`
	Email                   string `json:"email"`
	FirstName               string `json:"firstName"`
	LastName                string `json:"lastName"`
	UserID                  *int64 `json:"userId"`
	UserIDIncludingInactive *int64 `json:"userIdIncludingInactive"`
	Type                    string `json:"type"`
	Teams                   []struct {
		ID      flexID `json:"id"`
		Name    string `json:"name"`
		Primary bool   `json:"primary"`
	} `json:"teams"`
	Archived  bool   `json:"archived"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
}

// ownersPage is the reply of GET /crm/v3/owners/.
type ownersPage struct {
	Results []owner `json:"results"`
	Paging  *paging `json:"paging,omitempty"`
}

// errNoResults is the shape error of a list, search, batch or labels reply without "results":
// HubSpot sends the array on every such reply, empty when nothing matched.
var errNoResults = errors.New(`no "results" array`)

// CheckShape implements connectors.Shaped.
func (p *listPage) CheckShape() error { return requireResults(p.Results == nil) }

// CheckShape implements connectors.Shaped.
func (p *searchPage) CheckShape() error { return requireResults(p.Results == nil) }

// CheckShape implements connectors.Shaped: a batch read without results would read as "no
// associations" and delete roles.
func (p *associationBatchReply) CheckShape() error { return requireResults(p.Results == nil) }

// CheckShape implements connectors.Shaped.
func (p *labelsReply) CheckShape() error { return requireResults(p.Results == nil) }

// CheckShape implements connectors.Shaped.
func (p *ownersPage) CheckShape() error { return requireResults(p.Results == nil) }

func requireResults(missing bool) error {
	if missing {
		return errNoResults
	}
	return nil
}

// CheckShape implements connectors.Shaped.
func (p *propertiesReply) CheckShape() error { return requireResults(p.Results == nil) }

// CheckShape implements connectors.Shaped: a batch reply without results would report every
// input as missing.
func (p *batchReply) CheckShape() error { return requireResults(p.Results == nil) }
