package salesforce

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/mapsync/mapsync/connectors"
)

func TestToRecord(t *testing.T) {
	t.Parallel()
	stamp := time.Date(2024, 1, 15, 10, 20, 30, 123e6, time.UTC)
	tests := map[string]struct {
		raw        string
		wantErr    bool
		wantFields map[string]any
		wantStamp  time.Time
		wantDelete bool
	}{
		"plain": {
			raw:        `{"attributes":{"type":"Opportunity","url":"/x"},"Id":"0068c000000006gAAA","Name":"Acme","Amount":5000.5,"IsDeleted":false,"SystemModstamp":"2024-01-15T10:20:30.123+0000"}`,
			wantFields: map[string]any{"Id": "0068c000000006gAAA", "Name": "Acme", "Amount": 5000.5, "IsDeleted": false, "SystemModstamp": "2024-01-15T10:20:30.123+0000"},
			wantStamp:  stamp,
		},
		"relationship flattened": {
			raw:        `{"attributes":{"type":"Opportunity"},"Id":"0068c000000006gAAA","Owner":{"attributes":{"type":"User"},"Name":"Ada"},"Account":null,"SystemModstamp":"2024-01-15T10:20:30.123Z"}`,
			wantFields: map[string]any{"Id": "0068c000000006gAAA", "Owner.Name": "Ada", "Account": nil, "SystemModstamp": "2024-01-15T10:20:30.123Z"},
			wantStamp:  stamp,
		},
		"deleted": {
			raw:        `{"Id":"0068c000000006gAAA","IsDeleted":true,"SystemModstamp":"2024-01-15T10:20:30.123+0000"}`,
			wantFields: map[string]any{"Id": "0068c000000006gAAA", "IsDeleted": true, "SystemModstamp": "2024-01-15T10:20:30.123+0000"},
			wantStamp:  stamp, wantDelete: true,
		},
		"no id":       {raw: `{"SystemModstamp":"2024-01-15T10:20:30.123+0000"}`, wantErr: true},
		"bad id":      {raw: `{"Id":"006'x","SystemModstamp":"2024-01-15T10:20:30.123+0000"}`, wantErr: true},
		"no stamp":    {raw: `{"Id":"0068c000000006gAAA"}`, wantErr: true},
		"odd stamp":   {raw: `{"Id":"0068c000000006gAAA","SystemModstamp":"yesterday"}`, wantErr: true},
		"stamp as ms": {raw: `{"Id":"0068c000000006gAAA","SystemModstamp":1705314030123}`, wantErr: true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var m map[string]any
			if err := json.Unmarshal([]byte(tt.raw), &m); err != nil {
				t.Fatal(err)
			}
			r, err := toRecord(connectors.ObjectDeal, m)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %+v, want an error", r)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !r.ModifiedAt.Equal(tt.wantStamp) || r.Deleted != tt.wantDelete || r.ID != "0068c000000006gAAA" {
				t.Errorf("got stamp %v deleted %v id %s, want %v %v", r.ModifiedAt, r.Deleted, r.ID, tt.wantStamp, tt.wantDelete)
			}
			if len(r.Fields) != len(tt.wantFields) {
				t.Errorf("fields: got %v, want %v", r.Fields, tt.wantFields)
			}
			for k, v := range tt.wantFields {
				if got, ok := r.Fields[k]; !ok || got != v {
					t.Errorf("field %s: got %v, want %v", k, got, v)
				}
			}
		})
	}
}

func TestDateTimeLiteral(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in   time.Time
		want string
	}{
		"whole second":  {in: time.Date(2024, 1, 15, 10, 20, 30, 0, time.UTC), want: "2024-01-15T10:20:30Z"},
		"milliseconds":  {in: time.Date(2024, 1, 15, 10, 20, 30, 7e6, time.UTC), want: "2024-01-15T10:20:30.007Z"},
		"other zone":    {in: time.Date(2024, 1, 15, 12, 20, 30, 0, time.FixedZone("CEST", 2*3600)), want: "2024-01-15T10:20:30Z"},
		"sub-ms digits": {in: time.Date(2024, 1, 15, 10, 20, 30, 999, time.UTC), want: "2024-01-15T10:20:30Z"},
	}
	for name, tt := range tests {
		if got := dateTimeLiteral(tt.in); got != tt.want {
			t.Errorf("%s: got %s, want %s", name, got, tt.want)
		}
	}
}
