package hubspot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// refAppendRecord is the renderer the pre-rendered fragments replaced: it escapes every value
// from rec.vals on each call. The fast path must produce the same bytes.
func refAppendRecord(ot *objectType, b []byte, rec *record, sel selection) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, rec.idStr)
	b = append(b, `,"properties":{`...)
	for k, i := range sel.idx {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendString(b, ot.props[i].Name)
		b = append(b, ':')
		if v := rec.get(i); v != "" {
			b = appendString(b, v)
		} else {
			b = append(b, "null"...)
		}
	}
	b = append(b, `},"createdAt":"`...)
	b = append(b, rec.vals[ot.iCreate]...)
	b = append(b, `","updatedAt":"`...)
	b = append(b, rec.vals[ot.iStamp]...)
	b = append(b, '"')
	if rec.archived {
		b = append(b, `,"archived":true,"archivedAt":`...)
		b = appendTime(b, rec.archAt)
	} else {
		b = append(b, `,"archived":false`...)
	}
	return append(b, '}')
}

// allProps selects every property of ot.
func allProps(ot *objectType) selection {
	idx := make([]int, len(ot.props))
	for i := range idx {
		idx[i] = i
	}
	return selection{idx: idx}
}

// checkRendered compares the fast and the reference rendering of every record of every type.
func checkRendered(t *testing.T, s *Sandbox, when string) {
	t.Helper()
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, ot := range s.types {
		n := len(ot.props)
		sels := []selection{allProps(ot), selection{idx: ot.defaults}, ot.selectProperties([]string{ot.props[n-1].Name + "," + ot.props[0].Name, ot.props[2].Name}),
			ot.selectProperties([]string{ot.props[1].Name, ot.props[0].Name})}
		for _, sel := range sels {
			for _, rec := range ot.records {
				want := refAppendRecord(ot, nil, rec, sel)
				if got := ot.appendRecord(nil, rec, sel, nil); !bytes.Equal(got, want) {
					t.Fatalf("%s: %s %s renders stale or wrong JSON:\n got %s\nwant %s", when, ot.singular, rec.idStr, got, want)
				}
				if got := ot.appendRecordSlow(nil, rec, sel, nil); !bytes.Equal(got, want) {
					t.Fatalf("%s: %s %s: appendRecordSlow renders\n got %s\nwant %s", when, ot.singular, rec.idStr, got, want)
				}
			}
		}
	}
}

