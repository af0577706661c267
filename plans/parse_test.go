package plans

import (
	"errors"
	"strings"
	"testing"
)

// validDoc is a small valid template; bad documents below are edits of it.
const validDoc = `key: small
name: Small
conversation:
  name: "{{deal.name}} plan"
  welcome_message: "Hi {{buyer.first_name}}"
selection:
  rule: '!deal.is_closed && deal.amount > 1000'
  priority: 10
roles:
  - key: owner
    label: Seller - Opp Owner
    side: seller
    fill: {from: deal_owner}
  - key: champion
    label: Champion
    side: buyer
    fill: {from: contact_roles, roles: [Champion]}
phases:
  - key: first
    name: First
    actions:
      - key: kickoff
        title: Kickoff
        type: meeting
        owner: owner
        due: {from: plan_start, business_days: 2}
      - key: review
        title: Review
        type: approval
        owner: champion
        due: {after: kickoff, days: 3}
`

func TestParseValid(t *testing.T) {
	t.Parallel()
	tpl, err := Parse([]byte(validDoc))
	if err != nil {
		t.Fatalf("Parse: got %v, want nil", err)
	}
	if got, want := tpl.ActionCount(), 2; got != want {
		t.Errorf("actions: got %d, want %d", got, want)
	}
	if got := tpl.Action("review").Due.After; got != "kickoff" {
		t.Errorf("review due after: got %q, want kickoff", got)
	}
	json := `{"key": "small", "name": "Small", "roles": [{"key": "owner", "label": "Owner", "side": "seller"}],
	  "phases": [{"key": "p", "name": "P", "actions": [{"key": "a", "title": "A", "type": "task", "owner": "owner"}]}]}`
	if _, err := Parse([]byte(json)); err != nil {
		t.Errorf("Parse JSON: got %v, want nil", err)
	}
}

func TestParseHashIgnoresFormattingAndVersion(t *testing.T) {
	t.Parallel()
	a, err := Parse([]byte(validDoc))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse([]byte("# a comment\n" + strings.ReplaceAll(validDoc, "{from: plan_start, business_days: 2}", "\n          from: plan_start\n          business_days: 2")))
	if err != nil {
		t.Fatal(err)
	}
	b.Version = 7
	if a.Hash() != b.Hash() {
		t.Errorf("hash: got different hashes for the same content, want equal")
	}
	b.Phases[0].Actions[0].Title = "Kick-off"
	if a.Hash() == b.Hash() {
		t.Errorf("hash: got equal hashes after a title change, want different")
	}
}

