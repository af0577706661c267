package salesforce

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/mapsync/mapsync/connectors"
)

// describeResult is the part of /sobjects/{Object}/describe the connector reads.
type describeResult struct {
	Name   string `json:"name"`
	Fields []struct {
		Name           string `json:"name"`
		Label          string `json:"label"`
		Type           string `json:"type"`
		Length         int    `json:"length"`
		Updateable     bool   `json:"updateable"`
		Nillable       bool   `json:"nillable"`
		Custom         bool   `json:"custom"`
		Restricted     bool   `json:"restrictedPicklist"`
		PicklistValues []struct {
			Active bool   `json:"active"`
			Value  string `json:"value"`
		} `json:"picklistValues"`
	} `json:"fields"`
}

// Describe implements connectors.Connector with GET /sobjects/{Object}/describe.
func (c *Connector) Describe(ctx context.Context, object connectors.Object) ([]connectors.FieldMeta, error) {
	spec, err := specFor(object)
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", object, err)
	}
	var d describeResult
	if err := c.do(ctx, call{op: "describe", method: http.MethodGet, path: c.base + "/sobjects/" + spec.sobject + "/describe"}, &d); err != nil {
		return nil, fmt.Errorf("describe %s: %w", object, err)
	}
	out := make([]connectors.FieldMeta, 0, len(d.Fields))
	for _, f := range d.Fields {
		typ, restricted := neutralType(f.Type)
		m := connectors.FieldMeta{
			Name: f.Name, Label: f.Label, Type: typ, Updateable: f.Updateable, Nillable: f.Nillable,
			Custom: f.Custom, Restricted: restricted || f.Restricted,
		}
		switch typ {
		case connectors.TypeString, connectors.TypeText, connectors.TypeEmail, connectors.TypePhone,
			connectors.TypeURL, connectors.TypePicklist, connectors.TypeMultiPicklist:
			m.Length = f.Length
		}
		for _, v := range f.PicklistValues {
			if v.Active {
				m.Options = append(m.Options, v.Value)
			}
		}
		if len(m.Options) == 0 {
			m.Restricted = false
		}
		out = append(out, m)
	}
	return out, nil
}

// neutralType maps a describe type to a neutral one; restricted is true for types whose values
// must come from the picklist regardless of restrictedPicklist.
func neutralType(t string) (typ connectors.FieldType, restricted bool) {
	switch t {
	case "id":
		return connectors.TypeID, false
	case "string", "encryptedstring", "combobox", "time":
		return connectors.TypeString, false
	case "textarea":
		return connectors.TypeText, false
	case "picklist":
		return connectors.TypePicklist, false
	case "multipicklist":
		return connectors.TypeMultiPicklist, false
	case "reference":
		return connectors.TypeReference, false
	case "boolean":
		return connectors.TypeBool, false
	case "currency":
		return connectors.TypeCurrency, false
	case "percent":
		return connectors.TypePercent, false
	case "double", "int", "long":
		return connectors.TypeNumber, false
	case "date":
		return connectors.TypeDate, false
	case "datetime":
		return connectors.TypeDateTime, false
	case "email":
		return connectors.TypeEmail, false
	case "phone":
		return connectors.TypePhone, false
	case "url":
		return connectors.TypeURL, false
	}
	// base64, address, location, anyType, complexvalue: nothing mapsync writes; shown as text.
	return connectors.TypeString, false
}

// CheckShape implements connectors.Shaped: a describe reply names its object and lists its fields.
func (d *describeResult) CheckShape() error {
	if d.Name == "" || d.Fields == nil {
		return errors.New(`no "name" or "fields"`)
	}
	return nil
}
