package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mapsync/mapsync/connectors"
)

// pullRolesByDeal is the Full pull of ObjectDealContact. It reads every contact role (deleted ones
// included) ordered by (OpportunityId, Id), so a deal's roles are contiguous: each page is cut
// after its last complete deal, the tail deal's roles move on to the next page, and Page.Roles is
// built from the page itself without the extra role queries of an incremental pull. API calls stay
// at the minimum for the page size.
//
// Records of such a pull come in deal order, not stamp order; Page.Cursor is the greatest
// (SystemModstamp, Id) delivered so far (or Since when later), with the page's last deal in
// Extra: a pull given it in Since.Extra resumes with "OpportunityId > X", after that deal's
// complete set. Lost locators and QueryLimit continue with the keyset
// "(OpportunityId = X AND Id > 'y') OR OpportunityId > X".
func (c *Connector) pullRolesByDeal(ctx context.Context, req connectors.PullRequest, spec objectSpec, fields []string, fn func(connectors.Page) error) error {
	fail := func(page int, err error) error {
		return fmt.Errorf("pull %s page %d: %w", req.Object, page, err)
	}
	var (
		carry         []connectors.Record // the tail deal's records, not delivered yet
		lastDeal      string              // keyset position: last record read
		lastID        string
		have          bool
		maxSeen       = connectors.Cursor{Stamp: req.Since.Stamp, ID: req.Since.ID}
		afterDeal     = req.Since.Extra[resumeDeal] // resume after this deal's roles
		pages         int
		restarts      int
		finalQuery    bool
		deliveredRows int
	)
	deliver := func(recs []connectors.Record) error {
		if len(recs) == 0 {
			return nil
		}
		roles := map[string][]connectors.DealContact{}
		for _, r := range recs {
			deal, _ := r.Fields["OpportunityId"].(string)
			if _, ok := roles[deal]; !ok {
				roles[deal] = []connectors.DealContact{}
			}
			if !r.Deleted {
				contact, _ := r.Fields["ContactId"].(string)
				role, _ := r.Fields["Role"].(string)
				primary, _ := r.Fields["IsPrimary"].(bool)
				roles[deal] = append(roles[deal], connectors.DealContact{DealID: deal, ContactID: contact, Role: role, Primary: primary})
			}
			if maxSeen.After(r.ModifiedAt, r.ID) {
				maxSeen = connectors.Cursor{Stamp: r.ModifiedAt, ID: r.ID}
			}
		}
		pc := maxSeen
		last, _ := recs[len(recs)-1].Fields["OpportunityId"].(string)
		pc.Extra = map[string]string{resumeDeal: last}
		if err := fn(connectors.Page{Records: recs, Cursor: pc, Roles: roles}); err != nil {
			return err
		}
		deliveredRows += len(recs)
		return nil
	}
	if afterDeal != "" && !ValidID(afterDeal) {
		return fail(0, &connectors.Error{Kind: connectors.KindPermanent, Code: "BAD_RESUME", Message: "invalid deal to resume the full pull after"})
	}
	for {
		where := ""
		if !have && afterDeal != "" {
			deal, _ := quoteID(afterDeal)
			where = " WHERE OpportunityId > " + deal
		}
		if have {
			deal, err := quoteID(lastDeal)
			if err != nil {
				return fail(pages, err)
			}
			id, err := quoteID(lastID)
			if err != nil {
				return fail(pages, err)
			}
			where = " WHERE OpportunityId >= " + deal + " AND ((OpportunityId = " + deal + " AND Id > " + id + ") OR OpportunityId > " + deal + ")"
		}
		soql := "SELECT " + strings.Join(fields, ", ") + " FROM " + spec.sobject + where + " ORDER BY OpportunityId ASC, Id ASC"
		if c.opts.QueryLimit > 0 {
			soql += " LIMIT " + strconv.Itoa(c.opts.QueryLimit)
		}
		path := c.base + "/queryAll?q=" + url.QueryEscape(soql)
		rows, fresh := 0, 0
		lost := false
		for path != "" {
			var qr queryResult
			pages++
			if err := c.do(ctx, call{op: "query", method: http.MethodGet, path: path, header: c.batchHeader()}, &qr); err != nil {
				if locatorLost(err) && restarts < maxRestarts && have {
					restarts++
					lost = true
					c.log.Warn().Str("object", string(req.Object)).Int("page", pages).Msg("query locator lost, continuing with keyset")
					break
				}
				return fail(pages, err)
			}
			recs := make([]connectors.Record, 0, len(qr.Records))
			for i, m := range qr.Records {
				r, err := toRecord(req.Object, m)
				if err != nil {
					e := &connectors.Error{Kind: connectors.KindTransient, Code: "MALFORMED_RECORD", Message: fmt.Sprintf("record %d of the page", i+1), Err: err}
					c.client.CountError("query", e)
					return fail(pages, e)
				}
				deal, _ := r.Fields["OpportunityId"].(string)
				if have && (deal < lastDeal || deal == lastDeal && r.ID <= lastID) {
					continue // already read before a keyset restart
				}
				if afterDeal != "" && deal <= afterDeal {
					continue // delivered before the pull this one resumes
				}
				recs = append(recs, r)
			}
			rows += len(qr.Records)
			fresh += len(recs)
			path = ""
			if !qr.Done && qr.NextRecordsURL != "" {
				next, err := c.nextPath(qr.NextRecordsURL)
				if err != nil {
					return fail(pages, err)
				}
				path = next
			}
			finalQuery = path == "" && (c.opts.QueryLimit == 0 || rows < c.opts.QueryLimit)
			if len(recs) == 0 {
				continue
			}
			last := recs[len(recs)-1]
			lastDeal, _ = last.Fields["OpportunityId"].(string)
			lastID, have = last.ID, true
			all := append(carry, recs...)
			carry = nil
			if !(path == "" && finalQuery) {
				// Hold back the tail deal: its roles may continue on the next page.
				cut := len(all)
				for cut > 0 && all[cut-1].Fields["OpportunityId"] == lastDeal {
					cut--
				}
				carry = append([]connectors.Record(nil), all[cut:]...)
				all = all[:cut]
			}
			if err := deliver(all); err != nil {
				return fail(pages, err)
			}
		}
		if lost {
			continue
		}
		if !finalQuery {
			if fresh == 0 {
				return fail(pages, &connectors.Error{Kind: connectors.KindPermanent, Code: "NO_PROGRESS", Message: "keyset query returned only records already read"})
			}
			continue
		}
		if err := deliver(carry); err != nil {
			return fail(pages, err)
		}
		c.log.Debug().Str("object", string(req.Object)).Int("records", deliveredRows).Int("pages", pages).Msg("pull done")
		return nil
	}
}
