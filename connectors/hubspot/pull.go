package hubspot

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mapsync/mapsync/connectors"
)

// listPageSize is the list endpoint's maximum limit.
const listPageSize = 100

// propertyName is what a HubSpot property's internal name may look like.
var propertyName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,99}$`)

// Pull streams the records of req.Object, page by page, to fn. See connectors.Connector.
//
// Deals and contacts are read incrementally through the search API (filter on the stamp GTE
// Since.Stamp-Overlap, sorted by the stamp, 200 a page; see searchWalk for how the 10,000-result cap
// and equal stamps are handled) and fully (req.Full) through the list endpoint, 100 a page, live
// records first and then archived ones (delivered with Deleted set). Full pulls come in the list's
// id order: each page is sorted by (stamp, id) and the cursor is the greatest (stamp, id) delivered
// so far, but pages do not follow each other in stamp order.
//
// A Full pull of deals, contacts or contact roles is resumable: each page's Cursor.Extra says where
// the list walk stands after it (the pass, live or archived, and the list's paging cursor of the
// next page), and a Full pull whose Since.Extra carries such a position continues right after that
// page. The list pages in id order and HubSpot ids only grow, so the records before the position
// are exactly those of the pages already delivered.
//
// Deal-contact roles walk the deals the same way (only their id and stamp), or take them from
// req.Deals (the same run's deal pull) without a call, and read each group's associations to
// contacts; Page.Roles holds every walked deal, with an empty set when it has no
// contacts. Owners are few: they are read whole, filtered by updatedAt unless Full, and delivered
// sorted; a Full owners pull carries no position and starts over.
func (c *Connector) Pull(ctx context.Context, req connectors.PullRequest, fn func(connectors.Page) error) error {
	for _, f := range req.Fields {
		if !propertyName.MatchString(f) {
			return fmt.Errorf("pull %s: %w", req.Object, &connectors.Error{
				Kind: connectors.KindPermanent, Code: "INVALID_FIELD", Message: fmt.Sprintf("invalid property name %q", f), Fields: []string{f},
			})
		}
	}
	since := req.Since.Stamp.Add(-req.Overlap)
	if req.Since.Stamp.IsZero() || since.Before(time.Unix(0, 0)) {
		since = time.Unix(0, 0).UTC()
	}
	switch req.Object {
	case connectors.ObjectDeal, connectors.ObjectContact:
		spec, _ := specFor(req.Object)
		props := spec.properties(req.Fields)
		cur := req.Since
		emit := func(recs []connectors.Record) error {
			if len(recs) == 0 {
				return nil
			}
			cur = laterCursor(cur, recs[len(recs)-1])
			return fn(connectors.Page{Records: recs, Cursor: cur})
		}
		if req.Full {
			from, err := listResume(req.Since.Extra)
			if err != nil {
				return fmt.Errorf("pull %s: %w", req.Object, err)
			}
			cur = connectors.Cursor{Stamp: req.Since.Stamp, ID: req.Since.ID}
			return c.walkList(ctx, req.Object, spec, props, true, from, func(recs []connectors.Record, next listPos) error {
				cur = laterCursor(cur, recs[len(recs)-1])
				pc := cur
				pc.Extra = next.extra()
				return fn(connectors.Page{Records: recs, Cursor: pc})
			})
		}
		return c.walkSearch(ctx, req.Object, spec, props, since, emit)
	case connectors.ObjectDealContact:
		return c.pullDealContacts(ctx, req, since, fn)
	case connectors.ObjectOwner:
		return c.pullOwners(ctx, req, since, fn)
	default:
		return fmt.Errorf("pull %s: %w", req.Object, &connectors.Error{Kind: connectors.KindPermanent, Message: "object not supported by hubspot"})
	}
}

// laterCursor returns the later of cur and rec's (stamp, id), comparing HubSpot ids as numbers, so
// that a cursor never moves backwards.
func laterCursor(cur connectors.Cursor, rec connectors.Record) connectors.Cursor {
	if cur.After(rec.ModifiedAt, rec.ID) {
		return connectors.Cursor{Stamp: rec.ModifiedAt, ID: rec.ID, Extra: cur.Extra}
	}
	return cur
}

// walkSearch runs a searchWalk from since and hands each page's records, in (stamp, id) order, to
// emit. Pages whose records are all held back (see searchWalk) are not handed over.
func (c *Connector) walkSearch(ctx context.Context, obj connectors.Object, spec objectSpec, props []string, since time.Time, emit func([]connectors.Record) error) error {
	w := newSearchWalk(spec, props, since, searchPageSize)
	for page := 1; ; page++ {
		var sp searchPage
		if _, err := c.do(ctx, call{
			op: "search", method: http.MethodPost, path: "crm/v3/objects/" + spec.typ + "/search",
			body: w.request(), safe: true, search: true,
		}, &sp); err != nil {
			return fmt.Errorf("pull %s page %d: %w", obj, page, err)
		}
		recs, err := decodeObjects(obj, spec, sp.Results)
		if err != nil {
			return fmt.Errorf("pull %s page %d: %w", obj, page, c.countError("search", err))
		}
		out, done := w.advance(recs, sp.Total)
		c.log.Debug().Str("object", string(obj)).Int("page", page).Int("records", len(out)).Msg("search page")
		if len(out) > 0 {
			if err := emit(out); err != nil {
				return fmt.Errorf("pull %s page %d: %w", obj, page, err)
			}
		}
		if done {
			return nil
		}
	}
}

// Keys of a Full pull's Cursor.Extra: where the list walk stands after the page.
const (
	// resumePass is "live" or "archived" (the pass the next page belongs to), or "done".
	resumePass = "list_pass"
	// resumeAfter is the list's paging cursor of the next page; absent at the start of a pass.
	resumeAfter = "list_after"
)

// listPos is a position in a full list walk: the start of the page that comes next.
type listPos struct {
	archived bool
	after    string // "" for the start of the pass
	done     bool
}

// extra renders p as a Cursor.Extra.
func (p listPos) extra() map[string]string {
	switch {
	case p.done:
		return map[string]string{resumePass: "done"}
	case p.archived:
		return map[string]string{resumePass: "archived", resumeAfter: p.after}
	default:
		return map[string]string{resumePass: "live", resumeAfter: p.after}
	}
}

// listResume reads a position from a Full pull's Since.Extra; without one the walk starts at the
// beginning.
func listResume(extra map[string]string) (listPos, error) {
	after := extra[resumeAfter]
	if len(after) > 200 || strings.ContainsFunc(after, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return listPos{}, &connectors.Error{Kind: connectors.KindPermanent, Code: "BAD_RESUME", Message: "invalid list position to resume from"}
	}
	switch extra[resumePass] {
	case "":
		return listPos{}, nil
	case "live":
		return listPos{after: after}, nil
	case "archived":
		return listPos{archived: true, after: after}, nil
	case "done":
		return listPos{done: true}, nil
	}
	return listPos{}, &connectors.Error{Kind: connectors.KindPermanent, Code: "BAD_RESUME", Message: fmt.Sprintf("unknown list pass %q to resume", extra[resumePass])}
}

// walkList pages the list endpoint from position from: live records and then, with archivedToo,
// archived ones. It hands each page's records, sorted by (stamp, id), to emit with the position
// after the page.
func (c *Connector) walkList(ctx context.Context, obj connectors.Object, spec objectSpec, props []string, archivedToo bool, from listPos, emit func([]connectors.Record, listPos) error) error {
	if from.done {
		return nil
	}
	passes := []bool{false}
	if archivedToo {
		passes = append(passes, true)
	}
	page := 0
	for _, archived := range passes {
		if from.archived && !archived {
			continue
		}
		after := ""
		if archived == from.archived {
			after = from.after
		}
		for {
			page++
			q := url.Values{}
			q.Set("limit", strconv.Itoa(listPageSize))
			q.Set("properties", strings.Join(props, ","))
			q.Set("archived", strconv.FormatBool(archived))
			if after != "" {
				q.Set("after", after)
			}
			var lp listPage
			if _, err := c.do(ctx, call{op: "list", method: http.MethodGet, path: "crm/v3/objects/" + spec.typ + "?" + q.Encode()}, &lp); err != nil {
				return fmt.Errorf("pull %s page %d: %w", obj, page, err)
			}
			recs, err := decodeObjects(obj, spec, lp.Results)
			if err != nil {
				return fmt.Errorf("pull %s page %d: %w", obj, page, c.countError("list", err))
			}
			for i := range recs {
				recs[i].Deleted = recs[i].Deleted || archived
			}
			slices.SortFunc(recs, compareRecords)
			c.log.Debug().Str("object", string(obj)).Int("page", page).Bool("archived", archived).Int("records", len(recs)).Msg("list page")
			next := lp.Paging.nextAfter()
			if len(recs) > 0 {
				pos := listPos{archived: archived, after: next}
				switch {
				case next != "":
				case !archived && archivedToo:
					pos = listPos{archived: true}
				default:
					pos = listPos{done: true}
				}
				if err := emit(recs, pos); err != nil {
					return fmt.Errorf("pull %s page %d: %w", obj, page, err)
				}
			}
			if next == "" {
				break
			}
			if next == after {
				return fmt.Errorf("pull %s page %d: %w", obj, page, c.countError("list", &connectors.Error{Kind: connectors.KindTransient, Code: "PAGING_LOOP", Message: "list paging returned the same cursor twice"}))
			}
			after = next
		}
	}
	return nil
}

// decodeObjects turns a page of HubSpot objects into records; one bad record fails the page. An
// archived record's stamp is the later of its stamp and archivedAt, so that the deletion sorts after
// the stored live version.
func decodeObjects(obj connectors.Object, spec objectSpec, in []object) ([]connectors.Record, error) {
	out := make([]connectors.Record, 0, len(in))
	for i := range in {
		r, err := spec.toRecord(obj, &in[i])
		if err != nil {
			return nil, &connectors.Error{Kind: connectors.KindTransient, Code: "BAD_RECORD", Message: "undecodable record", Err: err}
		}
		if r.Deleted && in[i].ArchivedAt != "" {
			if at, err := parseTime(in[i].ArchivedAt); err == nil && at.After(r.ModifiedAt) {
				r.ModifiedAt = at
			}
		}
		out = append(out, r)
	}
	return out, nil
}
