package hubspot

import (
	"fmt"
	"time"

	"github.com/mapsync/mapsync/connectors"
)

// objectSpec says how one mapsync object maps onto a HubSpot object type.
type objectSpec struct {
	// typ is HubSpot's object type in URLs (deals, contacts).
	typ string
	// stamp is the modification-stamp property: hs_lastmodifieddate on deals, lastmodifieddate on
	// contacts.
	stamp string
	// needed are the properties the connector always requests besides the configured ones.
	needed []string
}

var (
	dealSpec = objectSpec{
		typ:   "deals",
		stamp: "hs_lastmodifieddate",
		needed: []string{"dealname", "amount", "dealstage", "pipeline", "closedate", "createdate",
			"hs_lastmodifieddate", "hs_object_id", "hubspot_owner_id"},
	}
	contactSpec = objectSpec{
		typ:    "contacts",
		stamp:  "lastmodifieddate",
		needed: []string{"email", "firstname", "lastname", "createdate", "lastmodifieddate", "hs_object_id"},
	}
)

// specFor returns the spec of a pullable record object.
func specFor(o connectors.Object) (objectSpec, error) {
	switch o {
	case connectors.ObjectDeal:
		return dealSpec, nil
	case connectors.ObjectContact:
		return contactSpec, nil
	default:
		return objectSpec{}, fmt.Errorf("hubspot: object %q is not a CRM record object", o)
	}
}

// properties returns the needed properties followed by the extra ones, without duplicates.
func (s objectSpec) properties(extra []string) []string {
	seen := make(map[string]bool, len(s.needed)+len(extra))
	out := make([]string, 0, len(s.needed)+len(extra))
	for _, list := range [][]string{s.needed, extra} {
		for _, p := range list {
			if p == "" || seen[p] {
				continue
			}
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// toRecord turns a HubSpot object into a mapsync record. Property values stay strings (or nil for
// null). The modification stamp comes from the spec's stamp property, falling back to updatedAt;
// a record with neither is an error, because the cursor cannot order it.
func (s objectSpec) toRecord(o connectors.Object, obj *object) (connectors.Record, error) {
	if obj.ID == "" {
		return connectors.Record{}, fmt.Errorf("decode %s: record without id", s.typ)
	}
	fields := obj.Properties
	if fields == nil {
		fields = map[string]any{}
	}
	raw, _ := fields[s.stamp].(string)
	if raw == "" {
		raw = obj.UpdatedAt
	}
	var stamp time.Time
	if raw != "" {
		t, err := parseTime(raw)
		if err != nil {
			return connectors.Record{}, fmt.Errorf("decode %s %s stamp: %w", s.typ, obj.ID, err)
		}
		stamp = t
	}
	if stamp.IsZero() {
		return connectors.Record{}, fmt.Errorf("decode %s %s: no %s or updatedAt", s.typ, obj.ID, s.stamp)
	}
	return connectors.Record{
		Object:     o,
		ID:         string(obj.ID),
		Fields:     fields,
		ModifiedAt: stamp,
		Deleted:    obj.Archived,
	}, nil
}
