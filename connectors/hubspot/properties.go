package hubspot

import (
	"strings"

	"github.com/mapsync/mapsync/connectors"
)

// maxPropertyLength is the longest value HubSpot stores in a text property (65,536 characters).
const maxPropertyLength = 65536

// fieldMeta turns one HubSpot property into mapsync's field metadata: type and fieldType mapped
// to a neutral type, option values (not labels) of visible options, and Updateable false for
// read-only values (modificationMetadata.readOnlyValue) and calculated properties.
func fieldMeta(p property) connectors.FieldMeta {
	fm := connectors.FieldMeta{
		Name:       p.Name,
		Label:      p.Label,
		Type:       fieldType(p),
		Updateable: true,
		Nillable:   true,
		Custom:     !p.HubspotDefined,
	}
	if p.ModificationMetadata != nil && p.ModificationMetadata.ReadOnlyValue {
		fm.Updateable = false
	}
	if p.Calculated || strings.HasPrefix(p.FieldType, "calculation_") {
		fm.Updateable = false
	}
	if p.Name == "hs_object_id" {
		fm.Updateable, fm.Nillable = false, false
	}
	switch fm.Type {
	case connectors.TypeString, connectors.TypeText, connectors.TypeEmail, connectors.TypePhone, connectors.TypeURL:
		fm.Length = maxPropertyLength
	}
	if p.Type == "enumeration" && fm.Type != connectors.TypeBool && fm.Type != connectors.TypeReference {
		for _, o := range p.Options {
			if o.Hidden {
				continue
			}
			fm.Options = append(fm.Options, o.Value)
		}
		// HubSpot rejects values outside the options (INVALID_OPTION) unless they come from an
		// external source.
		fm.Restricted = !p.ExternalOptions
	}
	return fm
}

// fieldType maps HubSpot's (type, fieldType) pair to a neutral type.
func fieldType(p property) connectors.FieldType {
	switch {
	case p.Name == "hs_object_id":
		return connectors.TypeID
	case p.ReferencedObjectType != "" || p.Name == "hubspot_owner_id":
		return connectors.TypeReference
	}
	switch p.Type {
	case "number":
		if p.ShowCurrencySymbol {
			return connectors.TypeCurrency
		}
		return connectors.TypeNumber
	case "date":
		return connectors.TypeDate
	case "datetime":
		return connectors.TypeDateTime
	case "bool":
		return connectors.TypeBool
	case "phone_number":
		return connectors.TypePhone
	case "enumeration":
		switch p.FieldType {
		case "booleancheckbox":
			return connectors.TypeBool
		case "checkbox":
			return connectors.TypeMultiPicklist
		default:
			return connectors.TypePicklist
		}
	}
	switch p.FieldType {
	case "textarea", "html":
		return connectors.TypeText
	case "phonenumber":
		return connectors.TypePhone
	case "file":
		return connectors.TypeURL
	}
	if p.Name == "email" || strings.HasSuffix(p.Name, "_email") {
		return connectors.TypeEmail
	}
	return connectors.TypeString
}
