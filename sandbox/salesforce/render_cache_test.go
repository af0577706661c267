package salesforce

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// checkRendered renders every record of every object through the pre-rendered JSON and through
// appendRecordSlow (which formats every value again), with every field in order and in reverse,
// and requires the same bytes.
func checkRendered(t *testing.T, s *Sandbox, when string) {
	t.Helper()
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, o := range s.objects {
		rev := slices.Clone(o.fields)
		slices.Reverse(rev)
		for _, fields := range [][]*fieldDef{o.fields, rev, o.fields[1:2], {o.fields[0], o.fields[len(o.fields)-1], o.fields[1]}} {
			for _, r := range o.recs {
				want := appendRecordSlow(nil, o, r, fields, "62.0")
				if got := appendRecord(nil, o, r, fields, "62.0"); !bytes.Equal(got, want) {
					t.Fatalf("%s: %s %s renders stale or wrong JSON:\n got %s\nwant %s", when, o.name, r.id, got, want)
				}
			}
		}
	}
}

// TestRenderCacheMatchesValues checks the pre-rendered record JSON against a fresh rendering
// after each kind of write (REST create, update, delete, a contact role taking the primary flag
// from another, control-API writes, a mass update, a lagged commit), and that a query after an
// update serves the new value.
func TestRenderCacheMatchesValues(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := New(Options{Deals: 20, Seed: 7, Now: clock})
	t.Cleanup(s.Close)
	tok := s.AccessToken()
	do := func(method, path, body string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
		}
		return w
	}
	checkRendered(t, s, "after loading")
	opps, contacts, roles := s.IDs("Opportunity"), s.IDs("Contact"), s.IDs("OpportunityContactRole")

	tricky := `quote " backslash \ newline` + "\n tab \t ctrl \x01 html <&> unicode é"
	do("PATCH", "/services/data/v62.0/sobjects/Opportunity/"+opps[0], `{"Name":`+jsonString(tricky)+`,"StageName":"Closed Won","Amount":1234.5,"NextStep":null}`)
	checkRendered(t, s, "after PATCH")
	q := do("GET", "/services/data/v62.0/query?q="+url.QueryEscape("SELECT Id, Name, Amount, NextStep FROM Opportunity WHERE Id = '"+opps[0]+"'"), "")
	if !bytes.Contains(q.Body.Bytes(), []byte(`"Name":`+jsonString(tricky)+`,"Amount":1234.5,"NextStep":null`)) {
		t.Fatalf("query after PATCH serves %s, want the new values", q.Body)
	}
	now = now.Add(time.Second)
	do("POST", "/services/data/v62.0/sobjects/Contact", `{"LastName":"New","Email":"new@example.com"}`)
	do("DELETE", "/services/data/v62.0/sobjects/Opportunity/"+opps[1], "")
	checkRendered(t, s, "after create and delete")

	// A contact role made primary clears the flag of its opportunity's other roles.
	s.mu.RLock()
	ocr := s.objects["opportunitycontactrole"]
	var target string
	for _, rs := range ocr.byParent {
		if len(rs) > 1 {
			for _, r := range rs {
				if r.vals[ocr.field("IsPrimary").idx] == val(false) && !r.deleted {
					target = r.id
				}
			}
		}
		if target != "" {
			break
		}
	}
	s.mu.RUnlock()
	if target == "" {
		target = roles[0]
	}
	do("PATCH", "/services/data/v62.0/sobjects/OpportunityContactRole/"+target, `{"IsPrimary":true}`)
	checkRendered(t, s, "after a contact role became primary")

	now = now.Add(time.Second)
	if err := s.UpdateRecord("Contact", contacts[0], map[string]any{"FirstName": "Control"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRecord("Opportunity", map[string]any{"Name": "control", "StageName": "Prospecting", "CloseDate": "2027-01-01"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRecord("Contact", contacts[1]); err != nil {
		t.Fatal(err)
	}
	checkRendered(t, s, "after control-API writes")
	if _, err := s.MassUpdate("Opportunity", 5, map[string]any{"NextStep": "mass"}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	// The same values again at a later stamp, and at the same stamp: values and stamps must follow.
	if _, err := s.MassUpdate("Opportunity", 5, map[string]any{"NextStep": "mass again"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MassUpdate("Opportunity", 5, map[string]any{"NextStep": "mass third"}); err != nil {
		t.Fatal(err)
	}
	checkRendered(t, s, "after mass updates")
	if _, err := s.CommitLag(LagChange{Object: "Opportunity", ID: opps[2], Fields: map[string]any{"Name": "lagged"}, StampBehind: time.Minute, Hold: true}); err != nil {
		t.Fatal(err)
	}
	s.ReleaseLagged()
	checkRendered(t, s, "after a lagged change")
	q = do("GET", "/services/data/v62.0/query?q="+url.QueryEscape("SELECT Name FROM Opportunity WHERE Id = '"+opps[2]+"'"), "")
	if !bytes.Contains(q.Body.Bytes(), []byte(`"Name":"lagged"`)) {
		t.Fatalf("query after release serves %s, want the lagged name", q.Body)
	}
	if w := do("GET", "/services/data/v62.0/sobjects/Opportunity/"+opps[0], ""); w.Code != http.StatusOK {
		t.Fatalf("get: %d", w.Code)
	}
}

func jsonString(s string) string { return string(appendJSONString(nil, s)) }

// TestSortCacheFollowsWrites runs a query whose ORDER BY no index serves (the sorted records are
// cached per object) before and after writes that move, add and delete records in that order.
func TestSortCacheFollowsWrites(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s := New(Options{Deals: 20, Seed: 7, Now: func() time.Time { return now }})
	t.Cleanup(s.Close)
	tok := s.AccessToken()
	first := func() string {
		t.Helper()
		soql := "SELECT Id, Name FROM Opportunity WHERE Amount > 0 ORDER BY Name ASC, Id DESC LIMIT 1"
		req := httptest.NewRequest("GET", "/services/data/v62.0/query?q="+url.QueryEscape(soql), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("query: %d %s", w.Code, w.Body)
		}
		return w.Body.String()
	}
	before := first()
	opps := s.IDs("Opportunity")
	if err := s.UpdateRecord("Opportunity", opps[7], map[string]any{"Name": "000 first now", "Amount": 5}); err != nil {
		t.Fatal(err)
	}
	if got := first(); !strings.Contains(got, `"Name":"000 first now"`) {
		t.Fatalf("after renaming a deal to sort first, the query serves %s (before: %s)", got, before)
	}
	id, err := s.CreateRecord("Opportunity", map[string]any{"Name": "0 newest", "StageName": "Prospecting", "CloseDate": "2027-01-01", "Amount": 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := first(); !strings.Contains(got, id) {
		t.Fatalf("after creating a deal that sorts first, the query serves %s", got)
	}
	if err := s.DeleteRecord("Opportunity", id); err != nil {
		t.Fatal(err)
	}
	if got := first(); !strings.Contains(got, `"Name":"000 first now"`) {
		t.Fatalf("after deleting the first deal, the query serves %s", got)
	}
}

// TestAppendDateTimeMatchesFormat checks the hand-written date formatting against time's.
func TestAppendDateTimeMatchesFormat(t *testing.T) {
	t.Parallel()
	ms := []int64{0, -1, 1, 999, 1000, -62135596800000, -62135596800001, 253402300799999, 253402300800000, 1e15, -1e15,
		time.Date(2026, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli(), time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC).UnixMilli()}
	for x := int64(-4e12); x < 4e12; x += 7_777_777_777 {
		ms = append(ms, x, x+123)
	}
	for _, m := range ms {
		tm := time.UnixMilli(m).UTC()
		if got, want := string(appendDateTime(nil, m)), tm.Format("2006-01-02T15:04:05.000+0000"); got != want {
			t.Fatalf("appendDateTime(%d) = %s, want %s", m, got, want)
		}
		if got, want := string(appendDate(nil, m)), tm.Format(layoutDate); got != want {
			t.Fatalf("appendDate(%d) = %s, want %s", m, got, want)
		}
	}
}
