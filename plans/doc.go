// Package plans is the mutual action plan domain: templates, selection rules, instantiation,
// the action state machine, progress and milestones, and the events every change records.
// It is pure logic: values in, values and events out, with the clock passed in.
package plans
