package plans

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Placeholders lists the names a template's conversation name and welcome message may use, as
// {{deal.name}} (spaces inside the braces are allowed). Besides these, {{deal.fields.NAME}} reads
// any CRM field. The buyer is the deal's primary contact (or its first contact); an unknown value
// renders as the empty string.
//
// Alternatives separated by "|" render the first that is not empty, and a double-quoted string is
// a literal: {{deal.account | "your team"}} falls back to the text when the CRM gave no account.
var Placeholders = []string{
	"deal.id", "deal.name", "deal.account", "deal.stage", "deal.pipeline", "deal.type",
	"deal.amount", "deal.close_date", "owner.name", "owner.first_name", "owner.email",
	"buyer.name", "buyer.first_name", "buyer.email", "connection", "template.name",
}

var placeholderRE = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// checkPlaceholders returns the unknown placeholder names in s.
func checkPlaceholders(s string) (unknown []string) {
	for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
		for _, alt := range alternatives(m[1]) {
			if !isLiteral(alt) && !knownPlaceholder(alt) {
				unknown = append(unknown, alt)
			}
		}
	}
	return unknown
}

// alternatives splits "a | b | \"text\"" into its trimmed parts; a "|" inside quotes is text.
func alternatives(expr string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(expr); i++ {
		switch expr[i] {
		case '"':
			quoted = !quoted
		case '|':
			if !quoted {
				out = append(out, strings.TrimSpace(expr[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(expr[start:]))
}

// isLiteral reports whether an alternative is a double-quoted string.
func isLiteral(alt string) bool {
	return len(alt) >= 2 && alt[0] == '"' && alt[len(alt)-1] == '"'
}

func knownPlaceholder(name string) bool {
	if f, ok := strings.CutPrefix(name, "deal.fields."); ok {
		return f != ""
	}
	for _, p := range Placeholders {
		if p == name {
			return true
		}
	}
	return false
}

// render fills the placeholders of s from deal; unknown names are left as written (Validate
// rejects them before).
func render(s string, deal *Deal, t *Template) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	return placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
		for _, alt := range alternatives(placeholderRE.FindStringSubmatch(m)[1]) {
			if isLiteral(alt) {
				return alt[1 : len(alt)-1]
			}
			v, ok := placeholderValue(alt, deal, t)
			if !ok {
				return m
			}
			if v != "" {
				return v
			}
		}
		return ""
	})
}

func placeholderValue(name string, d *Deal, t *Template) (string, bool) {
	if f, ok := strings.CutPrefix(name, "deal.fields."); ok {
		v := d.Fields[f]
		if v == nil {
			return "", true
		}
		if x, ok := v.(float64); ok {
			return strconv.FormatFloat(x, 'f', -1, 64), true
		}
		return fmt.Sprint(v), true
	}
	owner := d.Owner
	if owner == nil {
		owner = &Person{}
	}
	buyer := d.primaryContact()
	if buyer == nil {
		buyer = &DealContact{}
	}
	switch name {
	case "deal.id":
		return d.ID, true
	case "deal.name":
		return d.Name, true
	case "deal.account":
		return d.Account, true
	case "deal.stage":
		return d.Stage, true
	case "deal.pipeline":
		return d.Pipeline, true
	case "deal.type":
		return d.Type, true
	case "deal.amount":
		return strconv.FormatFloat(d.Amount, 'f', -1, 64), true
	case "deal.close_date":
		return d.CloseDate.String(), true
	case "owner.name":
		return owner.Name, true
	case "owner.first_name":
		return firstName(owner.Name), true
	case "owner.email":
		return owner.Email, true
	case "buyer.name":
		return buyer.Name, true
	case "buyer.first_name":
		return firstName(buyer.Name), true
	case "buyer.email":
		return buyer.Email, true
	case "connection":
		return d.ConnectionName, true
	case "template.name":
		return t.Name, true
	}
	return "", false
}

func firstName(full string) string {
	f, _, _ := strings.Cut(strings.TrimSpace(full), " ")
	return f
}
