package hubspot

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mapsync/mapsync/connectors"
	sandbox "github.com/mapsync/mapsync/sandbox/hubspot"
)

func TestUpdatePerRecordResults(t *testing.T) {
	t.Parallel()
	c, tb := setup(t, sandbox.Options{Deals: 260, Seed: 18}, nil)
	ids := tb.sb.IDs("deals")
	var changes []connectors.Change
	for i, id := range ids[:250] {
		changes = append(changes, connectors.Change{ID: id, Fields: map[string]any{
			"description": fmt.Sprintf("plan %d", i), "amount": float64(1000 + i),
		}})
	}
	// Bad inputs spread over the three batches of 100, 100 and 50.
	changes[7].Fields["dealstage"] = "no-such-stage"             // INVALID_OPTION, batch 1
	changes[130].Fields["hs_lastmodifieddate"] = "1700000000000" // read-only, batch 2
	changes[131].Fields["dealstage"] = "also-bogus"              // second bad input in batch 2
	changes[220] = connectors.Change{ID: "99999999", Fields: map[string]any{"description": "x"}}
	changes[240].Fields["closedate"] = struct{}{} // cannot be rendered: never sent
	if err := tb.sb.FailNextWrite("deals", ids[245]); err != nil {
		t.Fatal(err)
	}

	results, err := c.Update(t.Context(), connectors.ObjectDeal, changes)
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if len(results) != len(changes) {
		t.Fatalf("got %d results, want %d", len(results), len(changes))
	}
	wantErr := map[int]struct {
		kind  connectors.Kind
		field string
		code  string
	}{
		7:   {connectors.KindPermanent, "dealstage", "INVALID_OPTION"},
		130: {connectors.KindPermanent, "hs_lastmodifieddate", "READ_ONLY_VALUE"},
		131: {connectors.KindPermanent, "dealstage", "INVALID_OPTION"},
		220: {connectors.KindPermanent, "", "OBJECT_NOT_FOUND"},
		240: {connectors.KindPermanent, "closedate", "INVALID_VALUE"},
		245: {connectors.KindTransient, "", "INTERNAL_ERROR"},
	}
	for i, r := range results {
		if r.ID != changes[i].ID {
			t.Errorf("result %d: got id %s, want %s", i, r.ID, changes[i].ID)
		}
		w, bad := wantErr[i]
		if !bad {
			if !r.OK || r.Err != nil {
				t.Errorf("result %d (%s): got ok %v err %v, want applied", i, r.ID, r.OK, r.Err)
				continue
			}
			if got := objectValue(t, tb.sb, "deals", r.ID, "description"); got != fmt.Sprintf("plan %d", i) {
				t.Errorf("deal %s: got description %q, want %q", r.ID, got, fmt.Sprintf("plan %d", i))
			}
			continue
		}
		if r.OK || r.Err == nil {
			t.Errorf("result %d: got ok, want a %s error", i, w.kind)
			continue
		}
		if r.Err.Kind != w.kind || !strings.Contains(r.Err.Code, w.code) || (w.field != "" && !slices.Contains(r.Err.Fields, w.field)) {
			t.Errorf("result %d: got %+v, want kind %s code %s field %q", i, r.Err, w.kind, w.code, w.field)
		}
	}
	if got := objectValue(t, tb.sb, "deals", ids[7], "description"); got == "plan 7" {
		t.Errorf("deal with the invalid stage: got its other properties written, want the input rejected whole")
	}
	calls := tb.sb.Requests("POST /crm/v3/objects/deals/batch/update")
	if calls > 5 {
		t.Errorf("got %d batch/update calls, want at most 5 (3 batches, and the innocents of 2 sent again)", calls)
	}
	t.Logf("%d batch/update calls for 250 changes with 3 invalid inputs", calls)
}

func TestUpdateBatchesAndRetries(t *testing.T) {
	t.Parallel()
	c, tb := setup(t, sandbox.Options{Deals: 120, Seed: 19}, nil)
	ids := tb.sb.IDs("deals")
	changes := []connectors.Change{
		{ID: ids[0], Fields: map[string]any{"amount": 1.5, "closedate": time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)}},
		{ID: ids[1], Fields: map[string]any{"description": nil}},
		{ID: ids[0], Fields: map[string]any{"amount": 2.5}}, // same id again: next batch, applied last
	}
	tb.sb.InjectServerErrors(2, http.StatusInternalServerError)
	results, err := c.Update(t.Context(), connectors.ObjectDeal, changes)
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	for i, r := range results {
		if !r.OK {
			t.Errorf("result %d: got %+v, want ok", i, r.Err)
		}
	}
	if got := objectValue(t, tb.sb, "deals", ids[0], "amount"); got != "2.5" {
		t.Errorf("amount: got %q, want the later change 2.5", got)
	}
	if got := objectValue(t, tb.sb, "deals", ids[1], "description"); got != "" {
		t.Errorf("description: got %q, want cleared", got)
	}
	if got := settledCount(t, tb.sb, "POST /crm/v3/objects/deals/batch/update", 0, 4); got != 4 {
		t.Errorf("got %d batch/update calls, want 2 failed + 2 batches", got)
	}

	tb.sb.InjectServerErrors(100, http.StatusBadGateway)
	results, err = c.Update(t.Context(), connectors.ObjectDeal, changes)
	if !connectors.IsRetryable(err) {
		t.Errorf("got %v, want a retryable error for the whole batch", err)
	}
	if len(results) != 0 {
		t.Errorf("got %d results, want none for the failed first batch", len(results))
	}
}

