package plans

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// SetQuestions replaces the questions of a form action (checked like a template's questions).
// Responses to questions that no longer exist are dropped.
func (p *Plan) SetQuestions(c Change, actionID string, version int, questions []Question) ([]Event, error) {
	a, err := p.formAction(c, actionID)
	if err != nil {
		return nil, err
	}
	if err := checkVersion(a, version); err != nil {
		return nil, err
	}
	if len(questions) == 0 {
		return nil, invalid("questions", "required: at least one question")
	}
	if len(questions) > MaxQuestions {
		return nil, invalid("questions", "too many questions: at most %d, got %d", MaxQuestions, len(questions))
	}
	if probs := validateQuestions(questions); len(probs) > 0 {
		return nil, invalid(probs[0].Path, "%s", probs[0].Message)
	}
	r := &recorder{p: p, c: c}
	r.add(EventFormQuestionsChanged, a, a.Questions, questions)
	a.Questions = cloneQuestions(questions)
	for k := range a.Responses {
		if !slices.ContainsFunc(a.Questions, func(q Question) bool { return q.Key == k }) {
			delete(a.Responses, k)
		}
	}
	r.touch(a)
	return r.done(), nil
}

// RecordResponses merges answers into a form action's responses, by question key (a nil answer
// clears one). Answers are checked against the question kinds: a string for text, long_text and
// single_choice (one of the options); a number for number; a "YYYY-MM-DD" string for date; a bool
// for yes_no; a list of options for multi_choice. With submit, every required question must then
// be answered: the form is stamped submitted and, unless already done or skipped, its action goes
// to done (a blocked action must be unblocked first).
func (p *Plan) RecordResponses(c Change, actionID string, answers map[string]any, submit bool) ([]Event, error) {
	a, err := p.formAction(c, actionID)
	if err != nil {
		return nil, err
	}
	merged := make(map[string]any, len(a.Responses)+len(answers))
	for k, v := range a.Responses {
		merged[k] = v
	}
	keys := make([]string, 0, len(answers))
	for k := range answers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		field := "responses." + k
		qi := slices.IndexFunc(a.Questions, func(q Question) bool { return q.Key == k })
		if qi < 0 {
			return nil, &NotFoundError{Kind: "question", ID: k}
		}
		if answers[k] == nil {
			delete(merged, k)
			continue
		}
		v, err := checkAnswer(a.Questions[qi], answers[k])
		if err != nil {
			return nil, invalid(field, "%s", err.Error())
		}
		merged[k] = v
	}
	completes := submit && !a.Status.Closed()
	if submit {
		for _, q := range a.Questions {
			if _, ok := merged[q.Key]; q.Required && !ok {
				return nil, invalid("responses."+q.Key, "required")
			}
		}
		if completes && !CanTransition(a.Status, StatusDone) {
			return nil, &TransitionError{From: a.Status, To: StatusDone}
		}
	}
	r := &recorder{p: p, c: c}
	if len(answers) > 0 {
		r.add(EventFormResponses, a, a.Responses, merged)
	}
	a.Responses = merged
	if submit {
		at := c.At
		a.SubmittedAt = &at
		r.add(EventFormSubmitted, a, nil, merged)
		if completes {
			setStatus(r, a, StatusDone)
		}
	}
	if len(r.events) > 0 {
		r.touch(a)
	}
	if completes {
		recomputeDependents(p, r, a)
	}
	return r.done(), nil
}

func (p *Plan) formAction(c Change, actionID string) (*Action, error) {
	a, err := p.openAction(c, actionID)
	if err != nil {
		return nil, err
	}
	if a.Type != ActionForm {
		return nil, invalid("action", "action %s is a %s, not a form", a.ID, a.Type)
	}
	return a, nil
}

// checkAnswer checks v against q's kind and returns it in its stored form.
func checkAnswer(q Question, v any) (any, error) {
	switch q.Kind {
	case QuestionText, QuestionLongText:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("want a string, got %T", v)
		}
		if msg := tooLong(s, MaxAnswer); msg != "" {
			return nil, errors.New(msg)
		}
		return s, nil
	case QuestionSingleChoice:
		s, ok := v.(string)
		if !ok || !slices.Contains(q.Options, s) {
			return nil, fmt.Errorf("want one of %s, got %v", strings.Join(q.Options, ", "), v)
		}
		return s, nil
	case QuestionMultiChoice:
		var out []string
		switch l := v.(type) {
		case []string:
			out = slices.Clone(l)
		case []any:
			for _, x := range l {
				s, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("want a list of options, got %T in it", x)
				}
				out = append(out, s)
			}
		default:
			return nil, fmt.Errorf("want a list of options, got %T", v)
		}
		for _, s := range out {
			if !slices.Contains(q.Options, s) {
				return nil, fmt.Errorf("unknown option %q (want one of %s)", s, strings.Join(q.Options, ", "))
			}
		}
		return out, nil
	case QuestionNumber:
		switch n := v.(type) {
		case float64:
			return n, nil
		case int:
			return float64(n), nil
		case json.Number:
			f, err := n.Float64()
			if err != nil {
				return nil, fmt.Errorf("want a number, got %q", n)
			}
			return f, nil
		}
		return nil, fmt.Errorf("want a number, got %T", v)
	case QuestionDate:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("want a YYYY-MM-DD date, got %T", v)
		}
		if _, err := ParseDate(s); err != nil {
			return nil, fmt.Errorf("want a YYYY-MM-DD date, got %q", s)
		}
		return s, nil
	case QuestionYesNo:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("want true or false, got %T", v)
		}
		return b, nil
	}
	return nil, fmt.Errorf("unknown question kind %q", q.Kind)
}
