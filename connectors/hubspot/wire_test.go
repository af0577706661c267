package hubspot

import (
	"encoding/json"
	"testing"
	"time"
)

func TestFlexIDDecodesNumbersAndStrings(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in   string
		want flexID
	}{
		"number":     {in: `{"toObjectId":201}`, want: "201"},
		"big number": {in: `{"toObjectId":332507367156}`, want: "332507367156"},
		"string":     {in: `{"toObjectId":"201"}`, want: "201"},
		"null":       {in: `{"toObjectId":null}`, want: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var got associationTo
			if err := json.Unmarshal([]byte(tc.in), &got); err != nil {
				t.Fatalf("unmarshal %s: %v", tc.in, err)
			}
			if got.ToObjectID != tc.want {
				t.Errorf("got %q, want %q", got.ToObjectID, tc.want)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		"iso millis":     {in: "2024-01-15T14:22:10.456Z", want: time.Date(2024, 1, 15, 14, 22, 10, 456e6, time.UTC)},
		"iso no millis":  {in: "2024-03-31T00:00:00Z", want: time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC)},
		"iso with zone":  {in: "2024-03-31T02:00:00+02:00", want: time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC)},
		"epoch ms":       {in: "1705314030000", want: time.Date(2024, 1, 15, 10, 20, 30, 0, time.UTC)},
		"date only":      {in: "2024-03-31", want: time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC)},
		"empty":          {in: "", wantErr: true},
		"garbage":        {in: "yesterday", wantErr: true},
		"negative epoch": {in: "-5", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := parseTime(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseTime(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if !got.Equal(tc.want) || (!tc.wantErr && got.Location() != time.UTC) {
				t.Errorf("parseTime(%q) = %v, want %v in UTC", tc.in, got, tc.want)
			}
		})
	}
}

func TestObjectKeepsNullDistinctFromEmpty(t *testing.T) {
	t.Parallel()
	in := `{"id":"512","properties":{"dealname":"Q1","amount":null,"description":"","hs_lastmodifieddate":"1705314030000"},"updatedAt":"2024-01-15T14:22:10.456Z","archived":false}`
	var obj object
	if err := json.Unmarshal([]byte(in), &obj); err != nil {
		t.Fatal(err)
	}
	rec, err := dealSpec.toRecord("deal", &obj)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := rec.Fields["amount"]; !ok || v != nil {
		t.Errorf("amount: got %#v (present %v), want nil present", v, ok)
	}
	if v := rec.Fields["description"]; v != "" {
		t.Errorf("description: got %#v, want empty string", v)
	}
	if want := time.UnixMilli(1705314030000).UTC(); !rec.ModifiedAt.Equal(want) {
		t.Errorf("stamp: got %v, want %v (from hs_lastmodifieddate, not updatedAt)", rec.ModifiedAt, want)
	}
}

func TestParsePropertyErrors(t *testing.T) {
	t.Parallel()
	msg := `Property values were not valid: [{"isValid":false,"message":"bogus was not one of the allowed options","error":"INVALID_OPTION","name":"dealstage"},{"isValid":false,"message":"x","error":"READ_ONLY_VALUE","name":"hs_object_id"}]`
	got := parsePropertyErrors(msg)
	if len(got) != 2 || got[0].Name != "dealstage" || got[0].Error != "INVALID_OPTION" || got[1].Name != "hs_object_id" {
		t.Errorf("got %+v, want dealstage INVALID_OPTION and hs_object_id", got)
	}
	if got := parsePropertyErrors("something else"); got != nil {
		t.Errorf("got %+v, want nil", got)
	}
}
