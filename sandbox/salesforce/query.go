package salesforce

import (
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mapsync/mapsync/sandbox/wire"
)

// Query paging. A query result is never materialised when an index matches its ORDER BY (no
// ORDER BY, Id, or SystemModstamp [, Id]): a cursor remembers where each page ended in that index
// (keyset paging), so every page costs only its own rows and memory stays flat however many rows
// are paged through. Other orders sort the matching record pointers once per query (from the
// object's records sorted once per ORDER BY, object.sortedBy). Every page boundary ever handed
// out stays valid, so a client may re-fetch a locator after a lost response. Records are copied
// into a page from their JSON rendered once (record.enc).

const (
	defaultBatch = 2000
	minBatch     = 200
	cursorIdle   = 15 * time.Minute
	// maxCursors bounds the open cursors; the least recently used goes first.
	maxCursors = 1000
)

type cursor struct {
	q       *compiledQuery
	total   int
	batch   int
	start   mark         // where the first page starts
	marks   map[int]mark // offset of a later page -> where to resume; nil until one is handed out
	rows    []*record    // materialised results (sort plans), nil for index plans
	touched time.Time
}

// mark is a resume point in the driving index: a position in recs (Id order) or the key after
// which to continue in byStamp.
type mark struct {
	pos   int
	stamp int64
	id    string
	past  bool // resume after (stamp, id) rather than at it
}

type cursorStore struct {
	mu  sync.Mutex
	seq uint64
	m   map[string]*cursor
}

func (cs *cursorStore) init() { cs.m = map[string]*cursor{} }

func (cs *cursorStore) add(c *cursor, now time.Time) string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if len(cs.m) > 64 {
		var oldestKey string
		var oldest time.Time
		for k, old := range cs.m {
			if now.Sub(old.touched) > cursorIdle {
				delete(cs.m, k)
			} else if oldestKey == "" || old.touched.Before(oldest) {
				oldestKey, oldest = k, old.touched
			}
		}
		if len(cs.m) >= maxCursors {
			delete(cs.m, oldestKey)
		}
	}
	cs.seq++
	var b [12]byte
	n := cs.seq + 0x1000000
	for i := 11; i >= 0; i-- {
		b[i] = base62[n%62]
		n /= 62
	}
	id := prefixLocator + "8c" + string(b[:])
	c.touched = now
	cs.m[id] = c
	return id
}

func (cs *cursorStore) get(id string, now time.Time) *cursor {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c := cs.m[id]
	if c == nil || now.Sub(c.touched) > cursorIdle {
		delete(cs.m, id)
		return nil
	}
	c.touched = now
	return c
}

// queryCache keeps compiled queries by text: pollers send the same SOQL again and again, and a
// compiled query is immutable (the schema never changes after New).
type queryCache struct {
	mu sync.Mutex
	m  map[string]*compiledQuery
}

const maxCachedQueries = 512

func (qc *queryCache) get(objects map[string]*object, q string, all bool) (*compiledQuery, *soqlError) {
	key := q
	if all {
		key = "all:" + q
	}
	qc.mu.Lock()
	c := qc.m[key]
	qc.mu.Unlock()
	if c != nil {
		return c, nil
	}
	parsed, err := parseSOQL(q)
	if err != nil {
		return nil, err
	}
	if c, err = compileQuery(objects, parsed, all); err != nil {
		return nil, err
	}
	qc.mu.Lock()
	defer qc.mu.Unlock()
	if qc.m == nil || len(qc.m) >= maxCachedQueries {
		qc.m = map[string]*compiledQuery{}
	}
	qc.m[key] = c
	return c, nil
}

// OpenCursors returns the number of query cursors the sandbox keeps.
func (s *Sandbox) OpenCursors() int {
	s.cursors.mu.Lock()
	defer s.cursors.mu.Unlock()
	return len(s.cursors.m)
}

func batchSize(r *http.Request) int {
	h := r.Header.Get("Sforce-Query-Options")
	for _, part := range strings.Split(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "batchSize") {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return defaultBatch
		}
		return min(max(n, minBatch), defaultBatch)
	}
	return defaultBatch
}

func (s *Sandbox) handleQuery(all bool) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		q := r.URL.Query().Get("q")
		if strings.TrimSpace(q) == "" {
			writeErrors(w, http.StatusBadRequest, "MALFORMED_QUERY", "SOQL statement cannot be empty")
			return
		}
		cq, qerr := s.compiled.get(s.objects, q, all)
		if qerr != nil {
			writeErrors(w, http.StatusBadRequest, qerr.code, qerr.message(q))
			return
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		cur := s.openCursor(cq, batchSize(r))
		if cq.count {
			writeRaw(w, http.StatusOK, []byte(`{"totalSize":`+strconv.Itoa(cur.total)+`,"done":true,"records":[]}`))
			return
		}
		s.writePage(w, rc, cur, "", 0)
	}
}

