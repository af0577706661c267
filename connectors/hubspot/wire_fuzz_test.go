package hubspot

import (
	"net/http"
	"testing"
	"time"

	"github.com/mapsync/mapsync/connectors"
)

// decodeReply decodes body as the client does (connectors.DecodeJSON with its shape check).
func decodeReply(body []byte, out any) error {
	return connectors.DecodeJSON(&connectors.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}, out)
}

// FuzzReplyRecords feeds arbitrary 200 bodies through the decoding of list, owner and v4
// association pages and the conversion of their entries to records: no panic; a reply is refused
// with a transient error or every record it yields has an id and a UTC stamp (an owner may lack
// the stamp: owners are read whole each time).
func FuzzReplyRecords(f *testing.F) {
	for _, s := range []string{
		`{"results":[{"id":"10000000001","properties":{"dealname":"A","hs_lastmodifieddate":"2026-11-01T10:00:00.123Z"},"updatedAt":"2026-11-01T10:00:00.123Z","archived":false}],"paging":{"next":{"after":"100"}}}`,
		`{"results":[{"id":12,"properties":{"lastmodifieddate":"1762000000000"}}]}`,
		`{"results":[{"id":"1","properties":null,"updatedAt":"2026-11-01"}]}`,
		`{"results":[{"id":"1","properties":{"hs_lastmodifieddate":"yesterday"}}]}`,
		`{"results":[{"id":"7","email":"a@b.c","updatedAt":"2026-11-01T10:00:00Z","userId":5}]}`,
		`{"status":"COMPLETE","results":[{"from":{"id":"1"},"to":[{"toObjectId":2,"associationTypes":[{"category":"USER_DEFINED","typeId":5,"label":"Champion"}]}],"paging":{"next":{"after":"x"}}}],"numErrors":0}`,
		`{"results":[{"id":1e400}]}`, `{"results":null}`, `{"results":[null]}`, `{}`, `[]`, `{"results":[{"id":"99999999999999999999999"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		check := func(r connectors.Record, err error) {
			if err != nil {
				return
			}
			if r.ID == "" || r.ModifiedAt.Location() != time.UTC || (r.Object != connectors.ObjectOwner && r.ModifiedAt.IsZero()) {
				t.Fatalf("record without id or UTC stamp: %+v", r) // owners (pulled whole) may lack a stamp
			}
		}
		var lp listPage
		if err := decodeReply(body, &lp); err == nil {
			for _, spec := range []objectSpec{dealSpec, contactSpec} {
				for i := range lp.Results {
					check(spec.toRecord(connectors.ObjectDeal, &lp.Results[i]))
				}
			}
			_ = lp.Paging.nextAfter()
		} else if connectors.KindOf(err) != connectors.KindTransient {
			t.Fatalf("list page refused with a %v error: %v", connectors.KindOf(err), err)
		}
		var op ownersPage
		if err := decodeReply(body, &op); err == nil {
			for i := range op.Results {
				check(ownerRecord(&op.Results[i]))
			}
		}
		var ab associationBatchReply
		if err := decodeReply(body, &ab); err == nil {
			for _, r := range ab.Results {
				_ = r.Paging.nextAfter()
			}
		}
	})
}

// FuzzParseTime: any HubSpot date value parses to a UTC time or fails with an error.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-11-01T10:00:00.123Z", "2026-11-01", "1762000000000", "-1", "99999999999999999999", "2026-11-01T10:00:00.123", " 1 ", "", "2026-13-40"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := parseTime(s)
		if err == nil && ts.Location() != time.UTC {
			t.Fatalf("parseTime(%q) = %v, not UTC", s, ts)
		}
		if err != nil && !ts.IsZero() {
			t.Fatalf("parseTime(%q) failed with a time: %v", s, ts)
		}
	})
}

// FuzzParsePropertyErrors: any VALIDATION_ERROR message yields its per-property errors or none,
// never a panic.
func FuzzParsePropertyErrors(f *testing.F) {
	f.Add(`Property values were not valid: [{"isValid":false,"message":"x","error":"INVALID_OPTION","name":"dealstage"}]`)
	f.Add(`Property values were not valid: [{"isValid":false,"message":"x","error":"INVALID_OPTION","name":"deal`)
	f.Add(`[][][`)
	f.Add(`no list`)
	f.Fuzz(func(t *testing.T, msg string) {
		for _, pe := range parsePropertyErrors(msg) {
			_ = pe.Name
		}
	})
}
