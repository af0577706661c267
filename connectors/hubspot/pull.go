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
// Deal-contact roles walk the deals the same way (only their id and stamp) and read each page's
// associations to contacts; Page.Roles holds every walked deal, with an empty set when it has no
// contacts. Owners are few: they are read whole, filtered by updatedAt unless Full, and delivered
// sorted.
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
			return c.walkList(ctx, req.Object, spec, props, true, emit)
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
	c := rec.ModifiedAt.Compare(cur.Stamp)
	if c > 0 || c == 0 && compareIDs(rec.ID, cur.ID) > 0 {
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

// walkList pages the list endpoint, live records and then, with archivedToo, archived ones, and
// hands each page's records, sorted by (stamp, id), to emit.
func (c *Connector) walkList(ctx context.Context, obj connectors.Object, spec objectSpec, props []string, archivedToo bool, emit func([]connectors.Record) error) error {
	passes := []bool{false}
	if archivedToo {
		passes = append(passes, true)
	}
	page := 0
	for _, archived := range passes {
		after := ""
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
			if len(recs) > 0 {
				if err := emit(recs); err != nil {
					return fmt.Errorf("pull %s page %d: %w", obj, page, err)
				}
			}
			next := lp.Paging.nextAfter()
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
