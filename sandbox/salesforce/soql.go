package salesforce

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file holds a hand-written recursive-descent parser for the SOQL subset the sandbox serves,
// and the compiler that binds a parsed query to an object's schema. Anything outside the subset is
// a MALFORMED_QUERY error that says so: the sandbox never answers a query it does not understand.
//
//	query     = SELECT selection FROM name [WHERE condition] [ORDER BY order {"," order}]
//	            [LIMIT integer] [OFFSET integer]
//	selection = COUNT "(" ")" | name {"," name}
//	condition = unary {AND unary} | unary {OR unary}      (mixing needs parentheses, as in SOQL)
//	unary     = NOT unary | "(" condition ")" | name op value | name [NOT] IN "(" value {"," value} ")"
//	            | name LIKE string
//	op        = "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
//	value     = string | number | date | datetime | TRUE | FALSE | NULL
//	order     = name [ASC | DESC] [NULLS (FIRST | LAST)]

// soqlError is a query error with the position it refers to.
type soqlError struct {
	code string // MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, INVALID_QUERY_FILTER_OPERATOR
	msg  string
	pos  int // byte offset into the query, -1 for none
}

func (e *soqlError) Error() string { return e.msg }

// message renders the error the way Salesforce does: the query, a caret under the position and the
// row and column.
func (e *soqlError) message(q string) string {
	if e.pos < 0 {
		return e.msg
	}
	row, col, lineStart := 1, 1, 0
	for i := 0; i < e.pos && i < len(q); i++ {
		if q[i] == '\n' {
			row, lineStart = row+1, i+1
		}
	}
	col = utf8.RuneCountInString(q[lineStart:min(e.pos, len(q))]) + 1
	line := q[lineStart:]
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	return fmt.Sprintf("\n%s\n%s^\nERROR at Row:%d:Column:%d\n%s", line, strings.Repeat(" ", col-1), row, col, e.msg)
}

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tDate
	tDateTime
	tPunct
)

type token struct {
	kind tokKind
	text string // raw text; for strings the unescaped value
	pos  int
	num  float64
	ms   int64
}

func (t token) is(kw string) bool { return t.kind == tIdent && strings.EqualFold(t.text, kw) }

type lexer struct {
	src string
	pos int
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

func (l *lexer) next() (token, *soqlError) {
	for l.pos < len(l.src) && strings.IndexByte(" \t\r\n", l.src[l.pos]) >= 0 {
		l.pos++
	}
	start := l.pos
	if l.pos >= len(l.src) {
		return token{kind: tEOF, pos: start}, nil
	}
	c := l.src[l.pos]
	switch {
	case isLetter(c):
		for l.pos < len(l.src) && (isLetter(l.src[l.pos]) || isDigit(l.src[l.pos]) || l.src[l.pos] == '.') {
			l.pos++
		}
		return token{kind: tIdent, text: l.src[start:l.pos], pos: start}, nil
	case c == '\'':
		return l.str()
	case isDigit(c) || (c == '-' || c == '+') && l.pos+1 < len(l.src) && isDigit(l.src[l.pos+1]):
		return l.numberOrDate()
	}
	for _, op := range []string{"!=", "<>", "<=", ">=", "=", "<", ">", "(", ")", ",", ":"} {
		if strings.HasPrefix(l.src[l.pos:], op) {
			l.pos += len(op)
			return token{kind: tPunct, text: op, pos: start}, nil
		}
	}
	return token{}, &soqlError{"MALFORMED_QUERY", fmt.Sprintf("unexpected token: '%c'", c), start}
}

func (l *lexer) str() (token, *soqlError) {
	start := l.pos
	l.pos++
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch c {
		case '\'':
			l.pos++
			return token{kind: tString, text: b.String(), pos: start}, nil
		case '\\':
			if l.pos+1 >= len(l.src) {
				break
			}
			e := l.src[l.pos+1]
			l.pos += 2
			switch e {
			case 'n', 'N':
				b.WriteByte('\n')
			case 'r', 'R':
				b.WriteByte('\r')
			case 't', 'T':
				b.WriteByte('\t')
			case 'b', 'B':
				b.WriteByte('\b')
			case 'f', 'F':
				b.WriteByte('\f')
			case '"', '\'', '\\':
				b.WriteByte(e)
			case '_', '%': // kept escaped: only LIKE patterns give them meaning
				b.WriteByte('\\')
				b.WriteByte(e)
			case 'u':
				if l.pos+4 > len(l.src) {
					return token{}, &soqlError{"MALFORMED_QUERY", "Invalid string literal: incomplete \\u escape", start}
				}
				n, err := strconv.ParseUint(l.src[l.pos:l.pos+4], 16, 32)
				if err != nil {
					return token{}, &soqlError{"MALFORMED_QUERY", "Invalid string literal: bad \\u escape", start}
				}
				b.WriteRune(rune(n))
				l.pos += 4
			default:
				return token{}, &soqlError{"MALFORMED_QUERY",
					fmt.Sprintf("Invalid string literal. Illegal character sequence '\\%c' in string literal.", e), l.pos - 2}
			}
			continue
		}
		b.WriteByte(c)
		l.pos++
	}
	return token{}, &soqlError{"MALFORMED_QUERY", "unterminated string literal", start}
}

