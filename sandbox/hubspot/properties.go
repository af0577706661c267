package hubspot

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Property declares one CRM property (a field) of an object type, as
// GET /crm/v3/properties/{objectType} describes it.
type Property struct {
	// ObjectType is "deals" or "contacts" (or "0-3", "0-1").
	ObjectType string
	// Name is the internal name, e.g. "map_status".
	Name string
	// Label is the display name.
	Label string
	// Description is free text.
	Description string
	// GroupName is the property group; empty means "<object>information".
	GroupName string
	// Type is one of string, number, date, datetime, enumeration, bool, phone_number.
	Type string
	// FieldType is one of text, textarea, number, select, radio, checkbox, booleancheckbox, date,
	// phonenumber, calculation_equation; empty picks one from Type.
	FieldType string
	// Options are the allowed values of an enumeration (write values, not labels).
	Options []Option
	// ReadOnly marks a value clients cannot write (modificationMetadata.readOnlyValue).
	ReadOnly bool
	// Calculated marks a value HubSpot computes.
	Calculated bool
	// HubSpotDefined marks a standard property; custom properties leave it false.
	HubSpotDefined bool
	// ReferencedObjectType is set for owner references ("OWNER").
	ReferencedObjectType string
}

// MaxValueLength is the most characters a text property value may hold, as in HubSpot (65,536).
const MaxValueLength = 65536

// Option is one allowed value of an enumeration property.
type Option struct {
	Label        string `json:"label"`
	Value        string `json:"value"`
	DisplayOrder int    `json:"displayOrder"`
	Hidden       bool   `json:"hidden"`
	Description  string `json:"description"`
}

// DefaultCustomProperties returns the custom deal properties mapsync mappings write to:
// map_progress (number), map_status (enumeration), map_next_step and map_plan_url (strings) and
// map_security_review_date (date).
func DefaultCustomProperties() []Property {
	status := []Option{}
	for i, v := range []struct{ value, label string }{
		{"not_started", "Not started"}, {"on_track", "On track"}, {"at_risk", "At risk"},
		{"off_track", "Off track"}, {"completed", "Completed"}, {"cancelled", "Cancelled"},
	} {
		status = append(status, Option{Label: v.label, Value: v.value, DisplayOrder: i})
	}
	return []Property{
		{ObjectType: "deals", Name: "map_progress", Label: "MAP progress", Type: "number", FieldType: "number",
			Description: "Mutual action plan completion, percent."},
		{ObjectType: "deals", Name: "map_status", Label: "MAP status", Type: "enumeration", FieldType: "select", Options: status},
		{ObjectType: "deals", Name: "map_next_step", Label: "MAP next step", Type: "string", FieldType: "text"},
		{ObjectType: "deals", Name: "map_plan_url", Label: "MAP plan URL", Type: "string", FieldType: "text"},
		{ObjectType: "deals", Name: "map_security_review_date", Label: "MAP security review date", Type: "date", FieldType: "date"},
	}
}

// propertyWire is the JSON shape of a property.
type propertyWire struct {
	UpdatedAt            string         `json:"updatedAt"`
	CreatedAt            string         `json:"createdAt"`
	Name                 string         `json:"name"`
	Label                string         `json:"label"`
	Type                 string         `json:"type"`
	FieldType            string         `json:"fieldType"`
	Description          string         `json:"description"`
	GroupName            string         `json:"groupName"`
	Options              []Option       `json:"options"`
	DisplayOrder         int            `json:"displayOrder"`
	Calculated           bool           `json:"calculated"`
	ExternalOptions      bool           `json:"externalOptions"`
	HasUniqueValue       bool           `json:"hasUniqueValue"`
	Hidden               bool           `json:"hidden"`
	HubspotDefined       bool           `json:"hubspotDefined"`
	ShowCurrencySymbol   bool           `json:"showCurrencySymbol,omitempty"`
	ModificationMetadata map[string]any `json:"modificationMetadata"`
	FormField            bool           `json:"formField"`
	ReferencedObjectType string         `json:"referencedObjectType,omitempty"`
	Archived             bool           `json:"archived"`
}

func (ot *objectType) propertyWire(i int, p *Property) propertyWire {
	opts := p.Options
	if opts == nil {
		opts = []Option{}
	}
	group := p.GroupName
	if group == "" {
		group = ot.singular + "information"
	}
	mm := map[string]any{
		"archivable":         !p.HubSpotDefined,
		"readOnlyDefinition": p.HubSpotDefined,
		"readOnlyValue":      p.ReadOnly,
	}
	if p.Type == "enumeration" {
		mm["readOnlyOptions"] = p.HubSpotDefined && p.ReferencedObjectType != ""
	}
	stamp := ot.propsStamp.Format(isoMillis)
	return propertyWire{
		UpdatedAt: stamp, CreatedAt: stamp, Name: p.Name, Label: p.Label, Type: p.Type, FieldType: p.FieldType,
		Description: p.Description, GroupName: group, Options: opts, DisplayOrder: i, Calculated: p.Calculated,
		HubspotDefined: p.HubSpotDefined, ShowCurrencySymbol: p.Name == "amount", ModificationMetadata: mm,
		FormField: !p.ReadOnly, ReferencedObjectType: p.ReferencedObjectType,
	}
}

func defaultFieldType(typ string) string {
	switch typ {
	case "number":
		return "number"
	case "date", "datetime":
		return "date"
	case "enumeration":
		return "select"
	case "bool":
		return "booleancheckbox"
	case "phone_number":
		return "phonenumber"
	default:
		return "text"
	}
}

