package salesforce_test

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mapsync/mapsync/sandbox/salesforce"
)

// listener records outbound messages and acknowledges from the nth delivery on.
type listener struct {
	mu       sync.Mutex
	bodies   []string
	headers  []http.Header
	ackAfter int
}

func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	l.mu.Lock()
	l.bodies = append(l.bodies, string(body))
	l.headers = append(l.headers, r.Header.Clone())
	n := len(l.bodies)
	l.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	if n <= l.ackAfter {
		_, _ = io.WriteString(w, `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>false</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>`)
		return
	}
	_, _ = io.WriteString(w, `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>`)
}

func (l *listener) got() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.bodies...)
}

type envelope struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Body    struct {
		Notifications struct {
			XMLName        xml.Name `xml:"http://soap.sforce.com/2005/09/outbound notifications"`
			OrganizationID string   `xml:"OrganizationId"`
			ActionID       string   `xml:"ActionId"`
			SessionID      struct {
				Nil string `xml:"http://www.w3.org/2001/XMLSchema-instance nil,attr"`
			} `xml:"SessionId"`
			EnterpriseURL string `xml:"EnterpriseUrl"`
			PartnerURL    string `xml:"PartnerUrl"`
			Notification  []struct {
				ID      string `xml:"Id"`
				SObject struct {
					Type           string `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr"`
					ID             string `xml:"urn:sobject.enterprise.soap.sforce.com Id"`
					StageName      string `xml:"urn:sobject.enterprise.soap.sforce.com StageName"`
					SystemModstamp string `xml:"urn:sobject.enterprise.soap.sforce.com SystemModstamp"`
					CloseDate      string `xml:"urn:sobject.enterprise.soap.sforce.com CloseDate"`
				} `xml:"sObject"`
			} `xml:"Notification"`
		} `xml:"notifications"`
	} `xml:"Body"`
}