func TestParseBadDocuments(t *testing.T) {
	t.Parallel()
	replace := func(old, new string) string {
		if !strings.Contains(validDoc, old) {
			panic("test document does not contain " + old)
		}
		return strings.Replace(validDoc, old, new, 1)
	}
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"unknown action in due rule", replace("after: kickoff", "after: kick_off"),
			[]string{`phases[0].actions[1].due.after: unknown action "kick_off" (line 31)`}},
		{"due after itself", replace("after: kickoff", "after: review"),
			[]string{`phases[0].actions[1].due.after: action cannot be due after itself`}},
		{"cycle", replace("due: {from: plan_start, business_days: 2}", "due: {after: review}"),
			[]string{`phases[0].actions[0].due.after: due rules form a cycle: kickoff -> review -> kickoff (line 26)`}},
		{"duplicate action key", replace("key: review", "key: kickoff"),
			[]string{`phases[0].actions[1].key: duplicate action "kickoff" (first at phases[0].actions[0]) (line 27)`}},
		{"duplicate role key", replace("key: champion", "key: owner"),
			[]string{`roles[1].key: duplicate role "owner" (line 14)`}},
		{"unknown owner role", replace("owner: champion", "owner: economic_buyer"),
			[]string{`phases[0].actions[1].owner: unknown role "economic_buyer" (line 30)`}},
		{"missing title", replace("        title: Review\n", ""),
			[]string{`phases[0].actions[1].title: required (line 27)`}},
		{"unknown type", replace("type: approval", "type: signature"),
			[]string{`phases[0].actions[1].type: unknown type "signature"`}},
		{"missing type", replace("        type: approval\n", ""),
			[]string{`phases[0].actions[1].type: required`}},
		{"unknown field", replace("title: Review", "titel: Review"),
			[]string{`phases[0].actions[1].titel: unknown field (line 28)`}},
		{"wrong scalar type", replace("days: 3", `days: three`),
			[]string{`phases[0].actions[1].due.days: want an integer, got "three" (line 31)`}},
		{"mapping where list wanted", replace("roles: [Champion]", "roles: {a: b}"),
			[]string{`roles[1].fill.roles: want a list, got a mapping (line 17)`}},
		{"syntax error in rule", replace("deal.amount > 1000", "deal.amount >"),
			[]string{`selection.rule: unexpected token EOF`, "(line 7)"}},
		{"unknown variable in rule", replace("deal.amount > 1000", "deal.amont > 1000"),
			[]string{`selection.rule: type plans.RuleDeal has no field amont`}},
		{"rule not a bool", replace("'!deal.is_closed && deal.amount > 1000'", "deal.amount"),
			[]string{`selection.rule: expected bool, but got float64`}},
		{"now() builtin disabled", replace("deal.amount > 1000", "now() > deal.close_date"),
			[]string{`selection.rule:`}},
		{"unknown placeholder", replace("{{deal.name}} plan", "{{deal.title}} plan"),
			[]string{`conversation.name: unknown placeholder {{deal.title}} (line 4)`}},
		{"unknown anchor", replace("from: plan_start", "from: kickoff_date"),
			[]string{`phases[0].actions[0].due.from: unknown anchor "kickoff_date" (want plan_start or close_date)`}},
		{"from and after", replace("from: plan_start,", "from: plan_start, after: review,"),
			[]string{`phases[0].actions[0].due: from and after are exclusive`}},
		{"days and business days", replace("days: 3", "days: 3, business_days: 1"),
			[]string{`phases[0].actions[1].due: days and business_days are exclusive`}},
		{"contact roles without roles", replace("fill: {from: contact_roles, roles: [Champion]}", "fill: {from: contact_roles}"),
			[]string{`roles[1].fill.roles: required for contact_roles`}},
		{"deal owner on buyer side", replace("fill: {from: contact_roles, roles: [Champion]}", "fill: {from: deal_owner}"),
			[]string{`roles[1].fill.from: deal_owner fills seller roles only`}},
		{"unknown side", replace("side: buyer", "side: customer"),
			[]string{`roles[1].side: unknown side "customer"`}},
		{"internal action owned by buyer", replace("owner: champion", "owner: champion\n        internal: true"),
			[]string{`phases[0].actions[1].owner: internal action owned by buyer role "champion"`}},
		{"form without questions", replace("type: approval", "type: form"),
			[]string{`phases[0].actions[1].questions: required for a form`}},
		{"choice without options", replace("type: approval", "type: form\n        questions: [{key: q, text: Q, kind: single_choice}]"),
			[]string{`phases[0].actions[1].questions[0].options: want at least two options for single_choice`}},
		{"questions on a task", replace("type: approval", "type: task\n        questions: [{key: q, text: Q, kind: text}]"),
			[]string{`phases[0].actions[1].questions: only form actions have questions`}},
		{"bad key", replace("key: small", "key: Small Plan"),
			[]string{`key: invalid key "Small Plan"`}},
		{"no phases", validDoc[:strings.Index(validDoc, "phases:")],
			[]string{`phases: required: at least one phase`}},
		{"not yaml", "key: [unclosed", []string{"parse: yaml"}},
		{"duplicate field", replace("        type: approval\n", "        type: approval\n        type: task\n"),
			[]string{"phases[0].actions[1].type: duplicate field (first at line 29) (line 30)"}},
		{"every problem at once", replace("title: Review\n        type: approval", "type: bogus"),
			[]string{"phases[0].actions[1].title: required", `phases[0].actions[1].type: unknown type "bogus"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse: got nil, want an error containing %q", tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid): got false, want true")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got error:\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}
