package hubspot

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mapsync/mapsync/connectors"
)

// fakeSearch answers searchRequests over an in-memory record set the way HubSpot does: filters on
// the stamp and hs_object_id, one sort, first page only (the walk never sends an offset).
func fakeSearch(t *testing.T, all []connectors.Record, req searchRequest) ([]connectors.Record, int) {
	t.Helper()
	if req.After != "" {
		t.Fatalf("walk sent an offset %q", req.After)
	}
	var out []connectors.Record
	for _, r := range all {
		ok := true
		for _, f := range req.FilterGroups[0].Filters {
			var a, b int64
			if f.PropertyName == "hs_object_id" {
				a, _ = strconv.ParseInt(r.ID, 10, 64)
			} else {
				a = r.ModifiedAt.UnixMilli()
			}
			b, _ = strconv.ParseInt(f.Value, 10, 64)
			switch f.Operator {
			case "EQ":
				ok = ok && a == b
			case "GT":
				ok = ok && a > b
			case "GTE":
				ok = ok && a >= b
			default:
				t.Fatalf("unexpected operator %s", f.Operator)
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	// Sort by the one sort property only; ties in reverse id order, to show the walk does not rely on
	// the server's tie order.
	slices.SortStableFunc(out, func(a, b connectors.Record) int {
		if req.Sorts[0].PropertyName == "hs_object_id" {
			return connectors.CompareIDs(a.ID, b.ID)
		}
		if c := a.ModifiedAt.Compare(b.ModifiedAt); c != 0 {
			return c
		}
		return -connectors.CompareIDs(a.ID, b.ID)
	})
	total := len(out)
	if len(out) > req.Limit {
		out = out[:req.Limit]
	}
	return slices.Clone(out), total
}

func TestSearchWalkReadsEveryRecordOnceInOrder(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		stamps   func(i int) time.Time
		n, limit int
		maxCalls int
	}{
		"distinct stamps":               {n: 1000, limit: 200, stamps: func(i int) time.Time { return base.Add(time.Duration(i) * time.Millisecond) }, maxCalls: 7},
		"pairs across page boundary":    {n: 1001, limit: 10, stamps: func(i int) time.Time { return base.Add(time.Duration(i/2) * time.Millisecond) }, maxCalls: 130},
		"all in one millisecond":        {n: 450, limit: 200, stamps: func(int) time.Time { return base }, maxCalls: 5},
		"big block in the middle":       {n: 900, limit: 50, stamps: func(i int) time.Time { return base.Add(time.Duration(min(max(i, 100), 700)) * time.Millisecond) }, maxCalls: 40},
		"block exactly one page":        {n: 400, limit: 200, stamps: func(i int) time.Time { return base.Add(time.Duration(i/200) * time.Millisecond) }, maxCalls: 3},
		"empty":                         {n: 0, limit: 200, stamps: func(int) time.Time { return base }, maxCalls: 1},
		"stamps in reverse id order":    {n: 300, limit: 100, stamps: func(i int) time.Time { return base.Add(time.Duration(300-i) * time.Millisecond) }, maxCalls: 5},
		"more than 10000 in one stamp ": {n: 10450, limit: 200, stamps: func(int) time.Time { return base.Add(time.Second) }, maxCalls: 55},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			all := make([]connectors.Record, tc.n)
			for i := range all {
				all[i] = connectors.Record{ID: strconv.Itoa(i + 1), ModifiedAt: tc.stamps(i)}
			}
			w := newSearchWalk(dealSpec, nil, base, tc.limit)
			var got []connectors.Record
			calls := 0
			for done := false; !done; {
				calls++
				if calls > tc.maxCalls {
					t.Fatalf("got more than %d calls, want at most %d (read %d of %d)", calls-1, tc.maxCalls, len(got), tc.n)
				}
				var page []connectors.Record
				page, done = w.advance(fakeSearch(t, all, w.request()))
				got = append(got, page...)
			}
			if len(got) != tc.n {
				t.Fatalf("got %d records, want %d", len(got), tc.n)
			}
			if !slices.IsSortedFunc(got, compareRecords) {
				t.Errorf("got records out of (stamp, id) order")
			}
			seen := map[string]bool{}
			for _, r := range got {
				if seen[r.ID] {
					t.Fatalf("got record %s twice", r.ID)
				}
				seen[r.ID] = true
			}
		})
	}
}