func (l *lexer) numberOrDate() (token, *soqlError) {
	start := l.pos
	if l.src[l.pos] == '-' || l.src[l.pos] == '+' {
		l.pos++
	}
	for l.pos < len(l.src) && (isDigit(l.src[l.pos]) || strings.IndexByte("-:.TZ+", l.src[l.pos]) >= 0) {
		l.pos++
	}
	text := l.src[start:l.pos]
	if len(text) >= 10 && text[4] == '-' && text[7] == '-' {
		if len(text) == 10 {
			if ms, ok := parseDate(text); ok {
				return token{kind: tDate, text: text, pos: start, ms: ms}, nil
			}
		} else if ms, ok := parseDateTime(text); ok && text[10] == 'T' {
			return token{kind: tDateTime, text: text, pos: start, ms: ms}, nil
		}
		return token{}, &soqlError{"MALFORMED_QUERY", fmt.Sprintf("line 1:%d no viable alternative at character ' ': invalid date or datetime literal %s", start, text), start}
	}
	n, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return token{}, &soqlError{"MALFORMED_QUERY", "unexpected token: " + text, start}
	}
	return token{kind: tNumber, text: text, pos: start, num: n}, nil
}

// AST.

type ident struct {
	name string
	pos  int
}

type soqlQuery struct {
	count  bool
	fields []ident
	from   ident
	where  expr
	order  []orderItem
	limit  int // -1 when absent
	offset int
}

type orderItem struct {
	field     ident
	desc      bool
	nullsLast bool
}

type expr interface{ isExpr() }

type (
	boolExpr struct {
		and   bool
		terms []expr
	}
	notExpr struct{ e expr }
	cmpExpr struct {
		field ident
		op    string
		val   token
	}
	inExpr struct {
		field ident
		not   bool
		vals  []token
	}
	likeExpr struct {
		field ident
		pat   token
	}
)

func (boolExpr) isExpr() {}
func (notExpr) isExpr()  {}
func (cmpExpr) isExpr()  {}
func (inExpr) isExpr()   {}
func (likeExpr) isExpr() {}

type parser struct {
	lx  lexer
	tok token
}

