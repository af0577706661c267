package salesforce

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// ValidationRule is an active validation rule: an update or create that leaves a record of
// Object holding Value in Field fails with FIELD_CUSTOM_VALIDATION_EXCEPTION and Message, as a
// rule whose formula is `Field = "Value"` does in a real org. The error names ErrorField
// (the rule's error location), or no field for an error at the top of the page.
type ValidationRule struct {
	// Object is the sObject, e.g. "Opportunity".
	Object string `json:"object"`
	// Field is the field the rule reads.
	Field string `json:"field"`
	// Value is the value that fails: text as written, numbers in plain decimal ("100"), booleans
	// "true"/"false", dates YYYY-MM-DD; "" matches an empty field.
	Value string `json:"value"`
	// ErrorField is the field the error is shown on; "" for the top of the page.
	ErrorField string `json:"errorField"`
	// Message is the rule's error message.
	Message string `json:"message"`
}

// AddValidationRule activates a rule. The object and fields must exist.
func (s *Sandbox) AddValidationRule(rule ValidationRule) error {
	o, err := s.objectByName(rule.Object)
	if err != nil {
		return err
	}
	if o.field(rule.Field) == nil {
		return fmt.Errorf("%w: no field %s on %s", ErrNotFound, rule.Field, o.name)
	}
	if rule.ErrorField != "" && o.field(rule.ErrorField) == nil {
		return fmt.Errorf("%w: no field %s on %s", ErrNotFound, rule.ErrorField, o.name)
	}
	if rule.Message == "" {
		return errors.New("a validation rule needs a message")
	}
	rule.Object = o.name
	s.ctl.mu.Lock()
	defer s.ctl.mu.Unlock()
	s.ctl.rules = append(s.ctl.rules, rule)
	return nil
}

// ClearValidationRules deactivates every validation rule.
func (s *Sandbox) ClearValidationRules() {
	s.ctl.mu.Lock()
	defer s.ctl.mu.Unlock()
	s.ctl.rules = nil
}

// checkRules returns the errors of the rules a record of o would break with vals written over
// r's values (r nil for a create). Callers hold s.mu.
func (s *Sandbox) checkRules(o *object, r *record, vals map[int]value) []saveError {
	s.ctl.mu.Lock()
	rules := s.ctl.rules
	s.ctl.mu.Unlock()
	var errs []saveError
	for _, rule := range rules {
		if rule.Object != o.name {
			continue
		}
		f := o.field(rule.Field)
		v, ok := vals[f.idx]
		if !ok && r != nil {
			v = r.vals[f.idx]
		}
		if valueText(f, v) != rule.Value {
			continue
		}
		var fields []string
		if rule.ErrorField != "" {
			fields = []string{o.field(rule.ErrorField).Name}
		}
		errs = append(errs, newSaveError("FIELD_CUSTOM_VALIDATION_EXCEPTION", rule.Message, fields...))
	}
	return errs
}

// valueText renders a value as ValidationRule.Value is written.
func valueText(f *fieldDef, v value) string {
	switch v.k {
	case kText:
		return v.s
	case kNum:
		return strconv.FormatFloat(v.n, 'f', -1, 64)
	case kBool:
		return strconv.FormatBool(v.n != 0)
	case kTime:
		if f.Type == "date" {
			return string(appendDate(nil, v.ms()))
		}
		return fmtDateTime(v.ms())
	}
	return ""
}

// controlValidationRules serves POST and DELETE /__sandbox/validation-rules.
func (s *Sandbox) controlValidationRules(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodDelete {
		s.ClearValidationRules()
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
		return
	}
	var rule ValidationRule
	if !readControl(w, r, &rule) {
		return
	}
	if err := s.AddValidationRule(rule); err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrNotFound) {
			status = http.StatusNotFound
		}
		writeJSON(w, status, map[string]string{"error": strings.TrimSpace(err.Error())})
		return
	}
	writeJSON(w, http.StatusOK, rule)
}
