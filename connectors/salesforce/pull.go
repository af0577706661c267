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
//
// A Full pull is resumable: each page's Cursor.Extra holds the (SystemModstamp, Id) of its last
// record (for contact roles: its last deal), and a Full pull whose Since.Extra carries one
// continues with the keyset after it. A record changed after it was read moves past the position
// (its stamp only grows), so it is read again; the records before the position are those of the
// pages already delivered.
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
	if req.Full {
		pos, ok, err := fullResume(req.Since.Extra)
		if err != nil {
			return fmt.Errorf("pull %s: %w", req.Object, err)
		}
		if ok {
			p.pos, p.have = pos, true // where() continues with the keyset after it
		}
	}
	if !req.Full && req.Overlap > 0 {
		p.track = true
		p.window = decodeSeen(req.Since.Extra[seenKey])
		p.prior = make(map[seenEntry]bool, len(p.window))
		for _, e := range p.window {
			p.prior[e] = true
		}
	}
	return p.run(ctx)
}

// puller is the state of one Pull.
type puller struct {
	c      *Connector
	req    connectors.PullRequest
	spec   objectSpec
	fields []string
	fn     func(connectors.Page) error

	pos  connectors.Cursor   // last record delivered
	have bool                // pos is set
	seen map[string]struct{} // ids delivered at pos.Stamp
	// With an overlap window, the (id, stamp) pairs committed in the window before the cursor
	// travel in Cursor.Extra, so the next pull skips them instead of delivering them again.
	track   bool
	prior   map[seenEntry]bool // pairs delivered by earlier pulls (from Since)
	window  []seenEntry        // pairs stamped within Overlap of the cursor, delivered so far
	pages   int                // pages fetched
	records int                // records delivered
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
		rows, fresh := 0, 0
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
			fresh += n
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
			if fresh == 0 {
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

// deliver converts a page, drops what this pull or (through the cursor's seen list) an earlier one
// already delivered, and hands the rest to fn. It returns how many records were new to this pull
// (delivered, or skipped as delivered by an earlier pull). Nothing is delivered when any record
// fails to convert.
func (p *puller) deliver(ctx context.Context, rows []map[string]any) (int, error) {
	recs := make([]connectors.Record, 0, len(rows))
	for i, m := range rows {
		r, err := toRecord(p.req.Object, m)
		if err != nil {
			e := &connectors.Error{Kind: connectors.KindTransient, Code: "MALFORMED_RECORD", Message: fmt.Sprintf("record %d of the page", i+1), Err: err}
			p.c.client.CountError("query", e)
			return 0, e
		}
		recs = append(recs, r)
	}
	// Drop records already delivered by this pull (a keyset restart can overlap), then advance.
	out := recs[:0]
	pos, have := p.pos, p.have
	seen := p.seen
	fresh := 0
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
		fresh++
		if p.prior[seenEntry{r.ID, r.ModifiedAt.UnixMilli()}] {
			continue // committed by an earlier pull, unchanged since
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		p.pos, p.have, p.seen = pos, have, seen
		return fresh, nil
	}
	page := connectors.Page{Records: out, Cursor: pos}
	if since := p.req.Since; !since.Stamp.IsZero() && !since.After(pos.Stamp, pos.ID) {
		// Records from the overlap window (or a Full pass) must not move the cursor back.
		page.Cursor = connectors.Cursor{Stamp: since.Stamp, ID: since.ID}
	}
	if p.req.Full {
		page.Cursor.Extra = map[string]string{resumeStamp: pos.Stamp.UTC().Format(time.RFC3339Nano), resumeID: pos.ID}
	}
	if p.track {
		for _, r := range out {
			p.window = append(p.window, seenEntry{r.ID, r.ModifiedAt.UnixMilli()})
		}
		floor := page.Cursor.Stamp.Add(-p.req.Overlap).UnixMilli()
		kept := p.window[:0]
		for _, e := range p.window {
			if e.ms >= floor {
				kept = append(kept, e)
			}
		}
		p.window = kept
		if len(kept) <= maxSeen {
			page.Cursor.Extra = map[string]string{seenKey: encodeSeen(kept)}
		}
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
	return fresh, nil
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

// Keys of a Full pull's Cursor.Extra: the position to resume after.
const (
	resumeStamp = "full_stamp" // SystemModstamp of the last record delivered, RFC 3339
	resumeID    = "full_id"    // its Id
	resumeDeal  = "full_deal"  // contact roles: the last deal whose roles were delivered
)

// fullResume reads the (stamp, id) position of a Full pull's Since.Extra.
func fullResume(extra map[string]string) (connectors.Cursor, bool, error) {
	raw, id := extra[resumeStamp], extra[resumeID]
	if raw == "" && id == "" {
		return connectors.Cursor{}, false, nil
	}
	stamp, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil || !ValidID(id) {
		return connectors.Cursor{}, false, &connectors.Error{Kind: connectors.KindPermanent, Code: "BAD_RESUME", Message: "invalid position to resume the full pull from"}
	}
	return connectors.Cursor{Stamp: stamp.UTC(), ID: id}, true, nil
}

// seenKey is the Cursor.Extra key of the overlap window's delivered (id, stamp) pairs.
const seenKey = "seen"

// maxSeen bounds the pairs kept in a cursor; a larger window (a mass update) is not recorded and
// the next pull delivers it again, which the store absorbs.
const maxSeen = 2000

// seenEntry is a delivered (id, stamp in Unix milliseconds) pair.
type seenEntry struct {
	id string
	ms int64
}

// encodeSeen renders pairs as "id:ms,id:ms".
func encodeSeen(es []seenEntry) string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(e.id)
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(e.ms, 10))
	}
	return b.String()
}

// decodeSeen parses encodeSeen's form, skipping malformed entries.
func decodeSeen(s string) []seenEntry {
	if s == "" {
		return nil
	}
	var out []seenEntry
	for part := range strings.SplitSeq(s, ",") {
		id, ms, ok := strings.Cut(part, ":")
		n, err := strconv.ParseInt(ms, 10, 64)
		if !ok || err != nil || !ValidID(id) {
			continue
		}
		out = append(out, seenEntry{id, n})
	}
	return out
}