func parseSOQL(q string) (*soqlQuery, *soqlError) {
	p := &parser{lx: lexer{src: q}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	return p.query()
}

func (p *parser) advance() *soqlError {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) unexpected() *soqlError {
	if p.tok.kind == tEOF {
		return &soqlError{"MALFORMED_QUERY", "unexpected token: <EOF>", p.tok.pos}
	}
	text := p.tok.text
	if p.tok.kind == tString {
		text = "'" + text + "'"
	}
	return &soqlError{"MALFORMED_QUERY", "unexpected token: " + text, p.tok.pos}
}

func unsupported(pos int, what string) *soqlError {
	return &soqlError{"MALFORMED_QUERY", what + " is not supported by the mapsync Salesforce sandbox", pos}
}

func (p *parser) keyword(kw string) *soqlError {
	if !p.tok.is(kw) {
		return p.unexpected()
	}
	return p.advance()
}

var reserved = map[string]bool{"select": true, "from": true, "where": true, "and": true, "or": true, "not": true,
	"order": true, "by": true, "limit": true, "offset": true, "in": true, "like": true, "group": true, "having": true,
	"with": true, "for": true, "using": true, "null": true, "true": true, "false": true, "asc": true, "desc": true,
	"nulls": true, "first": true, "last": true, "includes": true, "excludes": true}

// name reads a field or object name.
func (p *parser) name() (ident, *soqlError) {
	if p.tok.kind != tIdent || reserved[strings.ToLower(p.tok.text)] {
		return ident{}, p.unexpected()
	}
	id := ident{p.tok.text, p.tok.pos}
	if strings.Contains(id.name, ".") {
		return ident{}, unsupported(id.pos, "relationship field "+id.name)
	}
	if err := p.advance(); err != nil {
		return ident{}, err
	}
	if p.tok.kind == tPunct && p.tok.text == "(" {
		return ident{}, unsupported(id.pos, "function "+id.name+"()")
	}
	return id, nil
}

func (p *parser) query() (*soqlQuery, *soqlError) {
	q := &soqlQuery{limit: -1}
	if err := p.keyword("SELECT"); err != nil {
		return nil, err
	}
	if p.tok.is("COUNT") {
		pos := p.tok.pos
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tPunct || p.tok.text != "(" {
			return nil, p.unexpected()
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tPunct || p.tok.text != ")" {
			return nil, unsupported(pos, "COUNT(field)")
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		q.count = true
	} else {
		for {
			if p.tok.kind == tPunct && p.tok.text == "(" {
				return nil, unsupported(p.tok.pos, "a subquery")
			}
			f, err := p.name()
			if err != nil {
				return nil, err
			}
			q.fields = append(q.fields, f)
			if p.tok.kind != tPunct || p.tok.text != "," {
				break
			}
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
	}
	if err := p.keyword("FROM"); err != nil {
		return nil, err
	}
	from, err := p.name()
	if err != nil {
		return nil, err
	}
	q.from = from
	if p.tok.is("WHERE") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		if q.where, err = p.condition(); err != nil {
			return nil, err
		}
	}
	for _, kw := range []string{"WITH", "GROUP", "HAVING", "USING"} {
		if p.tok.is(kw) {
			return nil, unsupported(p.tok.pos, strings.ToUpper(kw))
		}
	}
	if p.tok.is("ORDER") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		if err := p.keyword("BY"); err != nil {
			return nil, err
		}
		for {
			f, err := p.name()
			if err != nil {
				return nil, err
			}
			it := orderItem{field: f}
			if p.tok.is("ASC") || p.tok.is("DESC") {
				it.desc = p.tok.is("DESC")
				if err := p.advance(); err != nil {
					return nil, err
				}
			}
			it.nullsLast = it.desc
			if p.tok.is("NULLS") {
				if err := p.advance(); err != nil {
					return nil, err
				}
				if !p.tok.is("FIRST") && !p.tok.is("LAST") {
					return nil, p.unexpected()
				}
				it.nullsLast = p.tok.is("LAST")
				if err := p.advance(); err != nil {
					return nil, err
				}
			}
			q.order = append(q.order, it)
			if p.tok.kind != tPunct || p.tok.text != "," {
				break
			}
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
	}
	for _, c := range []struct {
		kw  string
		dst *int
	}{{"LIMIT", &q.limit}, {"OFFSET", &q.offset}} {
		if !p.tok.is(c.kw) {
			continue
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tNumber || strings.ContainsAny(p.tok.text, ".-+") {
			return nil, p.unexpected()
		}
		if p.tok.num > 1<<31-1 {
			return nil, &soqlError{"MALFORMED_QUERY", c.kw + " " + p.tok.text + " is too large", p.tok.pos}
		}
		*c.dst = int(p.tok.num)
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	if q.offset > 2000 {
		return nil, &soqlError{"NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000", -1}
	}
	if p.tok.is("FOR") {
		return nil, unsupported(p.tok.pos, "FOR VIEW/REFERENCE/UPDATE")
	}
	if p.tok.kind != tEOF {
		return nil, p.unexpected()
	}
	return q, nil
}

func (p *parser) condition() (expr, *soqlError) {
	first, err := p.unary()
	if err != nil {
		return nil, err
	}
	if !p.tok.is("AND") && !p.tok.is("OR") {
		return first, nil
	}
	and := p.tok.is("AND")
	b := boolExpr{and: and, terms: []expr{first}}
	for p.tok.is("AND") || p.tok.is("OR") {
		if p.tok.is("AND") != and {
			return nil, p.unexpected() // SOQL needs parentheses to mix AND and OR
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		t, err := p.unary()
		if err != nil {
			return nil, err
		}
		b.terms = append(b.terms, t)
	}
	return b, nil
}

func (p *parser) unary() (expr, *soqlError) {
	switch {
	case p.tok.is("NOT"):
		if err := p.advance(); err != nil {
			return nil, err
		}
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notExpr{e}, nil
	case p.tok.kind == tPunct && p.tok.text == "(":
		if err := p.advance(); err != nil {
			return nil, err
		}
		e, err := p.condition()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tPunct || p.tok.text != ")" {
			return nil, p.unexpected()
		}
		return e, p.advance()
	}
	f, err := p.name()
	if err != nil {
		return nil, err
	}
	switch {
	case p.tok.kind == tPunct && strings.Contains("= != <> < <= > >=", p.tok.text) && p.tok.text != "(":
		op := p.tok.text
		if op == "<>" {
			op = "!="
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		return cmpExpr{f, op, v}, nil
	case p.tok.is("LIKE"):
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tString {
			return nil, p.unexpected()
		}
		pat := p.tok
		return likeExpr{f, pat}, p.advance()
	case p.tok.is("IN") || p.tok.is("NOT"):
		not := p.tok.is("NOT")
		if err := p.advance(); err != nil {
			return nil, err
		}
		if not {
			if err := p.keyword("IN"); err != nil {
				return nil, err
			}
		}
		if p.tok.kind != tPunct || p.tok.text != "(" {
			return nil, p.unexpected()
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.is("SELECT") {
			return nil, unsupported(p.tok.pos, "a semi-join subquery")
		}
		var vals []token
		for {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
			if p.tok.kind == tPunct && p.tok.text == "," {
				if err := p.advance(); err != nil {
					return nil, err
				}
				continue
			}
			break
		}
		if p.tok.kind != tPunct || p.tok.text != ")" {
			return nil, p.unexpected()
		}
		return inExpr{f, not, vals}, p.advance()
	case p.tok.is("INCLUDES") || p.tok.is("EXCLUDES"):
		return nil, unsupported(p.tok.pos, strings.ToUpper(p.tok.text))
	}
	return nil, p.unexpected()
}

func (p *parser) value() (token, *soqlError) {
	t := p.tok
	switch {
	case t.kind == tString || t.kind == tNumber || t.kind == tDate || t.kind == tDateTime:
	case t.is("TRUE") || t.is("FALSE") || t.is("NULL"):
	case t.kind == tPunct && t.text == ":":
		return token{}, unsupported(t.pos, "a bind variable")
	case t.kind == tIdent:
		return token{}, unsupported(t.pos, "the date literal or value "+t.text)
	default:
		return token{}, p.unexpected()
	}
	return t, p.advance()
}
