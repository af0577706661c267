package salesforce

import (
	"fmt"
	"strings"
)

// compiledQuery is a parsed query bound to an object's schema: the predicate is a closure over
// field positions, and the access path says which index drives the scan.
type compiledQuery struct {
	obj     *object
	count   bool
	fields  []*fieldDef
	pred    func(*record) bool // nil matches everything
	order   []orderKey
	limit   int // -1 for none
	offset  int
	all     bool // queryAll: include deleted rows
	drive   driveKind
	idSet   []string // drive == driveIDs: candidate ids
	stampLo int64    // drive == driveStamp: lower bound (inclusive), or minInt
}

type orderKey struct {
	f         *fieldDef
	desc      bool
	nullsLast bool
}

type driveKind int

const (
	driveID     driveKind = iota // scan recs in Id order
	driveStamp                   // scan byStamp in (SystemModstamp, Id) order
	driveIDs                     // look up idSet, then sort
	driveParent                  // look up byParent for idSet (OpportunityId), then sort
	driveSort                    // scan all, then sort
)

const minStamp = -1 << 62

func compileQuery(objects map[string]*object, q *soqlQuery, all bool) (*compiledQuery, *soqlError) {
	o := objects[strings.ToLower(q.from.name)]
	if o == nil {
		return nil, &soqlError{"INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", q.from.name), q.from.pos}
	}
	c := &compiledQuery{obj: o, count: q.count, limit: q.limit, offset: q.offset, all: all, stampLo: minStamp}
	seen := map[*fieldDef]bool{}
	for _, id := range q.fields {
		f, err := c.field(id)
		if err != nil {
			return nil, err
		}
		if seen[f] {
			return nil, &soqlError{"MALFORMED_QUERY", "duplicate field selected: " + f.Name, id.pos}
		}
		seen[f] = true
		c.fields = append(c.fields, f)
	}
	if q.where != nil {
		pred, err := c.compile(q.where)
		if err != nil {
			return nil, err
		}
		c.pred = pred
	}
	for _, it := range q.order {
		f, err := c.field(it.field)
		if err != nil {
			return nil, err
		}
		if f.Type == "textarea" {
			return nil, &soqlError{"INVALID_FIELD", fmt.Sprintf("field '%s' can not be sorted in a query call", f.Name), it.field.pos}
		}
		c.order = append(c.order, orderKey{f, it.desc, it.nullsLast})
	}
	c.plan(q.where)
	return c, nil
}

func (c *compiledQuery) field(id ident) (*fieldDef, *soqlError) {
	f := c.obj.field(id.name)
	if f == nil {
		return nil, &soqlError{"INVALID_FIELD", fmt.Sprintf("No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", id.name, c.obj.name), id.pos}
	}
	return f, nil
}

// plan picks the access path: an id lookup when the top-level conjunction pins Id or
// OpportunityId, an ordered index scan when the ORDER BY matches one, a sort otherwise.
func (c *compiledQuery) plan(where expr) {
	var conj []expr
	switch w := where.(type) {
	case boolExpr:
		if w.and {
			conj = w.terms
		}
	case nil:
	default:
		conj = []expr{w}
	}
	for _, e := range conj {
		name, vals := "", []token(nil)
		switch e := e.(type) {
		case cmpExpr:
			if e.op == "=" && e.val.kind == tString {
				name, vals = e.field.name, []token{e.val}
			}
		case inExpr:
			if !e.not {
				name, vals = e.field.name, e.vals
			}
		}
		f := c.obj.field(name)
		if f == nil || (f.Type != "id" && !(f.Name == "OpportunityId" && c.obj.byParent != nil)) {
			continue
		}
		c.idSet = c.idSet[:0]
		for _, v := range vals {
			if id, ok := normalizeID(v.text); ok && v.kind == tString {
				c.idSet = append(c.idSet, id)
			}
		}
		c.drive = driveIDs
		if f.Type != "id" {
			c.drive = driveParent
		}
		return
	}
	switch {
	case len(c.order) == 0 || len(c.order) == 1 && c.order[0].f.idx == c.obj.iID && !c.order[0].desc:
		c.drive = driveID
	case c.obj.iStamp >= 0 && c.order[0].f.idx == c.obj.iStamp && !c.order[0].desc &&
		(len(c.order) == 1 || len(c.order) == 2 && c.order[1].f.idx == c.obj.iID && !c.order[1].desc):
		c.drive = driveStamp
		for _, e := range conj {
			if e, ok := e.(cmpExpr); ok && e.val.kind == tDateTime && strings.EqualFold(e.field.name, "SystemModstamp") &&
				(e.op == ">" || e.op == ">=") && e.val.ms > c.stampLo {
				c.stampLo = e.val.ms
			}
		}
	default:
		c.drive = driveSort
	}
}

