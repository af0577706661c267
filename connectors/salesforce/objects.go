package salesforce

import (
	"fmt"
	"strings"

	"github.com/mapsync/mapsync/connectors"
)

// objectSpec maps a neutral object to its sObject and the fields always fetched.
type objectSpec struct {
	sobject string
	fields  []string
	// deletable objects have IsDeleted and are read through queryAll, so deletes show up.
	deletable bool
}

func specFor(o connectors.Object) (objectSpec, error) {
	switch o {
	case connectors.ObjectDeal:
		return objectSpec{sobject: "Opportunity", deletable: true, fields: []string{
			"Id", "Name", "StageName", "Amount", "CloseDate", "OwnerId", "AccountId", "Probability", "Type",
			"ForecastCategoryName", "IsClosed", "IsWon", "NextStep", "CreatedDate", "LastModifiedDate",
			"SystemModstamp", "IsDeleted",
		}}, nil
	case connectors.ObjectContact:
		return objectSpec{sobject: "Contact", deletable: true, fields: []string{
			"Id", "FirstName", "LastName", "Email", "Phone", "Title", "AccountId", "OwnerId", "CreatedDate",
			"LastModifiedDate", "SystemModstamp", "IsDeleted",
		}}, nil
	case connectors.ObjectDealContact:
		return objectSpec{sobject: "OpportunityContactRole", deletable: true, fields: []string{
			"Id", "OpportunityId", "ContactId", "Role", "IsPrimary", "SystemModstamp", "IsDeleted",
		}}, nil
	case connectors.ObjectOwner:
		return objectSpec{sobject: "User", fields: []string{
			"Id", "Name", "FirstName", "LastName", "Email", "Username", "IsActive", "SystemModstamp",
		}}, nil
	}
	return objectSpec{}, &connectors.Error{Kind: connectors.KindPermanent, Code: "UNKNOWN_OBJECT", Message: fmt.Sprintf("object %q is not supported", o)}
}

// selectFields returns the spec's fields plus extra ones, validated and without duplicates (names
// compare without case, as in SOQL).
func (s objectSpec) selectFields(extra []string) ([]string, error) {
	out := append([]string(nil), s.fields...)
	seen := make(map[string]bool, len(out)+len(extra))
	for _, f := range out {
		seen[strings.ToLower(f)] = true
	}
	for _, f := range extra {
		if !validField(f) {
			return nil, &connectors.Error{Kind: connectors.KindPermanent, Code: "INVALID_FIELD", Message: fmt.Sprintf("invalid field name %q", truncate(f, 80))}
		}
		if k := strings.ToLower(f); !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	return out, nil
}
