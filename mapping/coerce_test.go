package mapping

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/plans"
)

func TestCoerce(t *testing.T) {
	t.Parallel()
	paris, _ := time.LoadLocation("Europe/Paris")
	f := func(typ connectors.FieldType, mod ...func(*connectors.FieldMeta)) connectors.FieldMeta {
		m := connectors.FieldMeta{Name: "F__c", Type: typ, Updateable: true, Nillable: true}
		for _, fn := range mod {
			fn(&m)
		}
		return m
	}
	length := func(n int) func(*connectors.FieldMeta) { return func(m *connectors.FieldMeta) { m.Length = n } }
	status := func(m *connectors.FieldMeta) {
		m.Options, m.Restricted = []string{"on_track", "at_risk", "off_track", "completed"}, true
	}
	tests := []struct {
		name     string
		meta     connectors.FieldMeta
		in       any
		want     any
		wantCode string
	}{
		{"int to percent", f(connectors.TypePercent), 50, 50.0, ""},
		{"numeric string to number", f(connectors.TypeNumber), " 12.5 ", 12.5, ""},
		{"currency", f(connectors.TypeCurrency), int64(250000), 250000.0, ""},
		{"text to number", f(connectors.TypeNumber), "lots", nil, CodeWrongType},
		{"bool to number", f(connectors.TypeNumber), true, nil, CodeWrongType},
		{"time to date in its zone", f(connectors.TypeDate), time.Date(2025, 3, 5, 0, 30, 0, 0, paris), "2025-03-05", ""},
		{"pointer time to date", f(connectors.TypeDate), ptr(time.Date(2025, 3, 5, 23, 0, 0, 0, time.UTC)), "2025-03-05", ""},
		{"plans date to date", f(connectors.TypeDate), date(9), "2025-03-09", ""},
		{"string to date", f(connectors.TypeDate), "2025-03-09", "2025-03-09", ""},
		{"time to datetime in UTC", f(connectors.TypeDateTime), time.Date(2025, 3, 5, 10, 30, 0, 0, paris), "2025-03-05T09:30:00.000Z", ""},
		{"salesforce datetime string", f(connectors.TypeDateTime), "2025-03-05T09:30:00.000+0000", "2025-03-05T09:30:00.000Z", ""},
		{"not a date", f(connectors.TypeDate), "soon", nil, CodeWrongType},
		{"bool", f(connectors.TypeBool), true, true, ""},
		{"bool from text", f(connectors.TypeBool), "false", false, ""},
		{"nil bool is false", f(connectors.TypeBool), nil, false, ""},
		{"bad bool", f(connectors.TypeBool), "yes please", nil, CodeWrongType},
		{"picklist allowed", f(connectors.TypePicklist, status), "at_risk", "at_risk", ""},
		{"picklist not allowed", f(connectors.TypePicklist, status), "cancelled", nil, CodeNotAnOption},
		{"open picklist takes anything", f(connectors.TypePicklist), "cancelled", "cancelled", ""},
		{"multipicklist list", f(connectors.TypeMultiPicklist, status), []string{"on_track", "at_risk"}, "on_track;at_risk", ""},
		{"multipicklist bad member", f(connectors.TypeMultiPicklist, status), []any{"on_track", "nope"}, nil, CodeNotAnOption},
		{"string fits", f(connectors.TypeString, length(5)), "héllo", "héllo", ""},
		{"string too long", f(connectors.TypeString, length(4)), "héllo", nil, CodeTooLong},
		{"number to string", f(connectors.TypeString), 42, "42", ""},
		{"url", f(connectors.TypeURL, length(255)), "https://x.test/p", "https://x.test/p", ""},
		{"empty clears", f(connectors.TypeString), "", nil, ""},
		{"nil clears a number", f(connectors.TypeNumber), nil, nil, ""},
		{"nil pointer clears", f(connectors.TypeDate), (*time.Time)(nil), nil, ""},
		{"required field", f(connectors.TypeString, func(m *connectors.FieldMeta) { m.Nillable = false }), "", nil, CodeRequired},
		{"read-only field", f(connectors.TypeString, func(m *connectors.FieldMeta) { m.Updateable = false }), "x", nil, CodeReadOnly},
		{"id field", f(connectors.TypeID), "x", nil, CodeReadOnly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Coerce(tt.meta, tt.in)
			var ve *ValueError
			switch {
			case tt.wantCode == "" && err != nil:
				t.Fatalf("got error %v, want %#v", err, tt.want)
			case tt.wantCode != "" && (!errors.As(err, &ve) || ve.Code != tt.wantCode || ve.Field != "F__c"):
				t.Fatalf("got %#v, %v; want a ValueError %s on F__c", got, err, tt.wantCode)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestDesiredCoerceTruncates(t *testing.T) {
	t.Parallel()
	meta := connectors.FieldMeta{Name: "NextStep", Type: connectors.TypeString, Length: 5, Updateable: true, Nillable: true}
	d := Desired{Field: "NextStep", Value: "Sign the MSA", Truncate: true}
	if got, err := d.Coerce(meta); err != nil || got != "Sign " {
		t.Errorf("truncate: got %#v, %v; want \"Sign \"", got, err)
	}
	d.Truncate = false
	if _, err := d.Coerce(meta); err == nil {
		t.Errorf("without truncate: got no error, want too_long")
	}
}

func TestCoerceAll(t *testing.T) {
	t.Parallel()
	meta := []connectors.FieldMeta{
		{Name: "MAP_Progress__c", Type: connectors.TypePercent, Updateable: true, Nillable: true},
		{Name: "MAP_Status__c", Type: connectors.TypePicklist, Options: []string{"on_track"}, Restricted: true, Updateable: true, Nillable: true},
	}
	ds := CoerceAll([]Desired{
		{Field: "map_progress__c", Value: 40},
		{Field: "MAP_Status__c", Value: "at_risk"},
		{Field: "Gone__c", Value: "x"},
		{Field: "Skipped__c", Skip: SkipWhenFalse},
	}, meta)
	if ds[0].Value != 40.0 || ds[0].Skip != "" {
		t.Errorf("case-insensitive name: got %+v, want 40.0", ds[0])
	}
	var ve *ValueError
	if ds[1].Skip != SkipInvalid || !errors.As(ds[1].Err, &ve) || ve.Code != CodeNotAnOption {
		t.Errorf("picklist: got %+v, want invalid not_an_option", ds[1])
	}
	if ds[2].Skip != SkipInvalid || !errors.As(ds[2].Err, &ve) || ve.Code != CodeReadOnly {
		t.Errorf("unknown field: got %+v, want invalid read_only", ds[2])
	}
	if ds[3].Skip != SkipWhenFalse || ds[3].Err != nil {
		t.Errorf("skipped: got %+v, want it left alone", ds[3])
	}
}

func TestEqual(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b any
		want bool
	}{
		{"nil and empty", nil, "", true},
		{"nil and value", nil, "x", false},
		{"hubspot number string", "45", 45.0, true},
		{"decimal string", "45.50", 45.5, true},
		{"different numbers", "45", 46.0, false},
		{"bool and string", true, "true", true},
		{"bool and other string", false, "true", false},
		{"salesforce datetime", "2025-03-05T09:30:00.000+0000", "2025-03-05T09:30:00.000Z", true},
		{"date strings", "2025-03-05", "2025-03-05", true},
		{"date and time", "2025-03-05", time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC), true},
		{"text", "at_risk", "at_risk", true},
		{"text case", "at_risk", "At_risk", false},
		{"plans date", plans.Date{}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Equal(tt.a, tt.b); got != tt.want {
				t.Errorf("Equal(%#v, %#v): got %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := Equal(tt.b, tt.a); got != tt.want {
				t.Errorf("Equal(%#v, %#v): got %v, want %v", tt.b, tt.a, got, tt.want)
			}
		})
	}
}
