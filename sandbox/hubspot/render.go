package hubspot

import (
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mapsync/mapsync/sandbox/wire"
)

// Records are rendered by hand into pooled buffers: list and search pages are the hot path of
// every benchmark, and encoding/json on maps would dominate them. Each record's JSON is rendered
// once, at seeding and after each write (record.enc); a page copies spans of it.

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > 4<<20 {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte { return wire.AppendString(b, s) }

// selection is the set of properties a read returns.
type selection struct {
	idx []int
}

// selectProperties reads the properties parameter values (repeated keys, comma lists or both);
// unknown names are ignored; none requested gives the type's defaults.
func (ot *objectType) selectProperties(values []string) selection {
	var names []string
	for _, v := range values {
		for _, n := range strings.Split(v, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return selection{idx: ot.defaults}
	}
	seen := make(map[int]bool, len(names)+3)
	idx := make([]int, 0, len(names)+3)
	for _, n := range names {
		if i, ok := ot.propIdx[n]; ok && !seen[i] {
			seen[i] = true
			idx = append(idx, i)
		}
	}
	for _, i := range ot.always {
		if !seen[i] {
			seen[i] = true
			idx = append(idx, i)
		}
	}
	return selection{idx: idx}
}

// appendTime appends t in HubSpot's ISO form with milliseconds.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, isoMillis)
	return append(b, '"')
}

// appendRecord renders rec as a SimplePublicObject. assoc, when not nil, adds the v3
// "associations" member; the caller holds s.mu.
func (ot *objectType) appendRecord(b []byte, rec *record, sel selection, assoc func([]byte) []byte) []byte {
	enc := rec.enc
	if enc.N() != len(ot.props) {
		return ot.appendRecordSlow(b, rec, sel, assoc)
	}
	b = append(b, enc.Head()...)
	for k, i := range sel.idx {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, ot.keys[i]...)
		b = append(b, enc.Span(i, i+1)...)
	}
	b = append(b, enc.Tail()...)
	return rec.appendArchived(b, assoc)
}

// appendArchived ends a record: archived (and archivedAt), the v3 associations, '}'.
func (rec *record) appendArchived(b []byte, assoc func([]byte) []byte) []byte {
	if rec.archived {
		b = append(b, `,"archived":true,"archivedAt":`...)
		b = appendTime(b, rec.archAt)
	} else {
		b = append(b, `,"archived":false`...)
	}
	if assoc != nil {
		b = assoc(b)
	}
	return append(b, '}')
}

// appendRecordSlow renders rec from its values, for a record that was never encoded.
func (ot *objectType) appendRecordSlow(b []byte, rec *record, sel selection, assoc func([]byte) []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, rec.idStr)
	b = append(b, `,"properties":{`...)
	for k, i := range sel.idx {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, ot.keys[i]...)
		if v := rec.get(i); v != "" {
			b = appendString(b, v)
		} else {
			b = append(b, "null"...)
		}
	}
	// createdate and the stamp property hold createdAt and updatedAt already formatted.
	b = append(b, `},"createdAt":"`...)
	b = append(b, rec.vals[ot.iCreate]...)
	b = append(b, `","updatedAt":"`...)
	b = append(b, rec.vals[ot.iStamp]...)
	b = append(b, '"')
	return rec.appendArchived(b, assoc)
}

// appendPaging appends ,"paging":{"next":{"after":..,"link":..}} for a next cursor.
func appendPaging(b []byte, after, link string) []byte {
	b = append(b, `,"paging":{"next":{"after":`...)
	b = appendString(b, after)
	if link != "" {
		b = append(b, `,"link":`...)
		b = appendString(b, link)
	}
	return append(b, `}}`...)
}

// nextLink builds the "link" of a list page: the request's URL with after replaced.
func nextLink(u *url.URL, after string) string {
	q := u.Query()
	q.Set("after", after)
	return u.Path + "?" + q.Encode()
}
