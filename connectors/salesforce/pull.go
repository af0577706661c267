package salesforce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mapsync/mapsync/connectors"
)

// maxRestarts bounds how often one pull reopens its query after losing the query locator.
const maxRestarts = 3

// Pull implements connectors.Connector. It runs SOQL on queryAll (query for User, which cannot be
// deleted):
//
//	SELECT <fields> FROM <sObject> WHERE <since> ORDER BY SystemModstamp ASC, Id ASC
//
// where <since> is "SystemModstamp >= Since.Stamp-Overlap" with an overlap, the keyset
// "(SystemModstamp = X AND Id > 'id') OR SystemModstamp > X" after the cursor without one, and
// nothing for a Full pull. Pages follow nextRecordsUrl with Sforce-Query-Options batchSize; when the
// locator is lost (INVALID_QUERY_LOCATOR) or Options.QueryLimit ends a query, the next query
// continues with the keyset after the last record delivered, so records sharing one stamp across
// a page boundary are neither missed nor repeated. Deleted records (recycle bin) come with
// Deleted set. For ObjectDealContact each page also carries the complete current roles of its
// deals (one extra query per Options.RolesChunk deals), except in a Full pull, which reads the
// roles in deal order instead so that each page holds its deals' complete role sets (see
// pullRolesByDeal).
func (c *Connector) Pull(ctx context.Context, req connectors.PullRequest, fn func(connectors.Page) error) error {
	spec, err := specFor(req.Object)
	if err != nil {
		return fmt.Errorf("pull %s: %w", req.Object, err)
	}
	fields, err := spec.selectFields(req.Fields)
	if err != nil {
		return fmt.Errorf("pull %s: %w", req.Object, err)
	}
	if req.Full && req.Object == connectors.ObjectDealContact {
		return c.pullRolesByDeal(ctx, req, spec, fields, fn)
	}
	p := &puller{c: c, req: req, spec: spec, fields: fields, fn: fn, seen: map[string]struct{}{}}
	return p.run(ctx)
}

// puller is the state of one Pull.
type puller struct {
	c      *Connector
	req    connectors.PullRequest
	spec   objectSpec
	fields []string
	fn     func(connectors.Page) error

	pos     connectors.Cursor   // last record delivered
	have    bool                // pos is set
	seen    map[string]struct{} // ids delivered at pos.Stamp
	pages   int                 // pages fetched
	records int                 // records delivered
}

func (p *puller) run(ctx context.Context) error {
	start := time.Now()
	restarts := 0
	for {
		where, err := p.where()
		if err != nil {
			return fmt.Errorf("pull %s: %w", p.req.Object, err)
		}
		soql := "SELECT " + strings.Join(p.fields, ", ") + " FROM " + p.spec.sobject + where +
			" ORDER BY SystemModstamp ASC, Id ASC"
		if p.c.opts.QueryLimit > 0 {
			soql += " LIMIT " + strconv.Itoa(p.c.opts.QueryLimit)
		}
		resource := "/query"
		if p.spec.deletable {
			resource = "/queryAll"
		}
		path := p.c.base + resource + "?q=" + url.QueryEscape(soql)
		rows, delivered := 0, 0
		lost := false
		for path != "" {
			var qr queryResult
			p.pages++
			err := p.c.do(ctx, call{op: "query", method: http.MethodGet, path: path, header: p.c.batchHeader()}, &qr)
			if err != nil {
				if locatorLost(err) && restarts < maxRestarts && p.pages > 1 {
					restarts++
					lost = true
					p.c.log.Warn().Str("object", string(p.req.Object)).Int("page", p.pages).Msg("query locator lost, continuing with keyset")
					break
				}
				return fmt.Errorf("pull %s page %d: %w", p.req.Object, p.pages, err)
			}
			n, err := p.deliver(ctx, qr.Records)
			if err != nil {
				return fmt.Errorf("pull %s page %d: %w", p.req.Object, p.pages, err)
			}
			rows += len(qr.Records)
			delivered += n
			path = ""
			if !qr.Done && qr.NextRecordsURL != "" {
				if path, err = p.c.nextPath(qr.NextRecordsURL); err != nil {
					return fmt.Errorf("pull %s page %d: %w", p.req.Object, p.pages, err)
				}
			}
		}
		if lost {
			continue
		}
		if p.c.opts.QueryLimit > 0 && rows >= p.c.opts.QueryLimit {
			if delivered == 0 {
				return fmt.Errorf("pull %s page %d: %w", p.req.Object, p.pages, &connectors.Error{Kind: connectors.KindPermanent, Code: "NO_PROGRESS", Message: "keyset query returned only records already delivered"})
			}
			continue
		}
		p.c.log.Debug().Str("object", string(p.req.Object)).Int("records", p.records).Int("pages", p.pages).Dur("took", time.Since(start)).Msg("pull done")
		return nil
	}
}

