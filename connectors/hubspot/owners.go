package hubspot

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/mapsync/mapsync/connectors"
)

// pullOwners reads every owner (and, when req.Full, every archived owner) from GET /crm/v3/owners/,
// keeps those updated at or after since unless req.Full, and delivers them sorted by (updatedAt,
// id) in pages of 100. Owners are few, so they are read whole before the first page.
func (c *Connector) pullOwners(ctx context.Context, req connectors.PullRequest, since time.Time, fn func(connectors.Page) error) error {
	var all []connectors.Record
	archivedToo := []bool{false}
	if req.Full {
		archivedToo = append(archivedToo, true)
	}
	page := 0
	for _, archived := range archivedToo {
		after := ""
		for {
			page++
			q := url.Values{}
			q.Set("limit", strconv.Itoa(listPageSize))
			q.Set("archived", strconv.FormatBool(archived))
			if after != "" {
				q.Set("after", after)
			}
			var op ownersPage
			if _, err := c.do(ctx, call{op: "owners", method: http.MethodGet, path: "crm/v3/owners/?" + q.Encode()}, &op); err != nil {
				return fmt.Errorf("pull %s page %d: %w", connectors.ObjectOwner, page, err)
			}
			for i := range op.Results {
				r, err := ownerRecord(&op.Results[i])
				if err != nil {
					return fmt.Errorf("pull %s page %d: %w", connectors.ObjectOwner, page, c.countError("owners", err))
				}
				r.Deleted = r.Deleted || archived
				if req.Full || !r.ModifiedAt.Before(since) {
					all = append(all, r)
				}
			}
			next := op.Paging.nextAfter()
			if next == "" || next == after {
				break
			}
			after = next
		}
	}
	slices.SortFunc(all, compareRecords)
	cur := req.Since
	if req.Full {
		cur = connectors.Cursor{Stamp: req.Since.Stamp, ID: req.Since.ID} // no position: a full owners pull starts over
	}
	for chunk := range slices.Chunk(all, listPageSize) {
		cur = laterCursor(cur, chunk[len(chunk)-1])
		if err := fn(connectors.Page{Records: chunk, Cursor: cur}); err != nil {
			return fmt.Errorf("pull %s: %w", connectors.ObjectOwner, err)
		}
	}
	return nil
}

// ownerRecord turns an owner into an ObjectOwner record stamped with updatedAt (createdAt when
// missing).
func ownerRecord(o *owner) (connectors.Record, error) {
	if o.ID == "" {
		return connectors.Record{}, &connectors.Error{Kind: connectors.KindTransient, Code: "BAD_RECORD", Message: "owner without id"}
	}
	raw := firstOf(o.UpdatedAt, o.CreatedAt)
	var stamp time.Time
	if raw != "" {
		t, err := parseTime(raw)
		if err != nil {
			return connectors.Record{}, &connectors.Error{Kind: connectors.KindTransient, Code: "BAD_RECORD", Message: "owner " + string(o.ID), Err: err}
		}
		stamp = t
	}
	fields := map[string]any{
		"id":        string(o.ID),
		"email":     o.Email,
		"firstName": o.FirstName,
		"lastName":  o.LastName,
		"type":      o.Type,
		"archived":  o.Archived,
		"userId":    nil,
	}
	if o.UserID != nil {
		fields["userId"] = strconv.FormatInt(*o.UserID, 10)
	}
	for _, t := range o.Teams {
		if t.Primary {
			fields["primaryTeamId"] = string(t.ID)
			fields["primaryTeamName"] = t.Name
		}
	}
	return connectors.Record{Object: connectors.ObjectOwner, ID: string(o.ID), Fields: fields, ModifiedAt: stamp, Deleted: o.Archived}, nil
}