// objectValue reads one property of a sandbox record ("" when unset).
func objectValue(t *testing.T, sb *sandbox.Sandbox, objectType, id, prop string) string {
	t.Helper()
	props, ok := sb.Object(objectType, id)
	if !ok {
		t.Fatalf("sandbox has no %s %s", objectType, id)
	}
	return props[prop]
}

func TestUpdateIsolatesBadInputAmongLookalikes(t *testing.T) {
	t.Parallel()
	c, tb := setup(t, sandbox.Options{Deals: 150, Seed: 20}, nil)
	// Every input sets dealstage, so the error's property names do not say which one is bad.
	// closedwon is a stage of the default pipeline only, and a deal's stage must belong to its
	// pipeline: take deals of that pipeline.
	var changes []connectors.Change
	for _, id := range tb.sb.IDs("deals") {
		if objectValue(t, tb.sb, "deals", id, "pipeline") == "default" && len(changes) < 40 {
			changes = append(changes, connectors.Change{ID: id, Fields: map[string]any{"dealstage": "closedwon"}})
		}
	}
	if len(changes) < 40 {
		t.Fatalf("the sandbox has %d deals in the default pipeline, want 40", len(changes))
	}
	changes[29].Fields["dealstage"] = "nope"
	results, err := c.Update(t.Context(), connectors.ObjectDeal, changes)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if i == 29 {
			if r.OK || r.Err == nil || r.Err.Kind != connectors.KindPermanent || !slices.Contains(r.Err.Fields, "dealstage") {
				t.Errorf("bad input: got %+v, want a permanent dealstage error", r)
			}
			continue
		}
		if !r.OK {
			t.Errorf("result %d: got %+v, want ok", i, r.Err)
		}
	}
	calls := tb.sb.Requests("POST /crm/v3/objects/deals/batch/update")
	if calls > 1+2*6 {
		t.Errorf("got %d calls, want at most %d (halving 40 inputs)", calls, 1+2*6)
	}
}

func TestScanPropertyErrorsFromTruncatedMessage(t *testing.T) {
	t.Parallel()
	msg := `Property values were not valid: [{"isValid":false,"message":"x","error":"INVALID_OPTION","name":"dealstage"},{"isValid":false,"message":"y","error":"INVALID_INTEGER","name":"amou`
	if got := parsePropertyErrors(msg); got != nil {
		t.Fatalf("got %+v from a truncated list, want nil", got)
	}
	got := scanPropertyErrors(msg)
	if len(got) != 1 || got[0].Name != "dealstage" {
		t.Errorf("got %+v, want dealstage recovered", got)
	}
}

func TestUpdateIsolatesTooLongValue(t *testing.T) {
	t.Parallel()
	c, tb := setup(t, sandbox.Options{Deals: 10, CustomProperties: sandbox.DefaultCustomProperties()}, nil)
	ids := tb.sb.IDs("deals")
	var changes []connectors.Change
	for _, id := range ids {
		changes = append(changes, connectors.Change{ID: id, Fields: map[string]any{"map_next_step": "Sign", "map_status": "at_risk"}})
	}
	changes[6].Fields["map_next_step"] = strings.Repeat("x", sandbox.MaxValueLength+1)
	results, err := c.Update(t.Context(), connectors.ObjectDeal, changes)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if i == 6 {
			if r.OK || r.Err == nil || r.Err.Kind != connectors.KindPermanent || r.Err.Code != "INVALID_LENGTH" {
				t.Errorf("too long: got %+v, want a permanent INVALID_LENGTH", r.Err)
			}
			continue
		}
		if !r.OK {
			t.Errorf("result %d: got %+v, want ok", i, r.Err)
		}
	}
	if got := objectValue(t, tb.sb, "deals", ids[0], "map_status"); got != "at_risk" {
		t.Errorf("good input not written: map_status %q", got)
	}
}
