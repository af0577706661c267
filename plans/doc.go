// Package plans is the mutual action plan domain: templates, selection rules, instantiation,
// the action state machine, progress and milestones, and the events every change records.
// Its operations are pure logic: values in, values and events out, with the clock passed in.
// It imports nothing of mapsync's; the store implements its Store interface, and Service changes
// stored plans through it.
//
// # Templates
//
// A Template is a YAML or JSON document (see examples/templates): key, name, conversation name and
// welcome message with {{deal.name}}-style placeholders (see Placeholders), roles with the side
// they sit on and how the CRM fills them, phases of actions, and a selection rule. Parse decodes
// and validates a document, reporting every problem with its path and line:
//
//	phases[1].actions[2].due.after: unknown action "kickoff" (line 34)
//
// Paths count list indexes from 0. Template.Hash identifies the content, so the store can create a
// new version only when an imported template changed; a plan keeps the version it was made from.
//
// # Selection rules
//
// A template's selection rule is an expr-lang expression returning a bool, compiled against
// RuleEnv:
//
//	deal.id, deal.name, deal.account, deal.stage, deal.pipeline, deal.type   string
//	deal.amount                                                              float64
//	deal.close_date                                                          time (midnight UTC; zero if unknown)
//	deal.is_closed, deal.is_won                                              bool
//	deal.owner_id                                                            string
//	deal.contact_roles                                                       []string
//	deal.fields["Custom__c"]                                                 any CRM field by its CRM name (nil if missing)
//	connection                                                               string, the connection name
//	crm                                                                      "salesforce" or "hubspot"
//	now                                                                      time, passed in (the builtin now() is disabled)
//
// A Selector orders matching templates by priority, highest first. The default example template
// has priority 0 and the rule !deal.is_closed, so every open deal gets a plan.
//
// # Instantiation
//
// Instantiate makes a plan from a template for a deal: members from the roles' fill rules, each
// action assigned to the first member of its owner role (or left with the role, with a warning
// event), due dates computed in the connection's time zone. Due rules count days or business days
// (Monday to Friday) from plan_start, the deal's close date, or another action's completion; an
// action due after another is provisional, counted from the anchor's due date, until the anchor
// is done or skipped. Dates are calendar days (Date); an action is overdue once its due day has
// ended in the plan's zone, however long daylight saving makes that day. The plan's id is
// PlanID(connection, deal, template), deterministic, so racing creators collide on one key.
//
// # Actions
//
// An action's status moves along these transitions (CanTransition); anything else is a
// *TransitionError:
//
//	not_started <-> in_progress          either -> done, blocked, skipped
//	blocked -> not_started, in_progress, skipped  (unblock before done)
//	done, skipped -> in_progress, not_started     (reopen)
//
// Operations are methods on *Plan taking a Change (who and when) and returning the events they
// record. Each checks everything before it changes anything: on error the plan is unchanged.
// Each action has a Version that increments on every change to it; UpdateAction and MoveAction
// take the version the caller read and return a *ConflictError when it is stale. Buyer-side
// actors do not see internal actions (they are not found) and cannot write internal comments.
//
// # Progress
//
// Plan.Progress is the read model the mapping layer pushes to the CRM: percent complete (overall
// and as the buyer sees it, skipped actions out of the denominator), the next action, overdue
// count, milestones reached, and a status by the rule documented there.
//
// # Persistence
//
// Store declares what Service needs. Service is the one way every caller (the HTTP API, the
// demo, the push pipeline, web pages) changes a stored plan: Service.Change loads the plan,
// applies an Op (a wrapped *Plan operation) with a Change stamped by its clock, then calls
// Store.UpdatePlan with the plan version read; the store writes the plan, its events and the
// CRM projection mark in one transaction, or reports ErrConflict, and Service reloads and
// reapplies (DefaultRetries times, then ErrBusy). Service.CreatePlan and Service.SaveAsTemplate
// make plans and templates the same way.
package plans