// handleProperties serves GET /crm/v3/properties/{objectType}.
func (s *Sandbox) handleProperties(w http.ResponseWriter, r *http.Request) {
	ot := s.objectTypeOf(w, r, "objectType")
	if ot == nil {
		return
	}
	archived := r.URL.Query().Get("archived") == "true"
	s.mu.RLock()
	out := make([]propertyWire, 0, len(ot.props))
	if !archived {
		for i, p := range ot.props {
			out = append(out, ot.propertyWire(i, p))
		}
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, map[string]any{"results": out})
}

// handleProperty serves GET /crm/v3/properties/{objectType}/{propertyName}.
func (s *Sandbox) handleProperty(w http.ResponseWriter, r *http.Request) {
	ot := s.objectTypeOf(w, r, "objectType")
	if ot == nil {
		return
	}
	name := r.PathValue("propertyName")
	s.mu.RLock()
	i, ok := ot.propIdx[name]
	var pw propertyWire
	if ok {
		pw = ot.propertyWire(i, ot.props[i])
	}
	s.mu.RUnlock()
	if !ok {
		writeError(w, http.StatusNotFound, catNotFound, fmt.Sprintf("Unable to find property %s for object type %s", name, ot.id))
		return
	}
	writeJSON(w, http.StatusOK, pw)
}

// propertyError is one entry of the VALIDATION_ERROR message list.
type propertyError struct {
	IsValid bool   `json:"isValid"`
	Message string `json:"message"`
	Error   string `json:"error"`
	Name    string `json:"name"`
}

// normalize validates a value written to property name and returns the value as stored.
func (ot *objectType) normalize(name, value string) (int, string, *propertyError) {
	i, ok := ot.propIdx[name]
	if !ok {
		return -1, "", &propertyError{Message: fmt.Sprintf("Property \"%s\" does not exist", name), Error: "PROPERTY_DOESNT_EXIST", Name: name}
	}
	p := ot.props[i]
	if p.ReadOnly {
		return -1, "", &propertyError{Message: fmt.Sprintf("%s is a read only property; its value cannot be set.", name), Error: "READ_ONLY_VALUE", Name: name}
	}
	if value == "" {
		return i, "", nil
	}
	bad := func(code, msg string) (int, string, *propertyError) {
		return -1, "", &propertyError{Message: msg, Error: code, Name: name}
	}
	switch p.Type {
	case "string", "phone_number":
		if n := utf8.RuneCountInString(value); n > MaxValueLength {
			return bad("INVALID_LENGTH", fmt.Sprintf("%s is %d characters long; values can be at most %d characters.", name, n, MaxValueLength))
		}
	case "number":
		f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return bad("INVALID_INTEGER", fmt.Sprintf("%s was not a valid number.", value))
		}
		return i, strconv.FormatFloat(f, 'f', -1, 64), nil
	case "bool":
		switch strings.ToLower(value) {
		case "true", "false":
			return i, strings.ToLower(value), nil
		}
		return bad("INVALID_BOOLEAN", fmt.Sprintf("%s was not a valid boolean.", value))
	case "enumeration":
		vals := []string{value}
		if p.FieldType == "checkbox" {
			vals = strings.Split(value, ";")
		}
		for _, v := range vals {
			if !p.hasOption(v) {
				return bad("INVALID_OPTION", fmt.Sprintf("%s was not one of the allowed options: %s", v, optionList(p.Options)))
			}
		}
		return i, value, nil
	case "date":
		t, err := parseTimeValue(value)
		if err != nil {
			return bad("INVALID_DATE", fmt.Sprintf("%s is not a valid date.", value))
		}
		if t != t.Truncate(24*time.Hour) {
			return bad("INVALID_DATE", fmt.Sprintf("%s is at %s UTC, not midnight!", value, t.Format("15:04:05.000")))
		}
		return i, t.Format(isoDate), nil
	case "datetime":
		t, err := parseTimeValue(value)
		if err != nil {
			return bad("INVALID_DATETIME", fmt.Sprintf("%s is not a valid datetime.", value))
		}
		return i, t.Format(isoMillis), nil
	}
	return i, value, nil
}

func (p *Property) hasOption(v string) bool {
	for _, o := range p.Options {
		if o.Value == v {
			return true
		}
	}
	return false
}

func optionList(opts []Option) string {
	var b strings.Builder
	b.WriteString("[")
	for i, o := range opts {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(o.Value)
	}
	b.WriteString("]")
	return b.String()
}

// Formats of time values on the wire.
const (
	isoMillis = "2006-01-02T15:04:05.000Z"
	isoDate   = "2006-01-02T00:00:00Z"
)

// parseTimeValue reads epoch milliseconds, YYYY-MM-DD, or RFC 3339 (with or without fraction).
func parseTimeValue(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	// Pick the layout by shape first: search filters and sorts parse a stamp per record per
	// call, and every failed attempt would allocate an error.
	if isEpochMillis(v) {
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.UnixMilli(ms).UTC(), nil
		}
	}
	if len(v) == len(time.DateOnly) {
		if t, err := time.Parse(time.DateOnly, v); err == nil {
			return t.UTC(), nil
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02T15:04:05.000Z0700", v); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("parse time %q", v)
}

func isEpochMillis(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if (v[i] < '0' || v[i] > '9') && !(i == 0 && v[i] == '-') {
			return false
		}
	}
	return true
}
