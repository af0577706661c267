package salesforce_test

import (
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mapsync/mapsync/sandbox/salesforce"
)

func TestUpdatedAndDeleted(t *testing.T) {
	t.Parallel()
	b := setup(t, 30)
	ids := b.sb.IDs("Opportunity")
	start := b.clock.Now()
	b.clock.Advance(2 * time.Minute)
	for _, id := range ids[:3] {
		if err := b.sb.UpdateRecord("Opportunity", id, map[string]any{"NextStep": "Call back"}); err != nil {
			t.Fatal(err)
		}
	}
	if r := b.do(t, "DELETE", api+"/sobjects/Opportunity/"+ids[5], nil); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
	b.clock.Advance(3 * time.Minute)
	end := b.clock.Now()

	// jsforce sends no trailing slash and +00:00 offsets; others send the slash and Z.
	for _, path := range []string{"/updated?start=", "/updated/?start="} {
		q := url.QueryEscape(start.Format("2006-01-02T15:04:05-07:00")) + "&end=" + url.QueryEscape(end.Format(time.RFC3339))
		resp := b.do(t, "GET", api+"/sobjects/Opportunity"+path+q, nil)
		var upd struct {
			IDs               []string `json:"ids"`
			LatestDateCovered string   `json:"latestDateCovered"`
		}
		resp.decode(t, &upd)
		slices.Sort(upd.IDs)
		want := slices.Clone(ids[:3])
		slices.Sort(want)
		if resp.status != 200 || !slices.Equal(upd.IDs, want) || upd.LatestDateCovered != "2026-11-23T12:05:00.000+0000" {
			t.Fatalf("%s: got %d %s, want ids %v", path, resp.status, resp.body, want)
		}
	}
	resp := b.do(t, "GET", api+"/sobjects/Opportunity/deleted/?start="+url.QueryEscape(start.Format(time.RFC3339))+"&end="+url.QueryEscape(end.Format(time.RFC3339)), nil)
	var del struct {
		DeletedRecords []struct {
			ID          string `json:"id"`
			DeletedDate string `json:"deletedDate"`
		} `json:"deletedRecords"`
		EarliestDateAvailable string `json:"earliestDateAvailable"`
		LatestDateCovered     string `json:"latestDateCovered"`
	}
	resp.decode(t, &del)
	if resp.status != 200 || len(del.DeletedRecords) != 1 || del.DeletedRecords[0].ID != ids[5] ||
		del.DeletedRecords[0].DeletedDate != "2026-11-23T12:02:00.000+0000" || del.EarliestDateAvailable == "" {
		t.Fatalf("deleted: got %d %s", resp.status, resp.body)
	}
	old := start.Add(-40 * 24 * time.Hour).Format(time.RFC3339)
	if r := b.do(t, "GET", api+"/sobjects/Opportunity/updated?start="+url.QueryEscape(old)+"&end="+url.QueryEscape(end.Format(time.RFC3339)), nil); r.status != 400 || r.errorCode(t) != "INVALID_REPLICATION_DATE" {
		t.Fatalf("start 40 days back: got %d %s", r.status, r.body)
	}
}

func TestAPILimit(t *testing.T) {
	t.Parallel()
	b := setup(t, 1, func(o *salesforce.Options) { o.DailyLimit = 5 })
	for i := 1; i <= 5; i++ {
		r := b.do(t, "GET", api+"/limits", nil)
		if r.status != 200 || r.header.Get("Sforce-Limit-Info") != "api-usage="+strconv.Itoa(i)+"/5" {
			t.Fatalf("call %d: got %d %q", i, r.status, r.header.Get("Sforce-Limit-Info"))
		}
	}
	r := b.do(t, "GET", api+"/limits", nil)
	if r.status != 403 || r.errorCode(t) != "REQUEST_LIMIT_EXCEEDED" || r.header.Get("Sforce-Limit-Info") != "api-usage=5/5" {
		t.Fatalf("over the limit: got %d %s %q", r.status, r.body, r.header.Get("Sforce-Limit-Info"))
	}
	// The allocation resets with the day.
	b.clock.Advance(24 * time.Hour)
	b.token = b.sb.AccessToken() // the old session has expired by now
	r = b.do(t, "GET", api+"/limits", nil)
	var lim map[string]map[string]int
	r.decode(t, &lim)
	if r.status != 200 || lim["DailyApiRequests"]["Max"] != 5 || lim["DailyApiRequests"]["Remaining"] != 4 {
		t.Fatalf("next day: got %d %s", r.status, r.body)
	}
}
