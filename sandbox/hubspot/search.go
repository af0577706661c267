package hubspot

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Search limits HubSpot enforces.
const (
	searchMaxLimit      = 200
	searchMaxResults    = 10_000
	searchMaxGroups     = 5
	searchMaxPerGroup   = 10
	searchMaxFilters    = 25
	searchDefaultLimit  = 10
	searchMaxQueryChars = 3000
)

type searchFilter struct {
	PropertyName string `json:"propertyName"`
	Operator     string `json:"operator"`
	Value        any    `json:"value"`
	HighValue    any    `json:"highValue"`
	Values       []any  `json:"values"`
}

type searchRequest struct {
	Query        string `json:"query"`
	FilterGroups []struct {
		Filters []searchFilter `json:"filters"`
	} `json:"filterGroups"`
	Sorts      []json.RawMessage `json:"sorts"`
	Properties []string          `json:"properties"`
	Limit      json.Number       `json:"limit"`
	After      any               `json:"after"`
}

func scalarString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	default:
		return fmt.Sprint(x)
	}
}

// kind of comparison a property's values use.
type cmpKind int

const (
	cmpString cmpKind = iota
	cmpNumber
	cmpTime
)

func kindOf(p *Property) cmpKind {
	switch p.Type {
	case "number":
		return cmpNumber
	case "date", "datetime":
		return cmpTime
	}
	return cmpString
}

// key is a comparable form of a value: a number for numbers and times (epoch ms), else the
// lowercased string.
type key struct {
	ok  bool
	num float64
	str string
}

func makeKey(k cmpKind, v string) key {
	if v == "" {
		return key{}
	}
	switch k {
	case cmpNumber:
		f, err := strconv.ParseFloat(v, 64)
		return key{ok: err == nil, num: f}
	case cmpTime:
		t, err := parseTimeValue(v)
		return key{ok: err == nil, num: float64(t.UnixMilli())}
	}
	return key{ok: true, str: strings.ToLower(v)}
}

func compareKeys(a, b key) int {
	if a.str != "" || b.str != "" {
		return strings.Compare(a.str, b.str)
	}
	switch {
	case a.num < b.num:
		return -1
	case a.num > b.num:
		return 1
	}
	return 0
}

type predicate func(rec *record) bool

// compileFilter turns one filter into a predicate, or returns a message for a 400.
func (ot *objectType) compileFilter(f searchFilter) (predicate, string) {
	pi, ok := ot.propIdx[f.PropertyName]
	if !ok {
		return func(*record) bool { return strings.HasPrefix(f.Operator, "NOT_") || f.Operator == "NEQ" }, ""
	}
	k := kindOf(ot.props[pi])
	val := makeKey(k, scalarString(f.Value))
	get := func(rec *record) key { return makeKey(k, rec.get(pi)) }
	switch f.Operator {
	case "EQ", "NEQ", "LT", "LTE", "GT", "GTE":
		if !val.ok && f.Operator != "EQ" && f.Operator != "NEQ" {
			return nil, fmt.Sprintf("Invalid value for %s filter on %s: %v", f.Operator, f.PropertyName, f.Value)
		}
		op := f.Operator
		return func(rec *record) bool {
			got := get(rec)
			if !got.ok {
				return op == "NEQ" && val.ok
			}
			c := compareKeys(got, val)
			switch op {
			case "EQ":
				return c == 0
			case "NEQ":
				return c != 0
			case "LT":
				return c < 0
			case "LTE":
				return c <= 0
			case "GT":
				return c > 0
			}
			return c >= 0
		}, ""
	case "BETWEEN":
		high := makeKey(k, scalarString(f.HighValue))
		if !val.ok || !high.ok {
			return nil, "BETWEEN needs value and highValue on " + f.PropertyName
		}
		return func(rec *record) bool {
			got := get(rec)
			return got.ok && compareKeys(got, val) >= 0 && compareKeys(got, high) <= 0
		}, ""
	case "IN", "NOT_IN":
		keys := make([]key, 0, len(f.Values))
		for _, v := range f.Values {
			keys = append(keys, makeKey(k, scalarString(v)))
		}
		in := f.Operator == "IN"
		return func(rec *record) bool {
			got := get(rec)
			for _, want := range keys {
				if got.ok && compareKeys(got, want) == 0 {
					return in
				}
			}
			return !in
		}, ""
	case "HAS_PROPERTY":
		return func(rec *record) bool { return rec.get(pi) != "" }, ""
	case "NOT_HAS_PROPERTY":
		return func(rec *record) bool { return rec.get(pi) == "" }, ""
	case "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN":
		tok := strings.ToLower(scalarString(f.Value))
		want := f.Operator == "CONTAINS_TOKEN"
		return func(rec *record) bool { return containsToken(rec.get(pi), tok) == want }, ""
	}
	return nil, "Unsupported operator " + f.Operator
}

