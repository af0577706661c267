package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/mapsync/mapsync/connectors"
)

// maxCollection is the most records one sObject Collections request may carry.
const maxCollection = 200

// transientCodes are collection status codes worth retrying as is.
func transientCode(code string) bool {
	switch code {
	case "UNABLE_TO_LOCK_ROW", "ALL_OR_NONE_OPERATION_ROLLED_BACK", "REQUEST_RUNNING_TOO_LONG", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION":
		return true
	}
	return false
}

type saveResult struct {
	ID      string `json:"id"`
	Success bool   `json:"success"`
	Errors  []struct {
		StatusCode string   `json:"statusCode"`
		Message    string   `json:"message"`
		Fields     []string `json:"fields"`
	} `json:"errors"`
}

// Update implements connectors.Connector with PATCH /composite/sobjects, up to 200 records per
// request and allOrNone=false, so one bad record fails alone. UNABLE_TO_LOCK_ROW and similar codes
// are KindTransient results; validation and value errors (STRING_TOO_LONG,
// FIELD_CUSTOM_VALIDATION_EXCEPTION, INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, ENTITY_IS_DELETED, ...)
// are KindPermanent. A change with a malformed id or field name fails locally (KindPermanent) and is
// not sent. Updates set absolute values, so a request lost in flight is retried.
func (c *Connector) Update(ctx context.Context, object connectors.Object, changes []connectors.Change) ([]connectors.Result, error) {
	spec, err := specFor(object)
	if err != nil {
		return nil, fmt.Errorf("update %s: %w", object, err)
	}
	results := make([]connectors.Result, 0, len(changes))
	for start := 0; start < len(changes); {
		// Fill one request with up to 200 valid records; invalid ones get their result in place.
		chunk := make([]connectors.Result, 0, maxCollection)
		var records []map[string]any
		var sent []int // index in chunk of each sent record
		i := start
		for ; i < len(changes) && len(records) < maxCollection; i++ {
			ch := changes[i]
			rec, perr := collectionRecord(spec.sobject, ch)
			chunk = append(chunk, connectors.Result{ID: ch.ID})
			if perr != nil {
				chunk[len(chunk)-1].Err = perr
				continue
			}
			sent = append(sent, len(chunk)-1)
			records = append(records, rec)
		}
		if len(records) > 0 {
			var out []saveResult
			err := c.do(ctx, call{
				op: "update", method: http.MethodPatch, path: c.base + "/composite/sobjects",
				body: map[string]any{"allOrNone": false, "records": records}, safe: true,
			}, &out)
			if err != nil {
				return results, fmt.Errorf("update %s records %d..%d: %w", object, start+1, i, err)
			}
			if len(out) != len(records) {
				return results, fmt.Errorf("update %s records %d..%d: %w", object, start+1, i, &connectors.Error{
					Kind: connectors.KindTransient, Code: "RESULT_MISMATCH", Message: fmt.Sprintf("%d results for %d records", len(out), len(records)),
				})
			}
			for k, sr := range out {
				res := &chunk[sent[k]]
				if sr.Success {
					res.OK = true
					continue
				}
				e := &connectors.Error{Kind: connectors.KindPermanent, Status: http.StatusOK, Code: "UNKNOWN", Message: "record failed without an error"}
				if len(sr.Errors) > 0 {
					first := sr.Errors[0]
					msgs := make([]string, 0, len(sr.Errors))
					for _, x := range sr.Errors {
						msgs = append(msgs, x.Message)
					}
					e.Code, e.Message, e.Fields = first.StatusCode, strings.Join(msgs, "; "), first.Fields
					if transientCode(first.StatusCode) {
						e.Kind = connectors.KindTransient
					}
				}
				res.Err = e
			}
		}
		results = append(results, chunk...)
		start = i
	}
	return results, nil
}

// collectionRecord builds one collection record, or says why the change cannot be sent.
func collectionRecord(sobject string, ch connectors.Change) (map[string]any, *connectors.Error) {
	if !ValidID(ch.ID) {
		return nil, &connectors.Error{Kind: connectors.KindPermanent, Code: "MALFORMED_ID", Message: fmt.Sprintf("malformed Salesforce id %q", truncate(ch.ID, 40))}
	}
	rec := make(map[string]any, len(ch.Fields)+2)
	for k, v := range ch.Fields {
		if !validField(k) || strings.Contains(k, ".") || strings.EqualFold(k, "Id") || strings.EqualFold(k, "attributes") {
			return nil, &connectors.Error{Kind: connectors.KindPermanent, Code: "INVALID_FIELD", Message: fmt.Sprintf("field %q cannot be written", truncate(k, 80)), Fields: []string{k}}
		}
		rec[k] = v
	}
	rec["attributes"] = map[string]string{"type": sobject}
	rec["id"] = ch.ID
	return rec, nil
}