// TestRenderCacheMatchesValues renders every record through the pre-rendered fragments and
// through the reference renderer after each kind of write (API, batch, control API, traps) and
// requires the same bytes; a list page read after an update must carry the new value.
func TestRenderCacheMatchesValues(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 30, CustomProperties: DefaultCustomProperties()})
	s := b.sb
	checkRendered(t, s, "after seeding")
	deals := s.IDs("deals")
	contacts := s.IDs("contacts")

	// Values that need escaping, a cleared value, and a value written twice.
	tricky := "quote \" backslash \\ newline \n tab \t ctrl \x01 html <&> unicode é \xff"
	r := b.do(t, "PATCH", "/crm/v3/objects/deals/"+deals[0], map[string]any{"properties": map[string]any{"dealname": tricky, "description": ""}})
	wantStatus(t, r, 200)
	checkRendered(t, s, "after PATCH")
	page := b.do(t, "GET", "/crm/v3/objects/deals?limit=1&properties=dealname,description", nil)
	wantStatus(t, page, 200)
	var lp struct {
		Results []struct {
			Properties map[string]*string `json:"properties"`
		} `json:"results"`
	}
	if err := json.Unmarshal(page.body, &lp); err != nil {
		t.Fatal(err)
	}
	if got := lp.Results[0].Properties["dealname"]; got == nil || *got != strings.ToValidUTF8(tricky, "\uFFFD") {
		t.Fatalf("list after PATCH serves dealname %v, want the new value", got)
	}
	if got := lp.Results[0].Properties["description"]; got != nil {
		t.Fatalf("list after PATCH serves description %q, want null", *got)
	}
	b.clock.Advance(time.Second)
	wantStatus(t, b.do(t, "PATCH", "/crm/v3/objects/deals/"+deals[0], map[string]any{"properties": map[string]any{"dealname": "second"}}), 200)
	checkRendered(t, s, "after a second PATCH")

	wantStatus(t, b.do(t, "POST", "/crm/v3/objects/deals/batch/update", map[string]any{"inputs": []any{
		map[string]any{"id": deals[1], "properties": map[string]any{"dealstage": "closedwon", "amount": 12.5}},
		map[string]any{"id": deals[2], "properties": map[string]any{"dealstage": "closedlost"}}}}), 200)
	checkRendered(t, s, "after batch update")
	wantStatus(t, b.do(t, "POST", "/crm/v3/objects/contacts", map[string]any{"properties": map[string]any{"email": "new@example.com", "firstname": "N\"ew"}}), 201)
	wantStatus(t, b.do(t, "POST", "/crm/v3/objects/contacts/batch/create", map[string]any{"inputs": []any{
		map[string]any{"properties": map[string]any{"email": "b1@example.com"}}}}), 201)
	checkRendered(t, s, "after creates")
	wantStatus(t, b.do(t, "DELETE", "/crm/v3/objects/contacts/"+contacts[0], nil), 204)
	wantStatus(t, b.do(t, "POST", "/crm/v3/objects/contacts/batch/archive", map[string]any{"inputs": []any{map[string]any{"id": contacts[1]}}}), 204)
	checkRendered(t, s, "after archives")

	if err := s.UpdateObject("contacts", contacts[2], map[string]string{"lastname": "Control"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateObject("deals", map[string]string{"dealname": "control"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SameStamp("deals", 5, map[string]string{"hs_next_step": "mass"}); err != nil {
		t.Fatal(err)
	}
	checkRendered(t, s, "after control-API writes")
	id, _, err := s.LateRecord("deals", "", map[string]string{"dealname": "late new", "createdate": "2026-01-01T00:00:00.000Z"}, time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.LateRecord("deals", deals[3], map[string]string{"dealname": "late change"}, time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	checkRendered(t, s, "after late records")
	for _, rid := range []string{id, deals[3]} {
		if err := s.Release("deals", rid); err != nil {
			t.Fatal(err)
		}
	}
	checkRendered(t, s, "after release")
	got := b.do(t, "GET", "/crm/v3/objects/deals/"+deals[3]+"?properties=dealname", nil)
	if !bytes.Contains(got.body, []byte(`"dealname":"late change"`)) {
		t.Fatalf("read after release serves %s, want the released dealname", got.body)
	}
}

// refAssociationsBatchRead is the encoding/json rendering of a v4 association batch read that
// the hand-written one replaced.
func refAssociationsBatchRead(s *Sandbox, p pairKey, ids []string, afters []string, started, completed time.Time) (int, []byte) {
	type result struct {
		From   map[string]string  `json:"from"`
		To     []multiAssociation `json:"to"`
		Paging any                `json:"paging,omitempty"`
	}
	results := []result{}
	var errs []apiError
	s.mu.RLock()
	for k, id := range ids {
		var edges []assocEdge
		if rec := s.types[p.from].lookup(id, started); rec != nil && !rec.archived {
			edges = s.visibleEdges(p, rec.id, started)
		}
		if len(edges) == 0 {
			errs = append(errs, apiError{Status: "error", Category: catNotFound, SubCategory: "crm.associations.NO_ASSOCIATIONS_FOUND",
				Message: fmt.Sprintf("No %s is associated with %s %s.", s.types[p.to].singular, s.types[p.from].singular, id),
				Context: map[string][]string{"fromObjectId": {id}}})
			continue
		}
		offset, _ := strconv.Atoi(afters[k])
		res := result{From: map[string]string{"id": id}, To: edgesToWire(page(edges, offset, 500))}
		if offset+500 < len(edges) {
			res.Paging = map[string]any{"next": map[string]string{"after": strconv.Itoa(offset + 500)}}
		}
		results = append(results, res)
	}
	s.mu.RUnlock()
	out := struct {
		Status      string     `json:"status"`
		Results     []result   `json:"results"`
		NumErrors   int        `json:"numErrors,omitempty"`
		Errors      []apiError `json:"errors,omitempty"`
		StartedAt   string     `json:"startedAt"`
		CompletedAt string     `json:"completedAt"`
	}{"COMPLETE", results, len(errs), errs, started.Format(isoMillis), completed.Format(isoMillis)}
	body, _ := json.Marshal(out)
	code := 200
	if len(errs) > 0 {
		code = 207
	}
	return code, body
}

// TestAssociationsBatchReadMatchesEncodingJSON compares the hand-rendered v4 batch read with
// encoding/json's rendering, before and after association and archive changes, with unknown
// ids (207 errors) and paging offsets in the batch.
func TestAssociationsBatchReadMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Deals: 25})
	s := b.sb
	deals := s.IDs("deals")
	contacts := s.IDs("contacts")
	check := func(when string, p pairKey, ids, afters []string) {
		t.Helper()
		var inputs []any
		for k, id := range ids {
			in := map[string]any{"id": id}
			if afters[k] != "" {
				in["after"] = afters[k]
			}
			inputs = append(inputs, in)
		}
		r := b.do(t, "POST", "/crm/v4/associations/"+url.PathEscape(p.from)+"/"+p.to+"/batch/read", map[string]any{"inputs": inputs})
		now := b.clock.Now()
		code, want := refAssociationsBatchRead(s, p, ids, afters, now, now)
		if r.status != code || !bytes.Equal(r.body, want) {
			t.Fatalf("%s: got %d %s\nwant %d %s", when, r.status, r.body, code, want)
		}
	}
	afters := make([]string, len(deals))
	check("all deals", dealsContacts, deals, afters)
	check("contacts to deals", contactsDeals, contacts, make([]string, len(contacts)))
	withMissing := append([]string{"1", deals[0], "99999999999"}, deals[1:4]...)
	aft := []string{"", "", "", "1", "500", ""}
	check("unknown ids and offsets", dealsContacts, withMissing, aft)
	wantStatus(t, b.do(t, "PUT", "/crm/v4/objects/deals/"+deals[5]+"/associations/contacts/"+contacts[9],
		[]map[string]any{{"associationCategory": "USER_DEFINED", "associationTypeId": firstLabelTypeID}}), 201)
	wantStatus(t, b.do(t, "DELETE", "/crm/v3/objects/contacts/"+contacts[0], nil), 204)
	check("after a new label and an archived contact", dealsContacts, deals, afters)
	check("empty batch", dealsContacts, nil, nil)
}