func (s *Sandbox) handleQueryMore(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	loc := r.PathValue("locator")
	id, offStr, ok := strings.Cut(loc, "-")
	off, err := strconv.Atoi(offStr)
	if !ok || err != nil || off < 0 {
		writeErrors(w, http.StatusBadRequest, "INVALID_QUERY_LOCATOR", "invalid query locator")
		return
	}
	cur := s.cursors.get(id, s.now())
	if cur == nil {
		writeErrors(w, http.StatusBadRequest, "INVALID_QUERY_LOCATOR", "invalid query locator")
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if cur.rows == nil {
		s.cursors.mu.Lock()
		_, known := cur.marks[off]
		s.cursors.mu.Unlock()
		known = known || off == 0
		if !known {
			writeErrors(w, http.StatusBadRequest, "INVALID_QUERY_LOCATOR", "invalid query locator")
			return
		}
	} else if off > len(cur.rows) {
		writeErrors(w, http.StatusBadRequest, "INVALID_QUERY_LOCATOR", "invalid query locator")
		return
	}
	s.writePage(w, rc, cur, id, off)
}

// openCursor counts the result and prepares paging. Callers hold s.mu for reading.
func (s *Sandbox) openCursor(c *compiledQuery, batch int) *cursor {
	cur := &cursor{q: c, batch: batch}
	cap := math.MaxInt
	if c.limit >= 0 {
		cap = c.offset + c.limit
	}
	switch c.drive {
	case driveID, driveStamp:
		start := mark{stamp: c.stampLo}
		n, skipped := 0, mark{}
		m := start
		// Count up to the cap, remembering where the OFFSET rows end.
		s.scan(c, start, cap, func(r *record, after mark) {
			n++
			if n == c.offset {
				skipped = after
			}
		})
		if c.offset > 0 {
			m = skipped
		}
		cur.total = max(0, min(n, cap)-c.offset)
		cur.start = m
	default:
		var rows []*record
		o := c.obj
		consider := func(r *record) {
			if c.match(r) {
				rows = append(rows, r)
			}
		}
		switch c.drive {
		case driveIDs:
			for _, id := range c.idSet {
				if r := o.byID[id]; r != nil {
					consider(r)
				}
			}
			slices.SortFunc(rows, func(a, b *record) int { return strings.Compare(a.id, b.id) })
			rows = slices.CompactFunc(rows, func(a, b *record) bool { return a == b })
		case driveParent:
			seen := map[string]bool{}
			for _, id := range c.idSet {
				if seen[id] {
					continue
				}
				seen[id] = true
				for _, r := range o.byParent[id] {
					consider(r)
				}
			}
		default:
			// The records sorted once (and again only after a write), filtered: the same rows
			// in the same order as sorting the matching ones.
			all := o.sortedBy(c)
			rows = make([]*record, 0, len(all))
			for _, r := range all {
				consider(r)
			}
		}
		if c.drive == driveIDs || c.drive == driveParent {
			slices.SortStableFunc(rows, c.compareRecords)
		}
		lo, hi := min(c.offset, len(rows)), min(cap, len(rows))
		rows = rows[lo:max(lo, hi)]
		if rows == nil {
			rows = []*record{}
		}
		cur.rows = rows
		cur.total = len(rows)
	}
	return cur
}

// scan walks the driving index from m and calls emit for up to limit matching records, with the
// mark that resumes after each. It returns the mark after the last record looked at.
func (s *Sandbox) scan(c *compiledQuery, m mark, limit int, emit func(*record, mark)) {
	o := c.obj
	if limit <= 0 {
		return
	}
	n := 0
	if c.drive == driveID {
		for i := m.pos; i < len(o.recs); i++ {
			if r := o.recs[i]; c.match(r) {
				n++
				emit(r, mark{pos: i + 1})
				if n >= limit {
					return
				}
			}
		}
		return
	}
	i := o.stampSearch(m.stamp, m.id)
	if m.past && i < len(o.byStamp) && o.byStamp[i].stamp == m.stamp && o.byStamp[i].id == m.id {
		i++
	}
	for ; i < len(o.byStamp); i++ {
		if r := o.byStamp[i]; c.match(r) {
			n++
			emit(r, mark{stamp: r.stamp, id: r.id, past: true})
			if n >= limit {
				return
			}
		}
	}
}

// writePage renders the page of cur that starts at row off. Callers hold s.mu for reading.
func (s *Sandbox) writePage(w http.ResponseWriter, rc *reqCtx, cur *cursor, id string, off int) {
	c := cur.q
	want := min(cur.batch, max(0, cur.total-off))
	bp := recPool.Get().(*[]byte)
	defer recPool.Put(bp)
	recs := append((*bp)[:0], `"records":[`...)
	b := make([]byte, 0, 160)
	b = append(b, `{"totalSize":`...)
	b = strconv.AppendInt(b, int64(cur.total), 10)
	emitted := 0
	var next mark
	render := func(r *record) {
		if emitted > 0 {
			recs = append(recs, ',')
		}
		recs = appendRecord(recs, c.obj, r, c.fields, rc.version)
		emitted++
	}
	exhausted := false
	if cur.rows != nil {
		for _, r := range cur.rows[off : off+want] {
			render(r)
		}
	} else {
		m := cur.start
		if off > 0 {
			s.cursors.mu.Lock()
			m = cur.marks[off]
			s.cursors.mu.Unlock()
		}
		next = m
		s.scan(c, m, want, func(r *record, after mark) {
			render(r)
			next = after
		})
		exhausted = emitted < want
	}
	done := off+emitted >= cur.total || exhausted
	if done {
		b = append(b, `,"done":true,`...)
	} else {
		if id == "" {
			id = s.cursors.add(cur, s.now())
		}
		if cur.rows == nil {
			s.cursors.mu.Lock()
			if cur.marks == nil {
				cur.marks = map[int]mark{}
			}
			cur.marks[off+emitted] = next
			s.cursors.mu.Unlock()
		}
		b = append(b, `,"done":false,"nextRecordsUrl":"/services/data/v`...)
		b = append(b, rc.version...)
		b = append(b, "/query/"...)
		b = append(b, id...)
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(off+emitted), 10)
		b = append(b, `",`...)
	}
	recs = append(recs, "]}"...)
	*bp = recs[:0]
	w.Header().Set("Content-Type", jsonType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+len(recs)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	_, _ = w.Write(recs)
}

var recPool = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// appendRecord renders one record with its attributes and the given fields in order.
func appendRecord(b []byte, o *object, r *record, fields []*fieldDef, version string) []byte {
	e := r.enc
	if e.N() != len(o.fields) {
		return appendRecordSlow(b, o, r, fields, version)
	}
	b = appendAttributes(b, o, e.Head(), version)
	for _, f := range fields {
		b = append(b, f.key...)
		b = append(b, e.Span(f.idx, f.idx+1)...)
	}
	return append(b, '}')
}

// appendAttributes opens a record's JSON with its attributes (type and URL), up to its first field.
func appendAttributes[S string | []byte](b []byte, o *object, id S, version string) []byte {
	b = append(b, `{"attributes":{"type":"`...)
	b = append(b, o.name...)
	b = append(b, `","url":"/services/data/v`...)
	b = append(b, version...)
	b = append(b, "/sobjects/"...)
	b = append(b, o.name...)
	b = append(b, '/')
	b = append(b, id...)
	return append(b, `"}`...)
}

// appendRecordSlow renders like appendRecord, formatting every value again; the reference
// appendRecord's pre-rendered JSON must equal.
func appendRecordSlow(b []byte, o *object, r *record, fields []*fieldDef, version string) []byte {
	b = appendAttributes(b, o, r.id, version)
	for _, f := range fields {
		b = append(b, ',', '"')
		b = append(b, f.Name...)
		b = append(b, '"', ':')
		b = appendValue(b, f, r.vals[f.idx])
	}
	return append(b, '}')
}

func appendValue(b []byte, f *fieldDef, v value) []byte {
	switch v.k {
	case kNull:
		return append(b, "null"...)
	case kText:
		return appendJSONString(b, v.s)
	case kBool:
		return strconv.AppendBool(b, v.n != 0)
	case kNum:
		x := v.n
		if f.Type == "int" {
			return strconv.AppendInt(b, int64(x), 10)
		}
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return append(strconv.AppendInt(b, int64(x), 10), '.', '0')
		}
		return strconv.AppendFloat(b, x, 'f', -1, 64)
	case kTime:
		b = append(b, '"')
		if f.Type == "date" {
			b = appendDate(b, v.ms())
		} else {
			b = appendDateTime(b, v.ms())
		}
		return append(b, '"')
	}
	return append(b, "null"...)
}

// jsonValue converts a stored value to what encoding/json should print.
func jsonValue(f *fieldDef, v value) any {
	switch v.k {
	case kText:
		return v.s
	case kNum:
		return v.n
	case kBool:
		return v.n != 0
	case kTime:
		if f.Type == "date" {
			return string(appendDate(nil, v.ms()))
		}
		return fmtDateTime(v.ms())
	}
	return nil
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte { return wire.AppendString(b, s) }
