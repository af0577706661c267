package plans

import (
	"fmt"
	"testing"
	"time"
)

// planDoc is the template most tests instantiate.
const planDoc = `key: test-plan
name: Test plan
description: For tests.
conversation:
  name: "{{deal.account}}: {{deal.name}}"
  welcome_message: "Hi {{buyer.first_name}}, {{owner.first_name}} here. Close: {{deal.close_date}}. Tier {{deal.fields.Tier__c}}."
selection:
  rule: '!deal.is_closed'
roles:
  - {key: owner, label: Seller - Opp Owner, side: seller, fill: {from: deal_owner}}
  - {key: champion, label: Champion, side: buyer, fill: {from: contact_roles, roles: [Champion]}}
  - {key: primary, label: Buyer - Primary, side: buyer, fill: {from: primary_contact}}
  - {key: legal, label: Buyer Legal, side: buyer}
phases:
  - key: pre
    name: Pre-sales
    actions:
      - {key: kickoff, title: Kickoff, type: meeting, owner: owner, due: {from: plan_start, days: 1}, milestone: Started, sub_tasks: [Agenda, Recap]}
      - {key: review, title: Review, type: approval, owner: champion, due: {after: kickoff, business_days: 3}, milestone: Started}
      - {key: forecast, title: Forecast call, type: task, owner: owner, internal: true, due: {after: review, days: 2}}
  - key: buy
    name: Buying
    actions:
      - key: questionnaire
        title: Questionnaire
        type: form
        owner: primary
        due: {from: plan_start, business_days: 5}
        questions:
          - {key: users, text: Users, kind: number, required: true}
          - {key: crm, text: CRM, kind: single_choice, options: [Salesforce, HubSpot]}
          - {key: tools, text: Tools, kind: multi_choice, options: [Slack, Teams, Okta]}
          - {key: sso, text: "SSO?", kind: yes_no}
      - {key: redlines, title: Redlines, type: file_request, owner: legal, due: {from: close_date, business_days: -5}}
      - {key: sign, title: Sign, type: e_sign, owner: primary, due: {from: close_date}, milestone: Signed}
  - key: onboard
    name: Onboarding
    actions:
      - {key: onboarding, title: Onboarding kickoff, type: meeting, owner: owner, due: {after: sign, days: 1}}
`

func testTemplate(t testing.TB) *Template {
	t.Helper()
	tpl, err := Parse([]byte(planDoc))
	if err != nil {
		t.Fatalf("parse test template: %v", err)
	}
	tpl.Version = 3
	return tpl
}

func testDeal() Deal {
	return Deal{
		ConnectionName: "sf", CRM: "salesforce", ID: "006A", Name: "Acme - Platform", Account: "Acme",
		Stage: "Needs Analysis", Pipeline: "default", Type: "New Business", Amount: 120000,
		CloseDate: Date{2025, time.April, 30}, Fields: map[string]any{"Tier__c": "Gold"},
		OwnerID: "005O", Owner: &Person{ID: "005O", Name: "Sam Seller", Email: "sam@vendor.test"},
		Contacts: []DealContact{
			{ContactID: "003A", Name: "Alice Ames", Email: "alice@acme.test", Role: "Champion"},
			{ContactID: "003B", Name: "Bob Brown", Email: "bob@acme.test", Role: "Evaluator", Primary: true},
			{ContactID: "003C", Name: "Carol Cole", Email: "carol@acme.test", Role: "champion "},
		},
	}
}

// seqIDs returns an id generator yielding id-1, id-2, ...
func seqIDs() func() string {
	n := 0
	return func() string {
		n++
		return fmt.Sprintf("id-%d", n)
	}
}

// fixture is a plan made from the test template on Friday 2025-03-07 at 10:00 in New York.
type fixture struct {
	plan   *Plan
	events []Event
	loc    *time.Location
	start  time.Time
	ids    func() string
}

func setup(t testing.TB) *fixture {
	t.Helper()
	loc := mustLoc(t, "America/New_York")
	start := time.Date(2025, 3, 7, 10, 0, 0, 0, loc)
	ids := seqIDs()
	p, events, err := InstantiateBy(testTemplate(t), testDeal(), Change{By: System(), At: start, NewID: ids}, loc)
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	return &fixture{plan: p, events: events, loc: loc, start: start, ids: ids}
}

// seller and buyer are actors at a time.
func (f *fixture) seller(at time.Time) Change {
	return Change{By: Actor{ID: "u1", Name: "Sam Seller", Side: SideSeller}, At: at, NewID: f.ids}
}

func (f *fixture) buyer(at time.Time) Change {
	return Change{By: Actor{ID: "u2", Name: "Bob Brown", Side: SideBuyer}, At: at, NewID: f.ids}
}

func (f *fixture) action(t testing.TB, key string) *Action {
	t.Helper()
	a := f.plan.ActionByKey(key)
	if a == nil {
		t.Fatalf("no action %q", key)
	}
	return a
}

// day returns the time at hour:00 on the given day in New York.
func (f *fixture) day(t testing.TB, s string, hour int) time.Time {
	t.Helper()
	d := mustDate(t, s)
	return time.Date(d.Year, d.Month, d.Day, hour, 0, 0, 0, f.loc)
}

func ptr[T any](v T) *T { return &v }

func setStatusOf(t testing.TB, f *fixture, c Change, key string, s Status) []Event {
	t.Helper()
	a := f.action(t, key)
	ev, err := f.plan.UpdateAction(c, a.ID, ActionPatch{Version: a.Version, Status: &s})
	if err != nil {
		t.Fatalf("set %s to %s: %v", key, s, err)
	}
	return ev
}

func eventTypes(events []Event) []EventType {
	out := make([]EventType, len(events))
	for i, e := range events {
		out[i] = e.Type
	}
	return out
}