// containsToken matches a token (with * wildcards at either end) against the words of v.
func containsToken(v, tok string) bool {
	prefix, suffix := strings.HasSuffix(tok, "*"), strings.HasPrefix(tok, "*")
	tok = strings.Trim(tok, "*")
	for _, word := range strings.FieldsFunc(strings.ToLower(v), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '@' && r != '.'
	}) {
		switch {
		case prefix && suffix && strings.Contains(word, tok),
			prefix && !suffix && strings.HasPrefix(word, tok),
			suffix && !prefix && strings.HasSuffix(word, tok),
			word == tok:
			return true
		}
	}
	return false
}

type sortSpec struct {
	idx  int
	kind cmpKind
	desc bool
}

func (ot *objectType) parseSorts(raw []json.RawMessage) ([]sortSpec, string) {
	var out []sortSpec
	for _, r := range raw {
		var name, dir string
		var obj struct {
			PropertyName string `json:"propertyName"`
			Direction    string `json:"direction"`
		}
		var str string
		switch {
		case json.Unmarshal(r, &obj) == nil:
			name, dir = obj.PropertyName, obj.Direction
		case json.Unmarshal(r, &str) == nil:
			name, dir = str, "ASCENDING"
			if strings.HasPrefix(str, "-") {
				name, dir = str[1:], "DESCENDING"
			}
		default:
			return nil, "Invalid sort"
		}
		i, ok := ot.propIdx[name]
		if !ok {
			continue
		}
		if dir != "" && dir != "ASCENDING" && dir != "DESCENDING" {
			return nil, "Invalid sort direction " + dir
		}
		out = append(out, sortSpec{idx: i, kind: kindOf(ot.props[i]), desc: dir == "DESCENDING"})
	}
	return out, ""
}

// handleSearch serves POST /crm/v3/objects/{objectType}/search.
func (s *Sandbox) handleSearch(w http.ResponseWriter, r *http.Request) {
	ot := s.objectTypeOf(w, r, "objectType")
	if ot == nil {
		return
	}
	var in searchRequest
	if !decodeBody(w, r, &in) {
		return
	}
	limit := searchDefaultLimit
	if in.Limit != "" {
		n, err := strconv.Atoi(in.Limit.String())
		if err != nil || n < 0 || n > searchMaxLimit {
			writeError(w, http.StatusBadRequest, catValidation, fmt.Sprintf("limit must be between 0 and %d", searchMaxLimit))
			return
		}
		limit = n
	}
	offset := 0
	if a := scalarString(in.After); a != "" {
		n, err := strconv.Atoi(a)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, catValidation, "Invalid after: "+a)
			return
		}
		offset = n
	}
	if offset >= searchMaxResults {
		writeError(w, http.StatusBadRequest, catValidation,
			fmt.Sprintf("Search results are limited to %d; after %d is beyond that limit. Narrow the query instead.", searchMaxResults, offset))
		return
	}
	if len(in.Query) > searchMaxQueryChars {
		writeError(w, http.StatusBadRequest, catValidation, "query is longer than 3000 characters")
		return
	}
	if len(in.FilterGroups) > searchMaxGroups {
		writeError(w, http.StatusBadRequest, catValidation, fmt.Sprintf("Too many filter groups: %d; the limit is %d", len(in.FilterGroups), searchMaxGroups))
		return
	}
	var groups [][]predicate
	total := 0
	for _, g := range in.FilterGroups {
		total += len(g.Filters)
		if len(g.Filters) > searchMaxPerGroup || total > searchMaxFilters {
			writeError(w, http.StatusBadRequest, catValidation, fmt.Sprintf("Too many filters: at most %d per group and %d in total", searchMaxPerGroup, searchMaxFilters))
			return
		}
		var preds []predicate
		for _, f := range g.Filters {
			p, msg := ot.compileFilter(f)
			if msg != "" {
				writeError(w, http.StatusBadRequest, catValidation, msg)
				return
			}
			preds = append(preds, p)
		}
		groups = append(groups, preds)
	}
	sorts, msg := ot.parseSorts(in.Sorts)
	if msg != "" {
		writeError(w, http.StatusBadRequest, catValidation, msg)
		return
	}
	query := strings.ToLower(strings.TrimSpace(in.Query))
	sel := ot.selectProperties(in.Properties)
	now := s.now()

	match := func(rec *record) bool {
		if rec.archived || !visible(rec, now) {
			return false
		}
		if query != "" {
			hit := false
			for _, i := range ot.searchable {
				if strings.Contains(strings.ToLower(rec.get(i)), query) {
					hit = true
					break
				}
			}
			if !hit {
				return false
			}
		}
		if len(groups) == 0 {
			return true
		}
	groups:
		for _, g := range groups {
			for _, p := range g {
				if !p(rec) {
					continue groups
				}
			}
			return true
		}
		return false
	}

	bp := getBuf()
	defer putBuf(bp)
	b := (*bp)[:0]
	s.mu.RLock()
	var hits []*record
	for _, rec := range ot.records {
		if match(rec) {
			hits = append(hits, rec)
		}
	}
	if len(sorts) > 0 {
		hits = sortHits(hits, sorts, min(len(hits), offset+limit, searchMaxResults))
	}
	b = append(b, `{"total":`...)
	b = strconv.AppendInt(b, int64(len(hits)), 10)
	b = append(b, `,"results":[`...)
	end := min(len(hits), offset+limit, searchMaxResults)
	for i := offset; i < end; i++ {
		if i > offset {
			b = append(b, ',')
		}
		b = ot.appendRecord(b, hits[i], sel, nil)
	}
	s.mu.RUnlock()
	b = append(b, ']')
	if end < len(hits) && limit > 0 {
		b = append(b, `,"paging":{"next":{"after":`...)
		b = appendString(b, strconv.Itoa(end))
		b = append(b, `}}`...)
	}
	b = append(b, '}')
	*bp = b
	writeRaw(w, http.StatusOK, b)
}

