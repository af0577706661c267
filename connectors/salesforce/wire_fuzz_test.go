package salesforce

import (
	"net/http"
	"testing"
	"time"

	"github.com/mapsync/mapsync/connectors"
)

// FuzzQueryRecords feeds arbitrary 200 bodies through the decoding of a query page (as the client
// does, with the shape check) and the conversion of its rows to records: no panic; a reply is
// refused with a transient error or every record has a valid Id and a UTC stamp.
func FuzzQueryRecords(f *testing.F) {
	for _, s := range []string{
		`{"totalSize":1,"done":true,"records":[{"attributes":{"type":"Opportunity"},"Id":"006000000000001AAA","SystemModstamp":"2026-11-01T10:00:00.000+0000","Owner":{"attributes":{},"Name":"A"},"IsDeleted":false}]}`,
		`{"done":false,"nextRecordsUrl":"/services/data/v62.0/query/01g-2000","records":[{"Id":"003000000000001","SystemModstamp":"2026-11-01T10:00:00Z"}]}`,
		`{"records":[{"Id":"bad","SystemModstamp":"x"}]}`, `{"records":[{"Id":"006000000000001AAA","SystemModstamp":null}]}`,
		`{"records":[{"Id":"006000000000001AAA","SystemModstamp":"2026-11-01T10:00:00.000+0000","A":{"B":{"C":{}}}}]}`,
		`{"records":null}`, `{"records":[null]}`, `[{"errorCode":"X"}]`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var q queryResult
		err := connectors.DecodeJSON(&connectors.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}, &q)
		if err != nil {
			if connectors.KindOf(err) != connectors.KindTransient {
				t.Fatalf("refused with a %v error: %v", connectors.KindOf(err), err)
			}
			return
		}
		for _, m := range q.Records {
			r, err := toRecord(connectors.ObjectDeal, m)
			if err != nil {
				continue
			}
			if !ValidID(r.ID) || r.ModifiedAt.IsZero() || r.ModifiedAt.Location() != time.UTC {
				t.Fatalf("record without a valid Id or UTC stamp: %+v", r)
			}
			if _, nested := r.Fields["attributes"]; nested {
				t.Fatalf("attributes kept: %+v", r.Fields)
			}
		}
	})
}

// FuzzParseStamp: any dateTime value parses to a UTC time or fails with an error.
func FuzzParseStamp(f *testing.F) {
	for _, s := range []string{"2026-11-01T10:00:00.000+0000", "2026-11-01T10:00:00Z", "2026-11-01T10:00:00+0100", "", "2026-11-01", "9999-99-99T99:99:99.999+9999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := parseStamp(s)
		if err == nil && ts.Location() != time.UTC {
			t.Fatalf("parseStamp(%q) = %v, not UTC", s, ts)
		}
	})
}

// FuzzDecodeSeen: the ids-in-the-window list stored in a resume cursor (Cursor.Extra["seen"])
// decodes whatever the store holds, keeping only well-formed entries, and what encodeSeen writes
// decodes back to the same entries.
func FuzzDecodeSeen(f *testing.F) {
	for _, s := range []string{"", "006000000000001AAA:1762000000000", "006000000000001AAA:1,003000000000002AAA:2", "x:1", ":", ",,", "006000000000001AAA:99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		es := decodeSeen(s)
		for _, e := range es {
			if !ValidID(e.id) {
				t.Fatalf("decodeSeen(%q) kept id %q", s, e.id)
			}
		}
		again := decodeSeen(encodeSeen(es))
		if len(again) != len(es) {
			t.Fatalf("round trip of %q: %d entries, then %d", s, len(es), len(again))
		}
		for i := range es {
			if again[i] != es[i] {
				t.Fatalf("round trip of %q: %+v became %+v", s, es[i], again[i])
			}
		}
	})
}
