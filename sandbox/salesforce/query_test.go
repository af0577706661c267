package salesforce_test

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mapsync/mapsync/sandbox/salesforce"
)

func TestQueryPagingWithLocators(t *testing.T) {
	t.Parallel()
	b := setup(t, 1500) // about 3,000 contact roles
	soql := "SELECT Id, OpportunityId, ContactId, Role, IsPrimary FROM OpportunityContactRole"
	first, resp := b.query(t, soql)
	if resp.status != 200 {
		t.Fatalf("got %d %s", resp.status, resp.body)
	}
	if first.TotalSize <= 2000 || first.Done || len(first.Records) != 2000 {
		t.Fatalf("first page: got totalSize %d done %v records %d, want >2000, false, 2000", first.TotalSize, first.Done, len(first.Records))
	}
	if !regexp.MustCompile(`^/services/data/v62\.0/query/01g[0-9A-Za-z]+-2000$`).MatchString(first.NextRecordsURL) {
		t.Fatalf("got nextRecordsUrl %q", first.NextRecordsURL)
	}
	if ct := resp.header.Get("Content-Type"); ct != "application/json;charset=UTF-8" {
		t.Errorf("got Content-Type %q", ct)
	}
	if li := resp.header.Get("Sforce-Limit-Info"); !regexp.MustCompile(`^api-usage=\d+/100000$`).MatchString(li) {
		t.Errorf("got Sforce-Limit-Info %q", li)
	}
	rec := first.Records[0]
	attrs := rec["attributes"].(map[string]any)
	if attrs["type"] != "OpportunityContactRole" || attrs["url"] != "/services/data/v62.0/sobjects/OpportunityContactRole/"+rec["Id"].(string) {
		t.Errorf("got attributes %v", attrs)
	}
	if len(rec) != 6 {
		t.Errorf("got fields %v, want attributes plus the 5 selected", rec)
	}

	all, pages := b.queryAllPages(t, "query", soql)
	if len(all) != first.TotalSize || pages != 2 {
		t.Fatalf("got %d records in %d pages, want %d in 2", len(all), pages, first.TotalSize)
	}
	ids := map[string]bool{}
	for _, r := range all {
		ids[r["Id"].(string)] = true
	}
	if len(ids) != len(all) {
		t.Fatalf("got %d distinct ids in %d records", len(ids), len(all))
	}

	// jsforce keeps only the locator and rebuilds the URL with its own version; a locator can
	// be fetched again after a lost response.
	loc := first.NextRecordsURL[strings.LastIndexByte(first.NextRecordsURL, '/')+1:]
	for range 2 {
		r := b.do(t, "GET", "/services/data/v50.0/query/"+loc, nil)
		var page queryResult
		r.decode(t, &page)
		if r.status != 200 || len(page.Records) != first.TotalSize-2000 || !page.Done {
			t.Fatalf("replayed locator: got %d, %d records, done %v", r.status, len(page.Records), page.Done)
		}
		if page.Records[0]["attributes"].(map[string]any)["url"] != "/services/data/v50.0/sobjects/OpportunityContactRole/"+page.Records[0]["Id"].(string) {
			t.Errorf("attributes url does not follow the request version: %v", page.Records[0]["attributes"])
		}
	}
	if r := b.do(t, "GET", api+"/query/01gnope-2000", nil); r.status != 400 || r.errorCode(t) != "INVALID_QUERY_LOCATOR" {
		t.Errorf("unknown locator: got %d %s", r.status, r.body)
	}
}

