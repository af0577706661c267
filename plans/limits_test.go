package plans

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// over returns a string one byte over max.
func over(max int) string { return strings.Repeat("a", max+1) }

// wantLimit checks that err is an InputError on field naming the limit.
func wantLimit(t *testing.T, err error, field string, limit int) {
	t.Helper()
	var ie *InputError
	if !errors.As(err, &ie) || ie.Field != field || !strings.Contains(ie.Message, fmt.Sprintf("at most %d", limit)) {
		t.Errorf("got %v, want an InputError on %s naming the limit %d", err, field, limit)
	}
}

// TestLengthLimits: every text a plan document holds is capped; each operation refuses a value
// one character over its limit, naming the field and the limit, and changes nothing.
func TestLengthLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		field string
		limit int
		op    func(f *fixture, s string) error
	}{
		{"action title", "title", MaxTitle, func(f *fixture, s string) error {
			a := f.plan.ActionByKey("kickoff")
			_, err := f.plan.UpdateAction(f.seller(f.start), a.ID, ActionPatch{Version: a.Version, Title: &s})
			return err
		}},
		{"action description", "description", MaxDescription, func(f *fixture, s string) error {
			a := f.plan.ActionByKey("kickoff")
			_, err := f.plan.UpdateAction(f.seller(f.start), a.ID, ActionPatch{Version: a.Version, Description: &s})
			return err
		}},
		{"sub-task title", "title", MaxTitle, func(f *fixture, s string) error {
			_, _, err := f.plan.AddSubTask(f.seller(f.start), f.plan.ActionByKey("kickoff").ID, s)
			return err
		}},
		{"comment", "body", MaxComment, func(f *fixture, s string) error {
			_, _, err := f.plan.AddComment(f.seller(f.start), f.plan.ActionByKey("kickoff").ID, s, false)
			return err
		}},
		{"attachment name", "name", MaxName, func(f *fixture, s string) error {
			_, _, err := f.plan.AddAttachment(f.seller(f.start), "", Attachment{Name: s, URL: "https://x.test/"})
			return err
		}},
		{"attachment url", "url", MaxURL, func(f *fixture, s string) error {
			_, _, err := f.plan.AddAttachment(f.seller(f.start), "", Attachment{Name: "deck", URL: "https://x.test/" + s})
			return err
		}},
		{"member name", "name", MaxName, func(f *fixture, s string) error {
			_, _, err := f.plan.InviteMember(f.seller(f.start), Member{Role: "legal", Name: s, Email: "lee@acme.test"})
			return err
		}},
		{"member email", "email", MaxEmail, func(f *fixture, s string) error {
			_, _, err := f.plan.InviteMember(f.seller(f.start), Member{Role: "legal", Email: strings.Repeat("a", len([]rune(s))) + "@acme.test"})
			return err
		}},
		{"close reason", "reason", MaxReason, func(f *fixture, s string) error {
			_, err := f.plan.Close(f.seller(f.start), s)
			return err
		}},
		{"question text", "questions[0].text", MaxQuestion, func(f *fixture, s string) error {
			a := f.plan.ActionByKey("questionnaire")
			_, err := f.plan.SetQuestions(f.seller(f.start), a.ID, a.Version, []Question{{Key: "q", Text: s, Kind: QuestionText}})
			return err
		}},
		{"question option", "questions[0].options[1]", MaxOption, func(f *fixture, s string) error {
			a := f.plan.ActionByKey("questionnaire")
			_, err := f.plan.SetQuestions(f.seller(f.start), a.ID, a.Version, []Question{{Key: "q", Text: "Q", Kind: QuestionSingleChoice, Options: []string{"a", s}}})
			return err
		}},
		{"answer", "responses.notes", MaxAnswer, func(f *fixture, s string) error {
			a := f.plan.ActionByKey("questionnaire")
			qs := append(cloneQuestions(a.Questions), Question{Key: "notes", Text: "Notes", Kind: QuestionLongText})
			if _, err := f.plan.SetQuestions(f.seller(f.start), a.ID, a.Version, qs); err != nil {
				return fmt.Errorf("setup: %w", err)
			}
			_, err := f.plan.RecordResponses(f.seller(f.start), a.ID, map[string]any{"notes": s}, false)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			before := mustJSONString(t, f.plan)
			err := tt.op(f, over(tt.limit))
			wantLimit(t, err, tt.field, tt.limit)
			if tt.name != "answer" && mustJSONString(t, f.plan) != before {
				t.Errorf("plan changed by a refused operation")
			}
			if err := tt.op(setup(t), strings.Repeat("a", tt.limit)); err != nil && tt.field != "email" && tt.field != "url" { // those two add to s
				t.Errorf("at the limit: %v", err)
			}
		})
	}
}