func TestOutboundMessages(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	l := &listener{ackAfter: 2} // two unacknowledged deliveries, then Ack
	ls := httptest.NewServer(l)
	t.Cleanup(ls.Close)
	r := b.do(t, "POST", "/__sandbox/outbound", map[string]any{
		"listenerUrl": ls.URL + "/hooks/salesforce", "object": "Opportunity", "rule": "stage_changed",
		"retryInitialMs": 10, "retryMaxMs": 40,
	})
	if r.status != 200 {
		t.Fatalf("configure: %d %s", r.status, r.body)
	}
	ids := b.sb.IDs("Opportunity")
	// Not a stage change: no message.
	if err := b.sb.UpdateRecord("Opportunity", ids[0], map[string]any{"NextStep": "x"}); err != nil {
		t.Fatal(err)
	}
	// A stage change through the API and one made by a person.
	if r := b.do(t, "PATCH", api+"/sobjects/Opportunity/"+ids[0], map[string]any{"StageName": "Closed Won"}); r.status != 204 {
		t.Fatalf("update: %d", r.status)
	}
	if r := b.do(t, "PATCH", "/__sandbox/deals/"+ids[1], map[string]any{"fields": map[string]any{"StageName": "Closed Lost"}}); r.status != 200 {
		t.Fatalf("control update: %d", r.status)
	}
	waitFor(t, "an acknowledged delivery", func() bool {
		st := b.sb.OutboundStats()
		return len(st) == 1 && st[0].Queued == 0 && st[0].Delivered >= 2
	})
	st := b.sb.OutboundStats()[0]
	if st.Failures != 2 || st.Attempts < 3 {
		t.Fatalf("got stats %+v, want 2 failures before success", st)
	}
	bodies := l.got()
	// Resent until acknowledged: the unacknowledged content comes again.
	var last envelope
	if err := xml.Unmarshal([]byte(bodies[len(bodies)-1]), &last); err != nil {
		t.Fatalf("envelope does not parse: %v\n%s", err, bodies[len(bodies)-1])
	}
	n := last.Body.Notifications
	if n.OrganizationID != b.sb.OrgID() || !strings.HasPrefix(n.ActionID, "04k") || n.SessionID.Nil != "true" {
		t.Errorf("header fields: %+v", n)
	}
	if n.EnterpriseURL != b.srv.URL+"/services/Soap/c/62.0/"+b.sb.OrgID()[:15] || n.PartnerURL != b.srv.URL+"/services/Soap/u/62.0/"+b.sb.OrgID()[:15] {
		t.Errorf("urls: %s %s", n.EnterpriseURL, n.PartnerURL)
	}
	seen := map[string]string{}
	for _, body := range bodies {
		var e envelope
		if err := xml.Unmarshal([]byte(body), &e); err != nil {
			t.Fatal(err)
		}
		for _, no := range e.Body.Notifications.Notification {
			if !strings.HasPrefix(no.ID, "04l") || no.SObject.Type != "sf:Opportunity" {
				t.Errorf("notification: %+v", no)
			}
			if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`).MatchString(no.SObject.SystemModstamp) || len(no.SObject.CloseDate) != 10 {
				t.Errorf("value formats: %+v", no.SObject)
			}
			seen[no.SObject.ID] = no.SObject.StageName
		}
	}
	if len(seen) != 2 || seen[ids[0]] != "Closed Won" || seen[ids[1]] != "Closed Lost" {
		t.Fatalf("got notifications %v", seen)
	}
	l.mu.Lock()
	h := l.headers[0]
	l.mu.Unlock()
	if !strings.HasPrefix(h.Get("Content-Type"), "text/xml") || h.Get("SOAPAction") == "" {
		t.Errorf("headers: %v", h)
	}
	if !strings.Contains(bodies[0], `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"`) ||
		!strings.Contains(bodies[0], `<notifications xmlns="http://soap.sforce.com/2005/09/outbound">`) ||
		!strings.Contains(bodies[0], `<sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">`) {
		t.Errorf("envelope shape:\n%s", bodies[0])
	}
}

func TestOutboundCloseStopsRetrying(t *testing.T) {
	t.Parallel()
	sb := salesforce.New(salesforce.Options{Deals: 2, Seed: 1})
	l := &listener{ackAfter: 1 << 30} // never acknowledges
	ls := httptest.NewServer(l)
	defer ls.Close()
	if _, err := sb.ConfigureOutbound(salesforce.OutboundConfig{ListenerURL: ls.URL, Rule: salesforce.RuleAnyChange, RetryInitial: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := sb.UpdateRecord("Opportunity", sb.IDs("Opportunity")[0], map[string]any{"NextStep": "x"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a few retries", func() bool { return len(l.got()) >= 3 })
	sb.Close()
	n := len(l.got())
	if st := sb.OutboundStats()[0]; st.Delivered != 0 || st.Queued != 1 {
		t.Fatalf("got %+v", st)
	}
	if got := len(l.got()); got != n {
		t.Fatalf("deliveries after Close: %d then %d", n, got)
	}
}

// notifiedIDs returns the record ids of every notification the listener received (duplicates
// included) and the values of field in them.
func notifiedIDs(t *testing.T, l *listener, field string) (ids []string, values map[string]string) {
	t.Helper()
	values = map[string]string{}
	re := regexp.MustCompile(`<sf:` + field + `>([^<]*)</sf:` + field + `>`)
	for _, body := range l.got() {
		var e envelope
		if err := xml.Unmarshal([]byte(body), &e); err != nil {
			t.Fatalf("envelope does not parse: %v\n%s", err, body)
		}
		for _, no := range e.Body.Notifications.Notification {
			ids = append(ids, no.SObject.ID)
		}
		// The sObjects of one message come in notification order.
		notes := e.Body.Notifications.Notification
		for i, m := range re.FindAllStringSubmatch(body, -1) {
			if i < len(notes) {
				values[notes[i].SObject.ID] = m[1]
			}
		}
	}
	return ids, values
}

// The created rule fires for creations (API and person) and never for updates or deletes.
func TestOutboundRuleCreated(t *testing.T) {
	t.Parallel()
	b := setup(t, 3)
	l := &listener{}
	ls := httptest.NewServer(l)
	t.Cleanup(ls.Close)
	r := b.do(t, "POST", "/__sandbox/outbound", map[string]any{"listenerUrl": ls.URL, "object": "Contact", "rule": "created",
		"fields": []string{"Id", "LastName", "Email"}, "retryInitialMs": 5})
	if r.status != 200 {
		t.Fatalf("configure: %d %s", r.status, r.body)
	}
	existing := b.sb.IDs("Contact")[0]
	if r := b.do(t, "PATCH", api+"/sobjects/Contact/"+existing, map[string]any{"Title": "CTO"}); r.status != 204 {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	r = b.do(t, "POST", api+"/sobjects/Contact", map[string]any{"LastName": "Viaapi", "Email": "api@example.com"})
	var created struct {
		ID string `json:"id"`
	}
	r.decode(t, &created)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	byPerson, err := b.sb.CreateRecord("Contact", map[string]any{"LastName": "Byperson"})
	if err != nil {
		t.Fatal(err)
	}
	if r := b.do(t, "DELETE", api+"/sobjects/Contact/"+existing, nil); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
	waitFor(t, "two acknowledged notifications", func() bool {
		st := b.sb.OutboundStats()
		return len(st) == 1 && st[0].Queued == 0 && st[0].Delivered >= 2
	})
	// Another update after delivery must not queue anything either.
	if err := b.sb.UpdateRecord("Contact", created.ID, map[string]any{"Title": "VP"}); err != nil {
		t.Fatal(err)
	}
	if st := b.sb.OutboundStats()[0]; st.Queued != 0 || st.Delivered != 2 || st.Rule != "created" {
		t.Fatalf("got %+v, want exactly the two creations delivered", st)
	}
	ids, names := notifiedIDs(t, l, "LastName")
	if len(ids) != 2 || names[created.ID] != "Viaapi" || names[byPerson] != "Byperson" {
		t.Fatalf("got notifications for %v (%v), want the two created contacts", ids, names)
	}
}

// The field_changed rule fires when its field changes (through any write path) and not for
// other fields, creations or writes of the same value.
func TestOutboundRuleFieldChanged(t *testing.T) {
	t.Parallel()
	b := setup(t, 4)
	l := &listener{}
	ls := httptest.NewServer(l)
	t.Cleanup(ls.Close)
	if r := b.do(t, "POST", "/__sandbox/outbound", map[string]any{"listenerUrl": ls.URL, "rule": "field_changed", "field": "Amount",
		"fields": []string{"Id", "Amount"}, "retryInitialMs": 5}); r.status != 200 {
		t.Fatalf("configure: %d %s", r.status, r.body)
	}
	if r := b.do(t, "POST", "/__sandbox/outbound", map[string]any{"listenerUrl": ls.URL, "rule": "field_changed", "field": "Nope"}); r.status != 400 {
		t.Fatalf("unknown field: got %d %s, want 400", r.status, r.body)
	}
	ids := b.sb.IDs("Opportunity")
	rec, _ := b.sb.Record("Opportunity", ids[0])
	same := rec["Amount"]
	// Not the watched field; the same value again; a creation: none fires.
	if r := b.do(t, "PATCH", api+"/sobjects/Opportunity/"+ids[0], map[string]any{"NextStep": "call", "Amount": same}); r.status != 204 {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	if _, err := b.sb.CreateRecord("Opportunity", map[string]any{"Name": "New", "StageName": "Prospecting", "CloseDate": "2027-02-01", "Amount": 5}); err != nil {
		t.Fatal(err)
	}
	// Amount changes through a single PATCH, a collection update and a person's change.
	if r := b.do(t, "PATCH", api+"/sobjects/Opportunity/"+ids[0], map[string]any{"Amount": 1111}); r.status != 204 {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	r := b.do(t, "PATCH", api+"/composite/sobjects", map[string]any{"allOrNone": false, "records": []any{
		map[string]any{"attributes": map[string]any{"type": "Opportunity"}, "id": ids[1], "Amount": 2222},
		map[string]any{"attributes": map[string]any{"type": "Opportunity"}, "id": ids[2], "Description": "not watched"},
	}})
	if r.status != 200 {
		t.Fatalf("collection update: %d %s", r.status, r.body)
	}
	if err := b.sb.UpdateRecord("Opportunity", ids[3], map[string]any{"Amount": 3333}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three acknowledged notifications", func() bool {
		st := b.sb.OutboundStats()
		return len(st) == 1 && st[0].Queued == 0 && st[0].Delivered >= 3
	})
	if st := b.sb.OutboundStats()[0]; st.Delivered != 3 {
		t.Fatalf("got %+v, want exactly three notifications", st)
	}
	got, amounts := notifiedIDs(t, l, "Amount")
	want := map[string]float64{ids[0]: 1111, ids[1]: 2222, ids[3]: 3333}
	if len(got) != 3 {
		t.Fatalf("got notifications for %v, want %v", got, want)
	}
	for id, a := range want {
		if v, err := strconv.ParseFloat(amounts[id], 64); err != nil || v != a {
			t.Errorf("record %s: got Amount %q, want %v", id, amounts[id], a)
		}
	}
}
