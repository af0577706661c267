package hubspot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/mapsync/mapsync/connectors"
)

// batchSize is the most inputs a v3 batch endpoint takes.
const batchSize = 100

// Update writes changes with POST /crm/v3/objects/{type}/batch/update, 100 inputs a call, and
// returns one Result per change, in input order, for the batches it sent. See
// connectors.Connector.
//
// A 200 or 207 reply gives per-input results: ids in results are applied, ids in an
// OBJECT_NOT_FOUND error are permanent failures. A 400 (VALIDATION_ERROR) fails the whole batch
// without naming the bad input, only the bad properties, so Update isolates it:
//   - inputs that touch none of the named properties are sent again together;
//   - when each named property is set by exactly one input, those inputs are known bad without
//     another call;
//   - otherwise the suspects (all inputs when no property is named) are split in halves and each
//     half sent again, until a batch of one fails.
//
// A failed input's permanent error carries the properties and HubSpot's per-property codes
// (INVALID_OPTION, READ_ONLY_VALUE...). One bad input in a batch of 100 usually costs one extra
// call (the innocents, sent again), at worst about 2·log2(100); the good inputs are never lost. Values are rendered as HubSpot strings (see propertyValue); a value that cannot be rendered
// is a permanent error for its change and is not sent. An id that appears twice starts a new batch,
// so that the later change is applied after the earlier one.
func (c *Connector) Update(ctx context.Context, object connectors.Object, changes []connectors.Change) ([]connectors.Result, error) {
	spec, err := specFor(object)
	if err != nil {
		return nil, fmt.Errorf("update %s: %w", object, &connectors.Error{Kind: connectors.KindPermanent, Message: err.Error()})
	}
	results := make([]connectors.Result, len(changes))
	var batch []pendingInput
	inBatch := map[string]bool{}
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := c.updateBatch(ctx, spec, batch, results)
		batch, inBatch = batch[:0], map[string]bool{}
		return err
	}
	done := 0 // changes[:done] have results
	for i, ch := range changes {
		in, err := encodeChange(ch)
		if err != nil {
			results[i] = connectors.Result{ID: ch.ID, Err: err}
		} else {
			if inBatch[ch.ID] || len(batch) == batchSize {
				if err := flush(); err != nil {
					return results[:done], fmt.Errorf("update %s: %w", object, err)
				}
				done = i
			}
			batch = append(batch, pendingInput{index: i, input: in})
			inBatch[ch.ID] = true
		}
	}
	if err := flush(); err != nil {
		return results[:done], fmt.Errorf("update %s: %w", object, err)
	}
	return results, nil
}

// pendingInput is one change on its way: its index in the caller's slice and its wire form.
type pendingInput struct {
	index int
	input batchUpdateInput
}

// encodeChange renders a change's values; a bad id or value is a permanent error.
func encodeChange(ch connectors.Change) (batchUpdateInput, *connectors.Error) {
	if !isDigits(ch.ID) {
		return batchUpdateInput{}, &connectors.Error{Kind: connectors.KindPermanent, Code: "INVALID_ID", Message: fmt.Sprintf("hubspot ids are numeric, got %q", ch.ID)}
	}
	props := make(map[string]string, len(ch.Fields))
	for name, v := range ch.Fields {
		s, err := propertyValue(v)
		if err != nil {
			return batchUpdateInput{}, &connectors.Error{Kind: connectors.KindPermanent, Code: "INVALID_VALUE", Message: err.Error(), Fields: []string{name}}
		}
		props[name] = s
	}
	return batchUpdateInput{ID: ch.ID, Properties: props}, nil
}

// updateBatch sends one batch and fills results for its inputs, isolating inputs that fail
// validation (see Update). It returns an error only when the batch as a whole failed for a reason
// that is not about its inputs (network, auth, rate limit, 5xx after retries).
func (c *Connector) updateBatch(ctx context.Context, spec objectSpec, batch []pendingInput, results []connectors.Result) error {
	if len(batch) == 0 {
		return nil
	}
	req := batchUpdateRequest{Inputs: make([]batchUpdateInput, len(batch))}
	for i, p := range batch {
		req.Inputs[i] = p.input
	}
	var reply batchReply
	_, err := c.do(ctx, call{
		op: "batch_update", method: http.MethodPost, path: "crm/v3/objects/" + spec.typ + "/batch/update",
		body: req, safe: true, // batch/update sets absolute values: repeating it is harmless
	}, &reply)
	var ce *connectors.Error
	if err != nil && errors.As(err, &ce) && ce.Kind == connectors.KindPermanent && ce.Status == http.StatusBadRequest {
		return c.isolate(ctx, spec, batch, ce, results)
	}
	if err != nil {
		return err
	}
	applied := make(map[string]bool, len(reply.Results))
	for _, o := range reply.Results {
		applied[string(o.ID)] = true
	}
	failed := map[string]*connectors.Error{}
	for _, e := range reply.Errors {
		perr := &connectors.Error{Kind: inputErrorKind(e.Category), Status: http.StatusMultiStatus, Code: firstOf(e.Category, e.SubCategory), Message: e.Message}
		for _, id := range e.Context["ids"] {
			failed[id] = perr
		}
	}
	for _, p := range batch {
		id := p.input.ID
		switch {
		case failed[id] != nil:
			results[p.index] = connectors.Result{ID: id, Err: failed[id]}
		case applied[id]:
			results[p.index] = connectors.Result{ID: id, OK: true}
		default:
			results[p.index] = connectors.Result{ID: id, Err: &connectors.Error{
				Kind: connectors.KindTransient, Status: http.StatusMultiStatus, Code: "MISSING_RESULT", Message: "hubspot reported neither a result nor an error for this record",
			}}
		}
	}
	return nil
}