// TestCountLimits: the lists a plan document holds are capped.
func TestCountLimits(t *testing.T) {
	t.Parallel()
	t.Run("sub-tasks", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		a := f.plan.ActionByKey("kickoff")
		for len(a.SubTasks) < MaxSubTasks {
			if _, _, err := f.plan.AddSubTask(f.seller(f.start), a.ID, "step"); err != nil {
				t.Fatal(err)
			}
		}
		_, _, err := f.plan.AddSubTask(f.seller(f.start), a.ID, "one too many")
		wantLimit(t, err, "title", MaxSubTasks)
	})
	t.Run("attachments", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		a := f.plan.ActionByKey("kickoff")
		for range MaxAttachments {
			if _, _, err := f.plan.AddAttachment(f.seller(f.start), a.ID, Attachment{Name: "l", URL: "https://x.test/"}); err != nil {
				t.Fatal(err)
			}
		}
		_, _, err := f.plan.AddAttachment(f.seller(f.start), a.ID, Attachment{Name: "l", URL: "https://x.test/"})
		wantLimit(t, err, "url", MaxAttachments)
		if _, _, err := f.plan.AddAttachment(f.seller(f.start), "", Attachment{Name: "l", URL: "https://x.test/"}); err != nil {
			t.Errorf("the plan's own attachments have their own cap: %v", err)
		}
	})
	t.Run("members", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		for i := len(f.plan.Members); i < MaxMembers; i++ {
			if _, _, err := f.plan.InviteMember(f.seller(f.start), Member{Role: "legal", Email: fmt.Sprintf("m%d@acme.test", i)}); err != nil {
				t.Fatal(err)
			}
		}
		_, _, err := f.plan.InviteMember(f.seller(f.start), Member{Role: "legal", Email: "late@acme.test"})
		wantLimit(t, err, "email", MaxMembers)
	})
	t.Run("questions", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		a := f.plan.ActionByKey("questionnaire")
		var qs []Question
		for i := range MaxQuestions + 1 {
			qs = append(qs, Question{Key: fmt.Sprintf("q%d", i), Text: "Q", Kind: QuestionText})
		}
		_, err := f.plan.SetQuestions(f.seller(f.start), a.ID, a.Version, qs)
		wantLimit(t, err, "questions", MaxQuestions)
	})
}

// TestTemplateLimits: a template cannot put more in a plan than the plan may hold.
func TestTemplateLimits(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("key: big\nname: " + strings.Repeat("n", MaxName+1) + "\nphases:\n  - key: p\n    name: P\n    actions:\n")
	for i := range MaxActions + 1 {
		fmt.Fprintf(&b, "      - {key: a%d, title: T, type: task}\n", i)
	}
	fmt.Fprintf(&b, "      - {key: long, title: %s, type: task, sub_tasks: [%s]}\n", strings.Repeat("t", MaxTitle+1), strings.Repeat("s", MaxTitle+1))
	_, err := Parse([]byte(b.String()))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v, want a ValidationError", err)
	}
	want := map[string]string{
		"name":                                fmt.Sprintf("at most %d bytes", MaxName),
		"phases":                              fmt.Sprintf("at most %d over all phases", MaxActions),
		"phases[0].actions[501].title":        fmt.Sprintf("at most %d bytes", MaxTitle),
		"phases[0].actions[501].sub_tasks[0]": fmt.Sprintf("at most %d bytes", MaxTitle),
	}
	for path, msg := range want {
		found := false
		for _, p := range ve.Problems {
			if p.Path == path && strings.Contains(p.Message, msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem at %s saying %q; got %v", path, msg, ve.Problems)
		}
	}
}

func mustJSONString(t *testing.T, p *Plan) string {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestStructureLimits: phases and actions added by hand stop at the caps templates have.
func TestStructureLimits(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for len(f.plan.Phases) < MaxPhases {
		if _, _, err := f.plan.AddPhase(f.seller(f.start), f.plan.Version, "More", nil); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := f.plan.AddPhase(f.seller(f.start), f.plan.Version, "One too many", nil)
	wantLimit(t, err, "name", MaxPhases)
	for len(f.plan.Actions()) < MaxActions {
		if _, _, err := f.plan.AddAction(f.seller(f.start), f.plan.Version, NewAction{PhaseID: f.plan.Phases[0].ID, Title: "Step"}); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err = f.plan.AddAction(f.seller(f.start), f.plan.Version, NewAction{PhaseID: f.plan.Phases[0].ID, Title: "Step"})
	wantLimit(t, err, "phase_id", MaxActions)
}
