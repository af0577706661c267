package inbox

import (
	"testing"
)

func FuzzParseHubSpotEvents(f *testing.F) {
	for _, seed := range []string{
		`[{"eventId":2995724042,"subscriptionId":6547123,"portalId":48975575,"appId":39522895,"occurredAt":1782371972438,"subscriptionType":"deal.propertyChange","attemptNumber":0,"objectId":332507367156,"propertyName":"amount","propertyValue":"2000","changeSource":"INTEGRATION","sourceId":"39522895"}]`,
		`[{"eventId":1,"subscriptionType":"deal.associationChange","associationType":"DEAL_TO_CONTACT","fromObjectId":5,"toObjectId":6,"associationRemoved":false}]`,
		`[{"eventId":2,"subscriptionType":"deal.merge","objectId":7,"primaryObjectId":7,"mergedObjectIds":[8,9],"newObjectId":7}]`,
		`[]`, `{}`, `[{"eventId":-1}]`, `[{"eventId":1.5}]`, `[null]`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		events, raws, err := ParseHubSpotEvents(body)
		if err != nil {
			if events != nil || raws != nil {
				t.Fatalf("error %v with events", err)
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if len(events) == 0 || len(events) > MaxHubSpotEvents || len(events) != len(raws) {
			t.Fatalf("accepted %d events (%d raw)", len(events), len(raws))
		}
		for _, e := range events {
			if e.EventID <= 0 || e.Subject() == "" || e.Object() == "" || e.Change() == "" || e.Key() == "" {
				t.Fatalf("accepted an event processing cannot use: %+v", e)
			}
		}
	})
}

func FuzzParseGenericEvent(f *testing.F) {
	for _, seed := range []string{`{"object":"deal","id":"006000000000001AAA"}`, `{"object":"contact","id":" 42 ","extra":[1]}`, `{"object":"deal"}`, `[]`, `null`, ``} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := ParseGenericEvent(body)
		if err != nil {
			return
		}
		if (e.Object != "deal" && e.Object != "contact") || e.ID == "" || len(e.ID) > 64 {
			t.Fatalf("accepted %+v", e)
		}
	})
}
