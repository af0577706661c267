package hubspot

import (
	"slices"
	"time"

	"github.com/mapsync/mapsync/connectors"
)

// searchPageSize is the search API's maximum limit.
const searchPageSize = 200

// searchWalk plans the searches of one incremental pull and consumes their pages. It never pages
// a search with an offset: every request is a fresh query that starts at the last stamp it has
// fully read, so
//
//   - the 10,000-result cap of one search cannot be reached (each query reads its first page), which
//     is the time-window split taken to its limit: the window [stamp, ∞) restarts on every page;
//   - a record modified during the run cannot shift an offset and make the walk skip another one;
//   - records sharing a stamp across a page boundary are never split: on a full page the records at
//     the page's last stamp are held back and read again, complete, by the next query (GTE that
//     stamp), so every stamp is emitted whole and pages come out in (stamp, id) order.
//
// When one stamp holds a full page or more (a mass update can give more than 10,000 records the same
// millisecond), the walk switches to a keyset on hs_object_id inside that stamp (stamp EQ X AND
// hs_object_id GT last, sorted by hs_object_id) and then continues after it (stamp GT X).
//
// The price is that the records at each page's last stamp are read twice: with distinct stamps one
// record per page, so about 0.5% more calls than offset paging at 200 records a page. Stamps shared
// by groups cost more: groups of 50 records 1.33 times the minimum, groups of 100 (one batch call's
// records written in the same millisecond) or 200 twice the minimum, 201 three times; a stamp shared
// by thousands tends to the minimum again (keyset). The alternatives were rejected: trusting
// HubSpot's order among equal stamps (unspecified) to keyset on (stamp, id), or walking by
// hs_object_id inside a window, which would hold the cursor back until the window is read whole.
type searchWalk struct {
	spec  objectSpec
	props []string
	limit int

	// from is the lower bound of the next main query; strict makes it GT instead of GTE.
	from   time.Time
	strict bool
	// keyset is set while walking the records of one stamp (keysetStamp) by hs_object_id.
	keyset      bool
	keysetStamp time.Time
	keysetAfter string
	done        bool
}

// newSearchWalk starts a walk at since (inclusive).
func newSearchWalk(spec objectSpec, props []string, since time.Time, limit int) *searchWalk {
	if limit <= 0 || limit > searchPageSize {
		limit = searchPageSize
	}
	return &searchWalk{spec: spec, props: props, limit: limit, from: since}
}

// request returns the next search to send.
func (w *searchWalk) request() searchRequest {
	if w.keyset {
		filters := []searchFilter{{PropertyName: w.spec.stamp, Operator: "EQ", Value: formatMillis(w.keysetStamp)}}
		if w.keysetAfter != "" {
			filters = append(filters, searchFilter{PropertyName: "hs_object_id", Operator: "GT", Value: w.keysetAfter})
		}
		return searchRequest{
			FilterGroups: []searchFilterGroup{{Filters: filters}},
			Sorts:        []searchSort{{PropertyName: "hs_object_id", Direction: "ASCENDING"}},
			Properties:   w.props,
			Limit:        w.limit,
		}
	}
	op := "GTE"
	if w.strict {
		op = "GT"
	}
	return searchRequest{
		FilterGroups: []searchFilterGroup{{Filters: []searchFilter{
			{PropertyName: w.spec.stamp, Operator: op, Value: formatMillis(w.from)},
		}}},
		Sorts:      []searchSort{{PropertyName: w.spec.stamp, Direction: "ASCENDING"}},
		Properties: w.props,
		Limit:      w.limit,
	}
}

// advance consumes the decoded records of the page answering the last request, and the reply's
// total (the number of records the query matched), and returns the records to emit, sorted by
// (stamp, id). It reports whether the walk is over. A full page whose total says nothing is left is
// treated as the last page of its query, which saves the empty call that would confirm it; a record
// that became visible meanwhile is left to the next pull's overlap window.
func (w *searchWalk) advance(recs []connectors.Record, total int) ([]connectors.Record, bool) {
	full := len(recs) >= w.limit && total > len(recs)
	if w.keyset {
		// The reply is sorted by hs_object_id; sort anyway so that a sloppy server cannot reorder.
		slices.SortFunc(recs, compareRecords)
		if len(recs) > 0 {
			w.keysetAfter = recs[len(recs)-1].ID
		}
		if !full {
			w.keyset = false
			w.from, w.strict = w.keysetStamp, true
			w.keysetAfter = ""
		}
		return recs, false
	}
	if !full {
		slices.SortFunc(recs, compareRecords)
		w.done = true
		return recs, true
	}
	first, last := recs[0].ModifiedAt, recs[0].ModifiedAt
	for _, r := range recs[1:] {
		if r.ModifiedAt.Before(first) {
			first = r.ModifiedAt
		}
		if r.ModifiedAt.After(last) {
			last = r.ModifiedAt
		}
	}
	if first.Equal(last) {
		// A whole page at one stamp: read that stamp by id instead, from the start.
		w.keyset, w.keysetStamp, w.keysetAfter = true, last, ""
		return nil, false
	}
	// Emit everything before the last stamp; the next query reads the last stamp again, whole.
	out := recs[:0]
	for _, r := range recs {
		if r.ModifiedAt.Before(last) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, compareRecords)
	w.from, w.strict = last, false
	return slices.Clip(out), false
}

// compareRecords orders records by (stamp, id), comparing HubSpot's numeric ids as numbers.
func compareRecords(a, b connectors.Record) int {
	if c := a.ModifiedAt.Compare(b.ModifiedAt); c != 0 {
		return c
	}
	return connectors.CompareIDs(a.ID, b.ID)
}
