package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mapsync/mapsync/sync/pull"
)

func init() {
	Register(Scenario{
		Name: "instantiate",
		Doc:  "plans/s for a 40-action template through the plan catch-up after a pull (target ≥ 500/s)",
		Run:  runInstantiate,
	})
}

// instantiateActions is the template's size the issue names.
const instantiateActions = 40

// instantiateTemplate is a plan template of 40 actions in 5 phases with every action type, due
// rules chained after earlier actions, milestones, an internal action and contact-role fills,
// chosen for every open deal: the shape of the enterprise example, exactly 40 actions.
func instantiateTemplate() []byte {
	var b strings.Builder
	b.WriteString(`key: bench-forty
name: Bench plan (40 actions)
description: The instantiate scenario's template.
conversation:
  name: "{{deal.name}} plan"
  welcome_message: "Hi {{buyer.first_name | \"there\"}}, here is our plan for {{deal.name}}. {{owner.name}}"
selection:
  rule: '!deal.is_closed'
  priority: 10
roles:
  - {key: seller_owner, label: Seller - Opp Owner, side: seller, fill: {from: deal_owner}}
  - {key: buyer_primary, label: Buyer - Primary, side: buyer, fill: {from: primary_contact}}
  - {key: decision_maker, label: Decision Maker, side: buyer, fill: {from: contact_roles, roles: [Decision Maker, Economic Buyer, Executive Sponsor]}}
phases:
`)
	types := []string{"task", "meeting", "acknowledgement", "approval", "file_request", "e_sign", "web_app", "task"}
	owners := []string{"seller_owner", "buyer_primary", "decision_maker"}
	n := 0
	for ph := range 5 {
		fmt.Fprintf(&b, "  - key: phase%d\n    name: Phase %d\n    actions:\n", ph+1, ph+1)
		for range instantiateActions / 5 {
			owner := owners[n%len(owners)]
			if n%10 == 3 {
				owner = "seller_owner" // internal actions are the seller's
			}
			fmt.Fprintf(&b, "      - key: a%d\n        title: Step %d of the plan\n        type: %s\n        owner: %s\n",
				n, n+1, types[n%len(types)], owner)
			if n == 0 {
				b.WriteString("        due: {from: plan_start, business_days: 2}\n")
			} else {
				fmt.Fprintf(&b, "        due: {after: a%d, business_days: 2}\n", n-1)
			}
			if n%8 == 7 {
				fmt.Fprintf(&b, "        milestone: Milestone %d\n", n/8+1)
			}
			if n%10 == 3 {
				b.WriteString("        internal: true\n")
			}
			n++
		}
	}
	return []byte(b.String())
}

// runInstantiate pulls the deals of the Salesforce sandbox (not timed), then times the catch-up
// that gives each open deal its plan from the 40-action template, as `sync run` and `serve` do
// after every pull.
func runInstantiate(ctx context.Context, env *Env) (Result, error) {
	var r Result
	deals := env.Scaled(5_000)
	st, err := env.Stack(ctx, StackOptions{Salesforce: true, Deals: deals})
	if err != nil {
		return r, err
	}
	defer st.Close()
	env.Progressf("pulling %d deals from the Salesforce sandbox (not timed)", deals)
	p, err := st.Puller(ctx, SalesforceConnection, nil)
	if err != nil {
		return r, err
	}
	if _, err := p.Run(ctx, pull.Request{Full: true, Trigger: "manual"}); err != nil {
		return r, fmt.Errorf("pull: %w", err)
	}
	if err := st.ImportTemplates(ctx, map[string][]byte{"bench-forty.yaml": instantiateTemplate()}); err != nil {
		return r, fmt.Errorf("template: %w", err)
	}
	in, err := st.Instantiator(ctx, SalesforceConnection)
	if err != nil {
		return r, err
	}
	env.Progressf("instantiating plans of %d actions", instantiateActions)
	start := time.Now()
	sum, err := in.CatchUp(ctx)
	took := time.Since(start)
	if err != nil {
		return r, fmt.Errorf("catch-up: %w", err)
	}
	if sum.Created == 0 {
		return r, fmt.Errorf("catch-up created no plan (%+v)", sum)
	}
	var stored int
	if err := st.Store().DB().GetContext(ctx, &stored, `SELECT COUNT(*) FROM plans`); err != nil {
		return r, err
	}
	if stored != sum.Created {
		return r, fmt.Errorf("catch-up reported %d plans, the store holds %d", sum.Created, stored)
	}
	r.Add(Figure{Key: "per_s", Value: float64(sum.Created) / took.Seconds(), Unit: "plans/s"}.AtLeast(500, "target"))
	r.Notef("%d deals evaluated, %d plans of %d actions created in %s (closed deals get none)",
		sum.Evaluated, sum.Created, instantiateActions, took.Round(time.Millisecond))
	return r, nil
}