// isolate handles a 400 on a batch: see Update.
func (c *Connector) isolate(ctx context.Context, spec objectSpec, batch []pendingInput, ce *connectors.Error, results []connectors.Result) error {
	perr := parsePropertyErrors(ce.Message)
	if perr == nil {
		perr = scanPropertyErrors(ce.Message)
	}
	if len(batch) == 1 {
		results[batch[0].index] = connectors.Result{ID: batch[0].input.ID, Err: inputError(ce, perr, batch[0].input)}
		return nil
	}
	var suspects, innocents []pendingInput
	for _, p := range batch {
		if len(perr) == 0 || touches(p.input, perr) {
			suspects = append(suspects, p)
		} else {
			innocents = append(innocents, p)
		}
	}
	if len(suspects) == 0 {
		// The named properties are on no input (unexpected): fall back to halving everything.
		suspects, innocents = batch, nil
	}
	if err := c.updateBatch(ctx, spec, innocents, results); err != nil {
		return err
	}
	if len(perr) > 0 && soleTouchers(suspects, perr) {
		// Each named property is set by exactly one input: the errors can only be theirs.
		for _, p := range suspects {
			results[p.index] = connectors.Result{ID: p.input.ID, Err: inputError(ce, perr, p.input)}
		}
		return nil
	}
	half := len(suspects) / 2
	if err := c.updateBatch(ctx, spec, suspects[:half], results); err != nil {
		return err
	}
	return c.updateBatch(ctx, spec, suspects[half:], results)
}

// soleTouchers reports whether every property named in perr is set by exactly one of batch.
func soleTouchers(batch []pendingInput, perr []propertyError) bool {
	for _, e := range perr {
		n := 0
		for _, p := range batch {
			if _, ok := p.input.Properties[e.Name]; ok {
				n++
			}
		}
		if n != 1 {
			return false
		}
	}
	return true
}

// touches reports whether in sets any property named in perr.
func touches(in batchUpdateInput, perr []propertyError) bool {
	for _, e := range perr {
		if _, ok := in.Properties[e.Name]; ok {
			return true
		}
	}
	return false
}

// inputError builds the permanent error of one input from a batch's 400: the properties of perr
// that the input sets (all of perr when it sets none of them), HubSpot's per-property codes and
// messages.
func inputError(ce *connectors.Error, perr []propertyError, in batchUpdateInput) *connectors.Error {
	e := &connectors.Error{Kind: connectors.KindPermanent, Status: ce.Status, Code: ce.Code, Message: ce.Message}
	var mine []propertyError
	for _, pe := range perr {
		if _, ok := in.Properties[pe.Name]; ok {
			mine = append(mine, pe)
		}
	}
	if len(mine) == 0 {
		mine = perr
	}
	if len(mine) == 0 {
		return e
	}
	var codes, msgs []string
	for _, pe := range mine {
		if !slices.Contains(e.Fields, pe.Name) {
			e.Fields = append(e.Fields, pe.Name)
		}
		if pe.Error != "" && !slices.Contains(codes, pe.Error) {
			codes = append(codes, pe.Error)
		}
		msgs = append(msgs, fmt.Sprintf("%s: %s", pe.Name, firstOf(pe.Message, pe.Error)))
	}
	if len(codes) > 0 {
		e.Code = strings.Join(codes, ",")
	}
	e.Message = strings.Join(msgs, "; ")
	return e
}

var (
	nameInError = regexp.MustCompile(`"name"\s*:\s*"([^"]+)"`)
	codeInError = regexp.MustCompile(`"error"\s*:\s*"([^"]+)"`)
)

// scanPropertyErrors recovers property names (and codes, when they line up) from a validation
// message that did not parse as a whole, e.g. because it was truncated.
func scanPropertyErrors(message string) []propertyError {
	names := nameInError.FindAllStringSubmatch(message, -1)
	codes := codeInError.FindAllStringSubmatch(message, -1)
	out := make([]propertyError, 0, len(names))
	for i, m := range names {
		pe := propertyError{Name: m[1]}
		if len(codes) == len(names) {
			pe.Error = codes[i][1]
		}
		out = append(out, pe)
	}
	return out
}

// inputErrorKind classifies one input's error in a 207 reply by its category: server-side failures
// and limits are worth retrying, anything about the record or its values is not.
func inputErrorKind(category string) connectors.Kind {
	switch {
	case category == "INTERNAL_ERROR", category == "RATE_LIMITS", strings.Contains(category, "TIMEOUT"),
		strings.Contains(category, "UNAVAILABLE"):
		return connectors.KindTransient
	}
	return connectors.KindPermanent
}
