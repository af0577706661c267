package plans

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Sentinels callers branch on with errors.Is; the typed errors below match them.
var (
	// ErrInvalid marks bad input: an invalid template, field value or status transition (HTTP 400/422).
	ErrInvalid = errors.New("invalid")
	// ErrNotFound marks an unknown plan, phase, action, sub-task, comment, attachment or member (HTTP 404).
	ErrNotFound = errors.New("not found")
	// ErrConflict marks a stale version (the action changed since it was read) or a key that
	// exists already (HTTP 409).
	ErrConflict = errors.New("conflict")
	// ErrClosed marks a change to a plan that is closed or cancelled (HTTP 409).
	ErrClosed = errors.New("plan is not active")
	// ErrNoTemplate marks a deal that no template's selection rule matches.
	ErrNoTemplate = errors.New("no template matches")
)

// InputError is a bad value in a request, naming the field at fault. It matches ErrInvalid.
type InputError struct {
	// Field names the request field at fault, e.g. "status", "questions[2].options".
	Field string
	// Message says what is wrong, in lowercase.
	Message string
}

// Error returns "field: message".
func (e *InputError) Error() string { return e.Field + ": " + e.Message }

// Is reports whether target is ErrInvalid.
func (e *InputError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &InputError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFoundError names what was not found. It matches ErrNotFound.
type NotFoundError struct {
	// Kind is "action", "phase", "sub-task", "comment", "attachment", "member", "role" or "question".
	Kind string
	// ID is the id or key asked for.
	ID string
}

// Error names the kind and id not found.
func (e *NotFoundError) Error() string { return fmt.Sprintf("unknown %s %q", e.Kind, e.ID) }

// Is reports whether target is ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// TransitionError is a status change the state machine does not allow. It matches ErrInvalid.
type TransitionError struct {
	// From is the action's current status.
	From Status
	// To is the status asked for.
	To Status
}

// Error names both statuses.
func (e *TransitionError) Error() string {
	return fmt.Sprintf("status: cannot go from %s to %s", e.From, e.To)
}

// Is reports whether target is ErrInvalid.
func (e *TransitionError) Is(target error) bool { return target == ErrInvalid }

// ConflictError is an update made against a version of an action that is no longer current. It
// matches ErrConflict.
type ConflictError struct {
	// ActionID is the action's id.
	ActionID string
	// Version is the version the caller read.
	Version int
	// Current is the action's version now.
	Current int
}

// Error names the action and both versions.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("action %s: version %d is stale, current is %d", e.ActionID, e.Version, e.Current)
}

// Is reports whether target is ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// ExistsError is something a request would create under a key that is taken, such as a plan
// saved as a template under the key of an existing template. It matches ErrConflict.
type ExistsError struct {
	// Kind is what exists: "template".
	Kind string
	// Key is the key asked for.
	Key string
	// Field names the request field holding the key, e.g. "key".
	Field string
}

// Error names the kind and key.
func (e *ExistsError) Error() string { return fmt.Sprintf("%s %q already exists", e.Kind, e.Key) }

// Is reports whether target is ErrConflict.
func (e *ExistsError) Is(target error) bool { return target == ErrConflict }

// NoMatchError is a deal that no template matches. It matches ErrNoTemplate.
type NoMatchError struct {
	// Connection is the deal's connection name.
	Connection string
	// DealID is the deal's CRM id.
	DealID string
	// RuleErrors are the rules that failed to evaluate for the deal (each counted as no match).
	RuleErrors []error

	// explain computes Misses on first use: a catch-up passes over many closed deals and never
	// asks why.
	explain func() []Miss
	once    sync.Once
	misses  []Miss
}

// Misses says, for every template with a selection rule, why it did not match, highest priority
// first; empty when no template has a selection rule.
func (e *NoMatchError) Misses() []Miss {
	e.once.Do(func() {
		if e.explain != nil {
			e.misses = e.explain()
		}
	})
	return e.misses
}

// Miss is why one template's selection rule did not choose a deal.
type Miss struct {
	// Template is the template's key.
	Template string
	// Reason is the first term of the rule that is false for the deal, with the values it read
	// (`deal.amount >= 100000 is false (deal.amount = 50000)`), the rule's evaluation error, or
	// the connections the template is limited to.
	Reason string
}

// Error names the deal and, on one line, why each template did not match.
func (e *NoMatchError) Error() string {
	msg := fmt.Sprintf("deal %s on %s: no template matches", e.DealID, e.Connection)
	misses := e.Misses()
	if len(misses) == 0 {
		return msg + " (no template has a selection rule: import one, or name a template)"
	}
	parts := make([]string, len(misses))
	for i, m := range misses {
		parts[i] = m.Template + ": " + m.Reason
	}
	return msg + " (" + strings.Join(parts, "; ") + ")"
}

// Is reports whether target is ErrNoTemplate.
func (e *NoMatchError) Is(target error) bool { return target == ErrNoTemplate }

// PlanConflictError is a change to a plan's structure (its phases, the set of its actions, its
// milestones) made against a version of the plan that is no longer current. It matches
// ErrConflict.
type PlanConflictError struct {
	// PlanID is the plan's id.
	PlanID string
	// Version is the plan version the caller read.
	Version int
	// Current is the plan's version now.
	Current int
}

// Error names the plan and both versions.
func (e *PlanConflictError) Error() string {
	return fmt.Sprintf("plan %s: version %d is stale, current is %d", e.PlanID, e.Version, e.Current)
}

// Is reports whether target is ErrConflict.
func (e *PlanConflictError) Is(target error) bool { return target == ErrConflict }

// StepError is a step an action's type does not take (acknowledging an approval, signing a
// form), or one its current state does not allow (approving an approved action). It matches
// ErrInvalid.
type StepError struct {
	// Type is the action's type.
	Type ActionType
	// Step is the step asked for.
	Step Step
	// Reason says why the step is refused, in lowercase.
	Reason string
}

// Error names the type, the step and why.
func (e *StepError) Error() string {
	return fmt.Sprintf("step: %s action cannot %s: %s", e.Type, e.Step, e.Reason)
}

// Is reports whether target is ErrInvalid.
func (e *StepError) Is(target error) bool { return target == ErrInvalid }

// ForbiddenError is a change the actor's side may not make, such as a buyer editing the plan's
// structure. It matches ErrForbidden.
type ForbiddenError struct {
	// Message says what is not allowed, in lowercase.
	Message string
}

// Error returns the message.
func (e *ForbiddenError) Error() string { return e.Message }

// Is reports whether target is ErrForbidden.
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }

// ErrForbidden marks a change the actor's side may not make (HTTP 403).
var ErrForbidden = errors.New("forbidden")
