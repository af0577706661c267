// Package mapping compiles admin-written mappings (CRM field <- expression over deal and plan),
// type-checks them against CRM field metadata, coerces values per CRM and diffs them against what
// was last pushed. It is pure: values in, values out, with now passed in; it does no I/O.
//
// # From configuration to a write
//
// A connection's `push:` section decodes into a Spec (YAML, field order kept, every problem
// recorded with its line). Compile validates it and compiles every expression once with the
// expr-lang setup template rules share (plans.CompileExpr). Then, per deal:
//
//	env := mapping.NewEnv(dealFields, mainPlan, plansByTemplate, now, publicURL)
//	desired, _ := m.Evaluate(env)                // one Desired per field, Skip set for when/no plan/errors
//	desired = mapping.CoerceAll(desired, meta)    // CRM form (string, float64, bool, nil) or SkipInvalid
//	diffs := mapping.Diff(desired, lastPushed, crmCurrent, m.KeepCRMEdits())
//	change := connectors.Change{ID: dealID, Fields: diffs.Changes()} // nil Fields: nothing to write
//
// Store diffs.Changes() merged into lastPushed after the CRM accepted them; report
// diffs.Invalid() as per-record errors.
//
// # Checking against the CRM
//
// Check matches a compiled Mapping with the CRM's field metadata (connectors.FieldMeta from
// Describe): the field exists and is updateable, the expression's static type fits the field's
// type, a restricted picklist allows every constant the expression can produce, and a constant
// string fits the field's length.
//
// # Expressions
//
// Expressions read deal.X (the deal's CRM fields), plan (PlanView: status, percent_complete,
// next_action, milestones["Name"].reached_at, url, ...) and now, and may call date, datetime,
// truncate, join and coalesce. See Env and PlanView for every name. An expression holding ": "
// must be quoted in YAML (a plain scalar would read as a key).
package mapping
