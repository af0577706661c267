package connectors

import (
	"fmt"
	"mime"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-json"
)

// Shaped is implemented by reply types that can tell a reply of their shape from other JSON that
// happens to decode into them (an object without the fields every such reply has).
type Shaped interface {
	// CheckShape returns a description of what is missing, or nil when the reply has its shape.
	CheckShape() error
}

// DecodeJSON decodes a 2xx reply into out, a non-nil pointer, for Request.Decode. out is reset to
// its zero value first, so that a retried attempt never keeps fields of an earlier one. A reply
// that is not JSON (Content-Type), does not decode, or decodes into a Shaped value that is not of
// its shape is a KindTransient error: NOT_JSON, MALFORMED_JSON or WRONG_SHAPE. The errors never
// quote the body.
//
// It decodes with github.com/goccy/go-json, a maintained drop-in for encoding/json's Unmarshal
// (the same struct tags, Unmarshaler methods and map[string]any values) that decodes the CRMs'
// record pages in well under half the CPU time: decoding was the largest share of a full pull's
// own CPU, and on a machine the database shares, what the pull spends the database cannot. The
// connectors' fuzz targets hold it to no panic and an error on hostile input.
func DecodeJSON(resp *Response, out any) error {
	ct := resp.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return &Error{Kind: KindTransient, Status: resp.Status, Code: "NOT_JSON", Message: fmt.Sprintf("reply is %q, not JSON", truncateRunes(ct, 60))}
	}
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return &Error{Kind: KindPermanent, Message: fmt.Sprintf("decode reply into %T: not a non-nil pointer", out)}
	}
	v.Elem().SetZero()
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return &Error{
			Kind: KindTransient, Status: resp.Status, Code: "MALFORMED_JSON",
			Message: fmt.Sprintf("malformed JSON reply (%d bytes)", len(resp.Body)), Err: err,
		}
	}
	if s, ok := out.(Shaped); ok {
		if err := s.CheckShape(); err != nil {
			return &Error{
				Kind: KindTransient, Status: resp.Status, Code: "WRONG_SHAPE",
				Message: fmt.Sprintf("JSON reply of the wrong shape (%d bytes)", len(resp.Body)), Err: err,
			}
		}
	}
	return nil
}

// truncateRunes cuts s to at most n bytes on a rune boundary.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