// where renders the WHERE clause (with its leading space) for the next query.
func (p *puller) where() (string, error) {
	switch {
	case p.have:
		return keyset(p.pos)
	case p.req.Full || p.req.Since.Stamp.IsZero():
		return "", nil
	case p.req.Overlap > 0 || p.req.Since.ID == "":
		return " WHERE SystemModstamp >= " + dateTimeLiteral(p.req.Since.Stamp.Add(-p.req.Overlap)), nil
	default:
		return keyset(p.req.Since)
	}
}

// keyset renders the condition "strictly after (stamp, id)"; the leading redundant bound lets the
// CRM start from its SystemModstamp index.
func keyset(c connectors.Cursor) (string, error) {
	id, err := quoteID(c.ID)
	if err != nil {
		return "", fmt.Errorf("cursor: %w", err)
	}
	x := dateTimeLiteral(c.Stamp)
	return " WHERE SystemModstamp >= " + x + " AND ((SystemModstamp = " + x + " AND Id > " + id + ") OR SystemModstamp > " + x + ")", nil
}

// deliver converts a page, drops what this pull already delivered, and hands the rest to fn. It
// returns how many records it delivered. Nothing is delivered when any record fails to convert.
func (p *puller) deliver(ctx context.Context, rows []map[string]any) (int, error) {
	recs := make([]connectors.Record, 0, len(rows))
	for i, m := range rows {
		r, err := toRecord(p.req.Object, m)
		if err != nil {
			return 0, &connectors.Error{Kind: connectors.KindTransient, Code: "MALFORMED_RECORD", Message: fmt.Sprintf("record %d of the page", i+1), Err: err}
		}
		recs = append(recs, r)
	}
	// Drop records already delivered by this pull (a keyset restart can overlap), then advance.
	out := recs[:0]
	pos, have := p.pos, p.have
	seen := p.seen
	for _, r := range recs {
		if have {
			if r.ModifiedAt.Before(pos.Stamp) {
				continue
			}
			if r.ModifiedAt.Equal(pos.Stamp) {
				if _, dup := seen[r.ID]; dup {
					continue
				}
			}
		}
		if !have || r.ModifiedAt.After(pos.Stamp) {
			pos = connectors.Cursor{Stamp: r.ModifiedAt, ID: r.ID}
			seen = map[string]struct{}{}
			have = true
		} else if r.ID > pos.ID {
			pos.ID = r.ID
		}
		seen[r.ID] = struct{}{}
		out = append(out, r)
	}
	if len(out) == 0 {
		return 0, nil
	}
	page := connectors.Page{Records: out, Cursor: pos}
	if since := p.req.Since; !since.Stamp.IsZero() && !since.After(pos.Stamp, pos.ID) {
		// Records from the overlap window (or a Full pass) must not move the cursor back.
		page.Cursor = connectors.Cursor{Stamp: since.Stamp, ID: since.ID}
	}
	if p.req.Object == connectors.ObjectDealContact {
		roles, err := p.c.roles(ctx, out)
		if err != nil {
			return 0, err
		}
		page.Roles = roles
	}
	if err := p.fn(page); err != nil {
		return 0, err
	}
	p.pos, p.have, p.seen = pos, have, seen
	p.records += len(out)
	p.c.log.Debug().Str("object", string(p.req.Object)).Int("page", p.pages).Int("records", len(out)).Msg("pull page")
	return len(out), nil
}

// batchHeader asks for the configured page size.
func (c *Connector) batchHeader() http.Header {
	return http.Header{"Sforce-Query-Options": {"batchSize=" + strconv.Itoa(c.opts.PageSize)}}
}

// nextPath vets a nextRecordsUrl: a path under /services/data/ on the same host, nothing else.
func (c *Connector) nextPath(next string) (string, error) {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/services/data/") {
		return "", &connectors.Error{Kind: connectors.KindPermanent, Code: "BAD_NEXT_RECORDS_URL", Message: fmt.Sprintf("unexpected nextRecordsUrl %q", truncate(next, 120))}
	}
	return u.RequestURI(), nil
}

// locatorLost reports a query locator the CRM no longer knows (expired, or the CRM's cursor limit).
func locatorLost(err error) bool {
	var e *connectors.Error
	return errors.As(err, &e) && e.Code == "INVALID_QUERY_LOCATOR"
}