// match reports whether r belongs to the result.
func (c *compiledQuery) match(r *record) bool {
	if r.deleted && !c.all {
		return false
	}
	return c.pred == nil || c.pred(r)
}

func (c *compiledQuery) compile(e expr) (func(*record) bool, *soqlError) {
	switch e := e.(type) {
	case boolExpr:
		preds := make([]func(*record) bool, 0, len(e.terms))
		for _, t := range e.terms {
			p, err := c.compile(t)
			if err != nil {
				return nil, err
			}
			preds = append(preds, p)
		}
		if e.and {
			return func(r *record) bool {
				for _, p := range preds {
					if !p(r) {
						return false
					}
				}
				return true
			}, nil
		}
		return func(r *record) bool {
			for _, p := range preds {
				if p(r) {
					return true
				}
			}
			return false
		}, nil
	case notExpr:
		p, err := c.compile(e.e)
		if err != nil {
			return nil, err
		}
		return func(r *record) bool { return !p(r) }, nil
	case cmpExpr:
		f, err := c.filterField(e.field)
		if err != nil {
			return nil, err
		}
		if e.val.is("NULL") {
			switch e.op {
			case "=":
				return func(r *record) bool { return r.vals[f.idx].null() }, nil
			case "!=":
				return func(r *record) bool { return !r.vals[f.idx].null() }, nil
			}
			return nil, &soqlError{"MALFORMED_QUERY", "null can only be compared with = or !=", e.val.pos}
		}
		v, err := literal(f, e.val)
		if err != nil {
			return nil, err
		}
		if f.Type == "boolean" && e.op != "=" && e.op != "!=" {
			return nil, &soqlError{"INVALID_QUERY_FILTER_OPERATOR", fmt.Sprintf("invalid operator on boolean field: %s", f.Name), e.val.pos}
		}
		idx, op := f.idx, e.op
		return func(r *record) bool {
			x := r.vals[idx]
			if x.null() {
				return op == "!="
			}
			cmp := compareVals(f, x, v)
			switch op {
			case "=":
				return cmp == 0
			case "!=":
				return cmp != 0
			case "<":
				return cmp < 0
			case "<=":
				return cmp <= 0
			case ">":
				return cmp > 0
			}
			return cmp >= 0
		}, nil
	case inExpr:
		f, err := c.filterField(e.field)
		if err != nil {
			return nil, err
		}
		set := map[value]bool{}
		hasNull := false
		for _, t := range e.vals {
			if t.is("NULL") {
				hasNull = true
				continue
			}
			v, err := literal(f, t)
			if err != nil {
				return nil, err
			}
			if v.k == kText && f.Type != "id" && f.Type != "reference" {
				v.s = strings.ToLower(v.s)
			}
			set[v] = true
		}
		idx, not, fold := f.idx, e.not, f.textual() && f.Type != "id" && f.Type != "reference"
		return func(r *record) bool {
			x := r.vals[idx]
			var in bool
			if x.null() {
				in = hasNull
			} else {
				if fold {
					x.s = strings.ToLower(x.s)
				}
				in = set[x]
			}
			return in != not
		}, nil
	case likeExpr:
		f, err := c.filterField(e.field)
		if err != nil {
			return nil, err
		}
		if !f.textual() {
			return nil, &soqlError{"INVALID_QUERY_FILTER_OPERATOR", fmt.Sprintf("invalid operator on field: %s: LIKE works on text fields only", f.Name), e.pat.pos}
		}
		pat := compileLike(e.pat.text)
		idx := f.idx
		return func(r *record) bool {
			v := r.vals[idx]
			return v.k == kText && pat.match(strings.ToLower(v.s))
		}, nil
	}
	return nil, &soqlError{"MALFORMED_QUERY", "unsupported condition", -1}
}

func (c *compiledQuery) filterField(id ident) (*fieldDef, *soqlError) {
	f, err := c.field(id)
	if err != nil {
		return nil, err
	}
	if f.Type == "textarea" {
		return nil, &soqlError{"INVALID_FIELD", fmt.Sprintf("field '%s' can not be filtered in a query call", f.Name), id.pos}
	}
	return f, nil
}

// literal converts a query literal to the stored representation of f's type, or explains why the
// literal does not fit.
func literal(f *fieldDef, t token) (value, *soqlError) {
	v, err := literalAny(f, t)
	return val(v), err
}

