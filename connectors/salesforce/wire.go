package salesforce

import (
	"errors"
	"fmt"
	"time"

	"github.com/mapsync/mapsync/connectors"
)

// queryResult is one page of a query or queryAll reply.
type queryResult struct {
	TotalSize      int              `json:"totalSize"`
	Done           bool             `json:"done"`
	NextRecordsURL string           `json:"nextRecordsUrl"`
	Records        []map[string]any `json:"records"`
}

// parseStamp reads a Salesforce dateTime ("2024-01-15T10:20:30.000+0000", or RFC 3339).
func parseStamp(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05.000-0700", time.RFC3339Nano, "2006-01-02T15:04:05-0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable dateTime %q", truncate(s, 40))
}

// toRecord converts one raw query row into a Record: fields keyed by API name (relationship
// fields flattened to "Owner.Name"), attributes dropped, Id, SystemModstamp and IsDeleted lifted.
func toRecord(o connectors.Object, m map[string]any) (connectors.Record, error) {
	fields := m
	if needsFlatten(m) {
		fields = make(map[string]any, len(m))
		flatten("", m, fields)
	} else {
		delete(fields, "attributes")
	}
	id, _ := fields["Id"].(string)
	if !ValidID(id) {
		return connectors.Record{}, fmt.Errorf("record without a valid Id (%q)", truncate(id, 40))
	}
	stamp, _ := fields["SystemModstamp"].(string)
	ts, err := parseStamp(stamp)
	if err != nil {
		return connectors.Record{}, fmt.Errorf("record %s: SystemModstamp: %w", id, err)
	}
	deleted, _ := fields["IsDeleted"].(bool)
	return connectors.Record{Object: o, ID: id, Fields: fields, ModifiedAt: ts, Deleted: deleted}, nil
}

// needsFlatten reports whether m holds a relationship object besides attributes.
func needsFlatten(m map[string]any) bool {
	for k, v := range m {
		if _, ok := v.(map[string]any); ok && k != "attributes" {
			return true
		}
	}
	return false
}

// flatten copies m into out, dropping "attributes" and turning nested relationship objects into
// dotted keys.
func flatten(prefix string, m map[string]any, out map[string]any) {
	for k, v := range m {
		if k == "attributes" {
			continue
		}
		if sub, ok := v.(map[string]any); ok {
			flatten(prefix+k+".", sub, out)
			continue
		}
		out[prefix+k] = v
	}
}

// CheckShape implements connectors.Shaped: every query reply has a "records" array, empty when
// nothing matched; without it a page would read as the end of the query.
func (q *queryResult) CheckShape() error {
	if q.Records == nil {
		return errors.New(`no "records" array`)
	}
	return nil
}
