package hubspot

import (
	"reflect"
	"testing"

	"github.com/mapsync/mapsync/connectors"
)

func TestFieldMeta(t *testing.T) {
	t.Parallel()
	ro := &struct {
		ReadOnlyValue      bool `json:"readOnlyValue"`
		ReadOnlyDefinition bool `json:"readOnlyDefinition"`
		Archivable         bool `json:"archivable"`
	}{ReadOnlyValue: true}
	tests := map[string]struct {
		in   property
		want connectors.FieldMeta
	}{
		"text": {in: property{Name: "dealname", Label: "Deal Name", Type: "string", FieldType: "text", HubspotDefined: true},
			want: connectors.FieldMeta{Name: "dealname", Label: "Deal Name", Type: connectors.TypeString, Length: maxPropertyLength, Updateable: true, Nillable: true}},
		"enumeration keeps values not labels, skips hidden": {
			in: property{Name: "dealstage", Type: "enumeration", FieldType: "radio", HubspotDefined: true, Options: []propertyOption{
				{Label: "Closed Won", Value: "closedwon"}, {Label: "Old", Value: "old", Hidden: true}, {Label: "Lost", Value: "closedlost"}}},
			want: connectors.FieldMeta{Name: "dealstage", Type: connectors.TypePicklist, Options: []string{"closedwon", "closedlost"}, Restricted: true, Updateable: true, Nillable: true}},
		"checkbox is multi": {in: property{Name: "tags", Type: "enumeration", FieldType: "checkbox", Options: []propertyOption{{Value: "a"}}},
			want: connectors.FieldMeta{Name: "tags", Type: connectors.TypeMultiPicklist, Options: []string{"a"}, Restricted: true, Updateable: true, Nillable: true, Custom: true}},
		"read-only value": {in: property{Name: "hs_lastmodifieddate", Type: "datetime", FieldType: "date", HubspotDefined: true, ModificationMetadata: ro},
			want: connectors.FieldMeta{Name: "hs_lastmodifieddate", Type: connectors.TypeDateTime, Nillable: true}},
		"calculated": {in: property{Name: "hs_deal_stage_probability", Type: "number", FieldType: "calculation_equation", Calculated: true, HubspotDefined: true},
			want: connectors.FieldMeta{Name: "hs_deal_stage_probability", Type: connectors.TypeNumber, Nillable: true}},
		"owner reference": {in: property{Name: "hubspot_owner_id", Type: "enumeration", FieldType: "select", ReferencedObjectType: "OWNER", HubspotDefined: true, Options: []propertyOption{{Value: "42"}}},
			want: connectors.FieldMeta{Name: "hubspot_owner_id", Type: connectors.TypeReference, Updateable: true, Nillable: true}},
		"bool":      {in: property{Name: "hs_is_closed", Type: "bool", FieldType: "booleancheckbox", HubspotDefined: true}, want: connectors.FieldMeta{Name: "hs_is_closed", Type: connectors.TypeBool, Updateable: true, Nillable: true}},
		"date":      {in: property{Name: "closedate", Type: "date", FieldType: "date", HubspotDefined: true}, want: connectors.FieldMeta{Name: "closedate", Type: connectors.TypeDate, Updateable: true, Nillable: true}},
		"currency":  {in: property{Name: "amount", Type: "number", FieldType: "number", ShowCurrencySymbol: true, HubspotDefined: true}, want: connectors.FieldMeta{Name: "amount", Type: connectors.TypeCurrency, Updateable: true, Nillable: true}},
		"email":     {in: property{Name: "email", Type: "string", FieldType: "text", HubspotDefined: true}, want: connectors.FieldMeta{Name: "email", Type: connectors.TypeEmail, Length: maxPropertyLength, Updateable: true, Nillable: true}},
		"record id": {in: property{Name: "hs_object_id", Type: "number", FieldType: "number", HubspotDefined: true}, want: connectors.FieldMeta{Name: "hs_object_id", Type: connectors.TypeID}},
		"long text": {in: property{Name: "description", Type: "string", FieldType: "textarea", HubspotDefined: true}, want: connectors.FieldMeta{Name: "description", Type: connectors.TypeText, Length: maxPropertyLength, Updateable: true, Nillable: true}},
		"phone":     {in: property{Name: "phone", Type: "string", FieldType: "phonenumber", HubspotDefined: true}, want: connectors.FieldMeta{Name: "phone", Type: connectors.TypePhone, Length: maxPropertyLength, Updateable: true, Nillable: true}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := fieldMeta(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