func TestQueryBatchSize(t *testing.T) {
	t.Parallel()
	b := setup(t, 600)
	tests := []struct {
		header   string
		wantPage int
	}{
		{"batchSize=500", 500},
		{"batchSize=50", 200},    // minimum
		{"batchSize=5000", 2000}, // maximum
		{"", 2000},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			var hdr []string
			if tt.header != "" {
				hdr = []string{"Sforce-Query-Options", tt.header}
			}
			qr, _ := b.query(t, "SELECT Id FROM Contact", hdr...)
			want := min(tt.wantPage, qr.TotalSize)
			if len(qr.Records) != want {
				t.Fatalf("got page of %d, want %d (total %d)", len(qr.Records), want, qr.TotalSize)
			}
			all, pages := b.queryAllPages(t, "queryAll", "SELECT Id FROM Contact", hdr...)
			if len(all) != qr.TotalSize || pages != (qr.TotalSize+tt.wantPage-1)/tt.wantPage {
				t.Fatalf("got %d records in %d pages, want %d", len(all), pages, qr.TotalSize)
			}
		})
	}
}

// TestIncrementalSyncQuery runs the query an incremental sync sends and checks it against a
// brute-force filter of every record.
func TestIncrementalSyncQuery(t *testing.T) {
	t.Parallel()
	b := setup(t, 3000)
	everything, _ := b.queryAllPages(t, "queryAll", "SELECT Id, SystemModstamp FROM Opportunity")
	stamps := make([]string, 0, len(everything))
	for _, r := range everything {
		stamps = append(stamps, r["SystemModstamp"].(string))
	}
	slices.Sort(stamps)
	cut := stamps[len(stamps)/2]
	ts, err := time.Parse("2006-01-02T15:04:05.000-0700", cut)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range everything {
		if r["SystemModstamp"].(string) > cut {
			want = append(want, r["Id"].(string))
		}
	}
	for _, lit := range []string{ts.UTC().Format("2006-01-02T15:04:05Z"), ts.UTC().Format("2006-01-02T15:04:05.000+0000"), ts.UTC().Format("2006-01-02T15:04:05.000+00:00")} {
		soql := "SELECT Id, Name, StageName, Amount, CloseDate, OwnerId, AccountId, Probability, Type, ForecastCategoryName, IsClosed, IsWon, NextStep, Description, CreatedDate, LastModifiedDate, SystemModstamp, IsDeleted, MAP_Status__c FROM Opportunity WHERE SystemModstamp > " + lit + " ORDER BY SystemModstamp ASC, Id ASC"
		got, _ := b.queryAllPages(t, "queryAll", soql, "Sforce-Query-Options", "batchSize=200")
		if len(got) != len(want) {
			t.Fatalf("%s: got %d records, want %d", lit, len(got), len(want))
		}
		for i := 1; i < len(got); i++ {
			a, c := got[i-1], got[i]
			if a["SystemModstamp"].(string) > c["SystemModstamp"].(string) ||
				a["SystemModstamp"] == c["SystemModstamp"] && a["Id"].(string) >= c["Id"].(string) {
				t.Fatalf("out of order at %d: %v then %v", i, a, c)
			}
		}
		r := got[0]
		if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$`).MatchString(r["SystemModstamp"].(string)) {
			t.Errorf("datetime format: %v", r["SystemModstamp"])
		}
		if !regexp.MustCompile(`^\d{4}-\d\d-\d\d$`).MatchString(r["CloseDate"].(string)) {
			t.Errorf("date format: %v", r["CloseDate"])
		}
		if _, ok := r["Amount"].(float64); !ok {
			t.Errorf("Amount is %T, want a JSON number", r["Amount"])
		}
		if _, ok := r["IsWon"].(bool); !ok {
			t.Errorf("IsWon is %T, want a JSON boolean", r["IsWon"])
		}
		if v, ok := r["MAP_Status__c"]; !ok || v != nil {
			t.Errorf("empty custom field: got %v (present %v), want null", v, ok)
		}
	}
	// A LIMIT caps totalSize and the window query form works too.
	lo, hi := stamps[10], stamps[20]
	tlo, _ := time.Parse("2006-01-02T15:04:05.000-0700", lo)
	thi, _ := time.Parse("2006-01-02T15:04:05.000-0700", hi)
	qr, resp := b.query(t, fmt.Sprintf("SELECT Id FROM Opportunity WHERE SystemModstamp >= %s AND SystemModstamp < %s ORDER BY SystemModstamp LIMIT 5",
		tlo.Format(time.RFC3339), thi.Format(time.RFC3339)))
	if resp.status != 200 || qr.TotalSize != 5 || len(qr.Records) != 5 || !qr.Done {
		t.Fatalf("window with limit: got %d %+v", resp.status, qr)
	}
}

// TestSOQLFilters checks each supported construct against the same filter computed in Go.
func TestSOQLFilters(t *testing.T) {
	t.Parallel()
	b := setup(t, 400)
	opps, _ := b.queryAllPages(t, "query", "SELECT Id, Name, StageName, Amount, CloseDate, IsClosed, NextStep, OwnerId FROM Opportunity")
	someIDs := []string{opps[3]["Id"].(string), opps[7]["Id"].(string)[:15], opps[11]["Id"].(string)}
	owner := opps[0]["OwnerId"].(string)
	tests := []struct {
		name  string
		where string
		keep  func(r map[string]any) bool
	}{
		{"equals picklist, case-insensitive", "StageName = 'closed won'", func(r map[string]any) bool { return r["StageName"] == "Closed Won" }},
		{"not equals", "StageName != 'Closed Won'", func(r map[string]any) bool { return r["StageName"] != "Closed Won" }},
		{"<> and number", "Amount <> 50000", func(r map[string]any) bool { return r["Amount"] != 50000.0 }},
		{"number range with AND", "Amount >= 100000 AND Amount < 200000.5", func(r map[string]any) bool {
			a := r["Amount"].(float64)
			return a >= 100000 && a < 200000.5
		}},
		{"OR in parentheses with AND", "(StageName = 'Prospecting' OR StageName = 'Renewed') AND IsClosed = false", func(r map[string]any) bool {
			return (r["StageName"] == "Prospecting" || r["StageName"] == "Renewed") && r["IsClosed"] == false
		}},
		{"IN", "StageName IN ('Prospecting', 'Qualification')", func(r map[string]any) bool {
			return r["StageName"] == "Prospecting" || r["StageName"] == "Qualification"
		}},
		{"NOT IN", "StageName NOT IN ('Prospecting', 'Qualification')", func(r map[string]any) bool {
			return r["StageName"] != "Prospecting" && r["StageName"] != "Qualification"
		}},
		{"Id IN with 15 and 18 char ids", "Id IN ('" + strings.Join(someIDs, "','") + "')", func(r map[string]any) bool {
			id := r["Id"].(string)
			return id == opps[3]["Id"] || id == opps[7]["Id"] || id == opps[11]["Id"]
		}},
		{"reference equals", "OwnerId = '" + owner + "'", func(r map[string]any) bool { return r["OwnerId"] == owner }},
		{"date literal", "CloseDate > 2026-09-01", func(r map[string]any) bool { return r["CloseDate"].(string) > "2026-09-01" }},
		{"LIKE", "Name LIKE 'acme%'", func(r map[string]any) bool { return strings.HasPrefix(strings.ToLower(r["Name"].(string)), "acme") }},
		{"LIKE with _", "Name LIKE '_cme%'", func(r map[string]any) bool {
			n := strings.ToLower(r["Name"].(string))
			return len(n) >= 4 && n[1:4] == "cme"
		}},
		{"LIKE contains", "Name LIKE '%SUITE%'", func(r map[string]any) bool { return strings.Contains(strings.ToLower(r["Name"].(string)), "suite") }},
		{"null", "NextStep = null", func(r map[string]any) bool { return r["NextStep"] == nil }},
		{"not null", "NextStep != null", func(r map[string]any) bool { return r["NextStep"] != nil }},
		{"NOT", "NOT StageName = 'Prospecting'", func(r map[string]any) bool { return r["StageName"] != "Prospecting" }},
		{"keywords in any case", "isclosed = TRUE and amount > 1000", func(r map[string]any) bool { return r["IsClosed"] == true && r["Amount"].(float64) > 1000 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _ := b.queryAllPages(t, "query", "SELECT Id, Name FROM Opportunity WHERE "+tt.where)
			var want []string
			for _, r := range opps {
				if tt.keep(r) {
					want = append(want, r["Id"].(string))
				}
			}
			var gotIDs []string
			for _, r := range got {
				gotIDs = append(gotIDs, r["Id"].(string))
			}
			slices.Sort(gotIDs)
			slices.Sort(want)
			if len(want) == 0 {
				t.Fatalf("test data has no match for %q", tt.where)
			}
			if !slices.Equal(gotIDs, want) {
				t.Fatalf("got %d ids, want %d", len(gotIDs), len(want))
			}
		})
	}
}

func TestSOQLOrderLimitOffsetCount(t *testing.T) {
	t.Parallel()
	b := setup(t, 300)
	got, _ := b.queryAllPages(t, "query", "SELECT Id, Amount, Name FROM Opportunity ORDER BY Amount DESC, Name ASC")
	for i := 1; i < len(got); i++ {
		a, c := got[i-1], got[i]
		if a["Amount"].(float64) < c["Amount"].(float64) ||
			a["Amount"] == c["Amount"] && strings.ToLower(a["Name"].(string)) > strings.ToLower(c["Name"].(string)) {
			t.Fatalf("out of order at %d: %v then %v", i, a, c)
		}
	}
	qr, _ := b.query(t, "SELECT Id FROM Opportunity ORDER BY Amount DESC, Name ASC LIMIT 10 OFFSET 5")
	if qr.TotalSize != 10 || len(qr.Records) != 10 || qr.Records[0]["Id"] != got[5]["Id"] {
		t.Fatalf("LIMIT 10 OFFSET 5: got total %d, first %v, want %v", qr.TotalSize, qr.Records[0]["Id"], got[5]["Id"])
	}
	qr, _ = b.query(t, "SELECT Id FROM Opportunity ORDER BY Id LIMIT 3 OFFSET 2")
	ids, _ := b.queryAllPages(t, "query", "SELECT Id FROM Opportunity ORDER BY Id")
	if qr.TotalSize != 3 || qr.Records[0]["Id"] != ids[2]["Id"] {
		t.Fatalf("index path OFFSET: got %v, want first %v", qr.Records, ids[2]["Id"])
	}
	// A pathological LIKE pattern answers at once (no exponential backtracking).
	if _, r := b.query(t, "SELECT Id FROM Opportunity WHERE Name LIKE '%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%z'"); r.status != 200 {
		t.Fatalf("pathological LIKE: got %d", r.status)
	}
	cnt, resp := b.query(t, "SELECT COUNT() FROM Opportunity WHERE IsClosed = false")
	if resp.status != 200 || cnt.TotalSize == 0 || len(cnt.Records) != 0 || !cnt.Done {
		t.Fatalf("COUNT(): got %d %s", resp.status, resp.body)
	}
}

func TestSOQLErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, 3)
	tests := []struct {
		soql     string
		wantCode string
		wantMsg  string
	}{
		{"SELECT Id FRM Opportunity", "MALFORMED_QUERY", "unexpected token: FRM"},
		{"SELECT Id FROM Opportunity WHERE", "MALFORMED_QUERY", "unexpected token: <EOF>"},
		{"SELECT Id FROM Opportunity WHERE Name = 'a' AND Amount > 1 OR Amount < 0", "MALFORMED_QUERY", "unexpected token: OR"},
		{"SELECT Owner.Name FROM Opportunity", "MALFORMED_QUERY", "relationship field Owner.Name is not supported"},
		{"SELECT Id, (SELECT Id FROM OpportunityContactRoles) FROM Opportunity", "MALFORMED_QUERY", "subquery"},
		{"SELECT COUNT(Id) FROM Opportunity", "MALFORMED_QUERY", "COUNT(field)"},
		{"SELECT Id FROM Opportunity WHERE CloseDate = TODAY", "MALFORMED_QUERY", "TODAY"},
		{"SELECT Id FROM Opportunity WHERE CreatedDate = LAST_N_DAYS:3", "MALFORMED_QUERY", "LAST_N_DAYS"},
		{"SELECT Id FROM Opportunity GROUP BY StageName", "MALFORMED_QUERY", "GROUP"},
		{"SELECT Id FROM Opportunity WHERE Name = :name", "MALFORMED_QUERY", "bind variable"},
		{"SELECT FIELDS(ALL) FROM Opportunity LIMIT 200", "MALFORMED_QUERY", "function FIELDS()"},
		{"SELECT Id FROM Opportunity WHERE Name = 'it\\'s' AND Name = 'bad \\q'", "MALFORMED_QUERY", "Illegal character sequence"},
		{"SELECT Id FROM Opportunity WHERE SystemModstamp > 2026-10-28", "MALFORMED_QUERY", "must be of type dateTime"},
		{"SELECT Id FROM Opportunity WHERE CloseDate > '2026-10-28'", "MALFORMED_QUERY", "must be of type date"},
		{"SELECT Id FROM Opportunity WHERE Amount > '5'", "MALFORMED_QUERY", "must be of type double"},
		{"SELECT Id FROM Opportunity WHERE Id = 'short'", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field"},
		{"SELECT Foo FROM Opportunity", "INVALID_FIELD", "No such column 'Foo' on entity 'Opportunity'"},
		{"SELECT Id FROM Opportunity WHERE Description = 'x'", "INVALID_FIELD", "can not be filtered"},
		{"SELECT Id FROM Opportunity ORDER BY Description", "INVALID_FIELD", "can not be sorted"},
		{"SELECT Id FROM Widget__c", "INVALID_TYPE", "sObject type 'Widget__c' is not supported"},
		{"SELECT Id, Id FROM Opportunity", "MALFORMED_QUERY", "duplicate field selected: Id"},
		{"SELECT Id FROM Opportunity OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE", "offset"},
		{"", "MALFORMED_QUERY", "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.soql, func(t *testing.T) {
			t.Parallel()
			resp := b.do(t, "GET", api+"/query?q="+url.QueryEscape(tt.soql), nil)
			var errs []struct{ Message, ErrorCode string }
			resp.decode(t, &errs)
			if resp.status != 400 || len(errs) != 1 || errs[0].ErrorCode != tt.wantCode || !strings.Contains(errs[0].Message, tt.wantMsg) {
				t.Fatalf("got %d %s, want 400 %s containing %q", resp.status, resp.body, tt.wantCode, tt.wantMsg)
			}
		})
	}
	// Messages point at the offending token as Salesforce does.
	resp := b.do(t, "GET", api+"/query?q="+url.QueryEscape("SELECT Id FRM Opportunity"), nil)
	var errs []struct{ Message string }
	resp.decode(t, &errs)
	if want := "\nSELECT Id FRM Opportunity\n          ^\nERROR at Row:1:Column:11\nunexpected token: FRM"; errs[0].Message != want {
		t.Errorf("got message %q, want %q", errs[0].Message, want)
	}
}

func TestQueryAllSeesRecycleBin(t *testing.T) {
	t.Parallel()
	b := setup(t, 20)
	id := b.sb.IDs("Opportunity")[4]
	if r := b.do(t, "DELETE", api+"/sobjects/Opportunity/"+id, nil); r.status != 204 {
		t.Fatalf("delete: got %d %s", r.status, r.body)
	}
	soql := "SELECT Id, IsDeleted FROM Opportunity WHERE Id = '" + id + "'"
	if qr, _ := b.query(t, soql); qr.TotalSize != 0 {
		t.Fatalf("query sees a deleted record: %+v", qr)
	}
	all := b.do(t, "GET", api+"/queryAll/?q="+url.QueryEscape(soql), nil)
	var qr queryResult
	all.decode(t, &qr)
	if qr.TotalSize != 1 || qr.Records[0]["IsDeleted"] != true {
		t.Fatalf("queryAll: got %s", all.body)
	}
	// Contact roles of a deleted opportunity go to the recycle bin with it.
	roles, _ := b.query(t, "SELECT Id FROM OpportunityContactRole WHERE OpportunityId = '"+id+"'")
	deleted := b.do(t, "GET", api+"/queryAll?q="+url.QueryEscape("SELECT Id FROM OpportunityContactRole WHERE IsDeleted = true AND OpportunityId = '"+id+"'"), nil)
	var dq queryResult
	deleted.decode(t, &dq)
	if roles.TotalSize != 0 || dq.TotalSize == 0 {
		t.Fatalf("got %d live and %d deleted roles, want 0 and some", roles.TotalSize, dq.TotalSize)
	}
}

// TestConcurrentPagingAndWrites pages queries while collections write, so the race detector sees
// readers and writers interleave; every page must stay well formed and every query must end.
func TestConcurrentPagingAndWrites(t *testing.T) {
	t.Parallel()
	b := setup(t, 800)
	ids := b.sb.IDs("Opportunity")
	done := make(chan error, 6)
	for w := range 2 {
		go func() {
			for i := range 20 {
				var recs []map[string]any
				for j := range 50 {
					id := ids[(w*1000+i*50+j)%len(ids)]
					recs = append(recs, map[string]any{"attributes": map[string]any{"type": "Opportunity"}, "id": id, "MAP_Progress__c": i})
				}
				if r := b.do(t, "PATCH", api+"/composite/sobjects", map[string]any{"records": recs}); r.status != 200 {
					done <- fmt.Errorf("write: %d %s", r.status, r.body)
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		go func() {
			for range 3 {
				resp := b.do(t, "GET", api+"/queryAll?q="+url.QueryEscape("SELECT Id, MAP_Progress__c, SystemModstamp FROM Opportunity ORDER BY SystemModstamp, Id"), nil, "Sforce-Query-Options", "batchSize=200")
				for {
					var qr queryResult
					if resp.status != 200 {
						done <- fmt.Errorf("page: %d %s", resp.status, resp.body)
						return
					}
					resp.decode(t, &qr)
					if qr.Done {
						break
					}
					resp = b.do(t, "GET", qr.NextRecordsURL, nil, "Sforce-Query-Options", "batchSize=200")
				}
			}
			done <- nil
		}()
	}
	for range 6 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestGeneratedDataFollowsClock(t *testing.T) {
	t.Parallel()
	b := setup(t, 200, func(o *salesforce.Options) {
		now := time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC)
		o.Now = func() time.Time { return now }
	})
	recs, _ := b.queryAllPages(t, "query", "SELECT Id, CreatedDate, LastModifiedDate, SystemModstamp FROM Opportunity")
	for _, r := range recs {
		created, stamp := r["CreatedDate"].(string), r["SystemModstamp"].(string)
		if stamp > "2024-03-01T08:00:00.000+0000" || created > stamp || created < "2023-" {
			t.Fatalf("record %v is not in the months before the clock", r)
		}
	}
	// Deterministic: the same seed and clock give the same ids and stamps.
	again := setup(t, 200, func(o *salesforce.Options) {
		now := time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC)
		o.Now = func() time.Time { return now }
	})
	recs2, _ := again.queryAllPages(t, "query", "SELECT Id, CreatedDate, LastModifiedDate, SystemModstamp FROM Opportunity")
	if fmt.Sprint(recs) != fmt.Sprint(recs2) {
		t.Fatal("same seed and clock gave different data")
	}
}