func literalAny(f *fieldDef, t token) (any, *soqlError) {
	bad := func(want string) *soqlError {
		return &soqlError{"MALFORMED_QUERY", fmt.Sprintf("value of filter criterion for field '%s' must be of type %s and should not be enclosed in quotes", f.Name, want), t.pos}
	}
	switch {
	case f.Type == "id" || f.Type == "reference":
		if t.kind != tString {
			return nil, &soqlError{"MALFORMED_QUERY", fmt.Sprintf("value of filter criterion for field '%s' must be a quoted id", f.Name), t.pos}
		}
		id, ok := normalizeID(t.text)
		if !ok {
			return nil, &soqlError{"INVALID_QUERY_FILTER_OPERATOR", fmt.Sprintf("invalid ID field: %s", t.text), t.pos}
		}
		return id, nil
	case f.textual():
		if t.kind != tString {
			return nil, &soqlError{"MALFORMED_QUERY", fmt.Sprintf("value of filter criterion for field '%s' must be of type string and should be enclosed in quotes", f.Name), t.pos}
		}
		return strings.ReplaceAll(strings.ReplaceAll(t.text, `\_`, "_"), `\%`, "%"), nil
	case f.numeric():
		if t.kind != tNumber {
			return nil, bad("double")
		}
		return t.num, nil
	case f.Type == "boolean":
		if !t.is("TRUE") && !t.is("FALSE") {
			return nil, bad("boolean")
		}
		return t.is("TRUE"), nil
	case f.Type == "date":
		if t.kind != tDate {
			return nil, bad("date")
		}
		return t.ms, nil
	case f.Type == "datetime":
		if t.kind != tDateTime {
			return nil, bad("dateTime")
		}
		return t.ms, nil
	}
	return nil, bad(f.Type)
}

// compareVals compares two non-null values of field f. Text compares case-insensitively (ids
// exactly), as SOQL does; numbers, booleans and times by n.
func compareVals(f *fieldDef, a, b value) int {
	if a.k == kText {
		if f.Type == "id" || f.Type == "reference" {
			return strings.Compare(a.s, b.s)
		}
		return compareFold(a.s, b.s)
	}
	switch {
	case a.n < b.n:
		return -1
	case a.n > b.n:
		return 1
	}
	return 0
}

func compareFold(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		if x >= 'A' && x <= 'Z' {
			x += 32
		}
		if y >= 'A' && y <= 'Z' {
			y += 32
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return len(a) - len(b)
}

// compareRecords orders two records by the query's ORDER BY, then by Id.
func (c *compiledQuery) compareRecords(a, b *record) int {
	for _, k := range c.order {
		x, y := a.vals[k.f.idx], b.vals[k.f.idx]
		var cmp int
		switch {
		case x.null() && y.null():
			cmp = 0
		case x.null():
			cmp = -1
			if k.nullsLast {
				cmp = 1
			}
		case y.null():
			cmp = 1
			if k.nullsLast {
				cmp = -1
			}
		default:
			cmp = compareVals(k.f, x, y)
			if k.desc {
				cmp = -cmp
			}
		}
		if cmp != 0 {
			return cmp
		}
	}
	return strings.Compare(a.id, b.id)
}

// likePattern matches SOQL LIKE: % any run, _ one byte, case-insensitive (callers lower the
// subject). Matching is the linear-backtracking wildcard algorithm, O(len(s)*len(pattern)), so no
// pattern can make it explode.
type likePattern struct {
	toks []likeTok
}

type likeTok struct {
	c   byte
	any bool // %
	one bool // _
}

func compileLike(p string) likePattern {
	var lp likePattern
	p = strings.ToLower(p)
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\\' && i+1 < len(p):
			lp.toks = append(lp.toks, likeTok{c: p[i+1]})
			i++
		case c == '%':
			if n := len(lp.toks); n == 0 || !lp.toks[n-1].any {
				lp.toks = append(lp.toks, likeTok{any: true})
			}
		case c == '_':
			lp.toks = append(lp.toks, likeTok{one: true})
		default:
			lp.toks = append(lp.toks, likeTok{c: c})
		}
	}
	return lp
}

func (lp likePattern) match(s string) bool {
	p := lp.toks
	i, j, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case j < len(p) && !p[j].any && (p[j].one || p[j].c == s[i]):
			i++
			j++
		case j < len(p) && p[j].any:
			star, mark = j, i
			j++
		case star >= 0:
			j = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for j < len(p) && p[j].any {
		j++
	}
	return j == len(p)
}
