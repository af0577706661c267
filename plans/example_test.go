package plans_test

import (
	"fmt"
	"time"

	"github.com/mapsync/mapsync/plans"
)

// Example parses a template, picks it for a deal, makes the plan and completes its first action.
func Example() {
	tpl, err := plans.Parse([]byte(`
key: quick
name: Quick plan
conversation: {name: "{{deal.name}} plan"}
selection: {rule: '!deal.is_closed && deal.amount >= 1000', priority: 10}
roles:
  - {key: owner, label: Seller - Opp Owner, side: seller, fill: {from: deal_owner}}
  - {key: buyer, label: Buyer - Primary, side: buyer, fill: {from: primary_contact}}
phases:
  - key: main
    name: Main
    actions:
      - {key: call, title: Discovery call, type: meeting, owner: owner, due: {from: plan_start, business_days: 1}}
      - {key: sign, title: Sign, type: e_sign, owner: buyer, due: {after: call, business_days: 5}, milestone: Signed}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	sel, err := plans.NewSelector([]*plans.Template{tpl})
	if err != nil {
		fmt.Println(err)
		return
	}
	deal := plans.Deal{
		ConnectionName: "sf", CRM: "salesforce", ID: "006X", Name: "Acme - Platform", Amount: 5000,
		Owner:    &plans.Person{ID: "005A", Name: "Sam Seller", Email: "sam@vendor.test"},
		Contacts: []plans.DealContact{{ContactID: "003B", Name: "Bea Buyer", Email: "bea@acme.test", Primary: true}},
	}
	friday := time.Date(2025, 3, 7, 16, 0, 0, 0, time.UTC)
	chosen, err := sel.Select(deal, friday)
	if err != nil {
		fmt.Println(err)
		return
	}
	plan, _, err := plans.Instantiate(chosen, deal, friday, time.UTC)
	if err != nil {
		fmt.Println(err)
		return
	}
	call, sign := plan.ActionByKey("call"), plan.ActionByKey("sign")
	fmt.Println(plan.Name)
	fmt.Println("call due", call.Due, "sign due", sign.Due, "provisional", sign.DueProvisional)

	done := plans.StatusDone
	tuesday := friday.AddDate(0, 0, 4)
	by := plans.Change{By: plans.Actor{ID: "sam", Side: plans.SideSeller}, At: tuesday}
	events, err := plan.UpdateAction(by, call.ID, plans.ActionPatch{Version: call.Version, Status: &done})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range events {
		fmt.Println(e.Type, e.Before, "->", e.After)
	}
	pr := plan.Progress(tuesday)
	fmt.Println(pr.PercentComplete, pr.Status, pr.NextActionTitle)
	// Output:
	// Acme - Platform plan
	// call due 2025-03-10 sign due 2025-03-17 provisional true
	// action.status_changed not_started -> done
	// action.due_recomputed 2025-03-17 -> 2025-03-18
	// 50 on_track Sign
}