// sortHits orders hits by sorts (ties keep their order in the object's records, as a stable sort
// would) and returns at least the first need of them in order: a page needs only its prefix, so
// when it is small a bounded heap selects it in O(n log need) instead of sorting everything.
func sortHits(hits []*record, sorts []sortSpec, need int) []*record {
	n, w := len(hits), len(sorts)
	keys := make([]key, n*w) // flat: hit i's keys are keys[i*w : i*w+w]
	for i, rec := range hits {
		for j, sp := range sorts {
			keys[i*w+j] = makeKey(sp.kind, rec.get(sp.idx))
		}
	}
	cmp := func(a, c int) int {
		for j, sp := range sorts {
			ka, kc := keys[a*w+j], keys[c*w+j]
			var r int
			switch {
			case !ka.ok && !kc.ok:
			case !ka.ok:
				r = 1 // no value sorts last
			case !kc.ok:
				r = -1
			default:
				r = compareKeys(ka, kc)
				if sp.desc {
					r = -r
				}
			}
			if r != 0 {
				return r
			}
		}
		return a - c // the original order breaks ties
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if need > 0 && need < n/4 {
		// Max-heap of the need smallest, by cmp.
		h := make([]int, 0, need)
		down := func(i int) {
			for {
				l, big := 2*i+1, i
				if l < len(h) && cmp(h[l], h[big]) > 0 {
					big = l
				}
				if r := l + 1; r < len(h) && cmp(h[r], h[big]) > 0 {
					big = r
				}
				if big == i {
					return
				}
				h[i], h[big] = h[big], h[i]
				i = big
			}
		}
		for _, i := range idx {
			if len(h) < need {
				h = append(h, i)
				for c := len(h) - 1; c > 0; {
					p := (c - 1) / 2
					if cmp(h[c], h[p]) <= 0 {
						break
					}
					h[c], h[p] = h[p], h[c]
					c = p
				}
				continue
			}
			if cmp(i, h[0]) < 0 {
				h[0] = i
				down(0)
			}
		}
		idx = h
	}
	slices.SortFunc(idx, cmp)
	out := make([]*record, 0, n)
	for _, i := range idx {
		out = append(out, hits[i])
	}
	if len(idx) < n {
		// Only the prefix is ordered; the rest only needs to be there for the total count.
		chosen := make(map[int]bool, len(idx))
		for _, i := range idx {
			chosen[i] = true
		}
		for i, rec := range hits {
			if !chosen[i] {
				out = append(out, rec)
			}
		}
	}
	return out
}
