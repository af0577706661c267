package plans

import (
	"fmt"
)

// Limits on what a plan may hold. A plan is read and written whole on every change, so what it
// holds is capped: every operation (and Template.Validate, for what a template puts in a plan)
// refuses a value over its limit with an *InputError (HTTP 422) naming the field and the limit.
// Lengths are in bytes of UTF-8, like the document they fill. Comments are not part of the plan
// document (they are rows of their own, read page by page), so their number is not capped; each
// one's length is.
//
// The caps of what people edit elsewhere sit beside their operations, in bytes too: MaxTitle,
// MaxDescription, MaxMilestone and MaxSubTasks (edit_actions.go), MaxPlanName and MaxPlanText
// (create.go), MaxPhaseName (phases.go), MaxURL and MaxReason (action_types.go).
const (
	// MaxComment caps a comment's body.
	MaxComment = 10_000
	// MaxName caps the names of attachments, members, roles and templates.
	MaxName = 200
	// MaxKey caps template, role, phase, action and question keys.
	MaxKey = 100
	// MaxEmail caps a member's email (RFC 5321's path limit).
	MaxEmail = 254
	// MaxQuestion caps a form question's text.
	MaxQuestion = 1_000
	// MaxOption caps one option of a choice question.
	MaxOption = 200
	// MaxAnswer caps a text answer to a form question.
	MaxAnswer = 10_000

	// MaxPhases caps the phases of a plan or template.
	MaxPhases = 50
	// MaxActions caps the actions of a plan or template, over all its phases.
	MaxActions = 500
	// MaxRoles caps the roles of a plan or template.
	MaxRoles = 50
	// MaxQuestions caps the questions of one form.
	MaxQuestions = 100
	// MaxOptions caps the options of one choice question.
	MaxOptions = 100
	// MaxAttachments caps the attachments of one action, and those of the plan itself.
	MaxAttachments = 100
	// MaxMembers caps the members of a plan.
	MaxMembers = 200
)

// tooLong returns the message for a value over max bytes, or "" when it fits. It says what
// checkText says.
func tooLong(s string, max int) string {
	if len(s) > max {
		return fmt.Sprintf("at most %d bytes, got %d", max, len(s))
	}
	return ""
}

// checkLength returns an *InputError on field when s is over max bytes.
func checkLength(field, s string, max int) error {
	if msg := tooLong(s, max); msg != "" {
		return invalid(field, "%s", msg)
	}
	return nil
}

// checkCount returns an *InputError on field when adding one more to have would go over max.
func checkCount(field, what string, have, max int) error {
	if have >= max {
		return invalid(field, "too many %s: at most %d, and there are %d; remove one first", what, max, have)
	}
	return nil
}
