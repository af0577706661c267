package bench

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/mapsync/mapsync/examples/templates"
	"github.com/mapsync/mapsync/sync/pull"
	"github.com/mapsync/mapsync/sync/push"
)

func init() {
	Register(Scenario{
		Name: "push",
		Doc:  "10,000 changed plans to each CRM: write calls against the minimum batches (200 Salesforce, 100 HubSpot), seconds, 429s; 10,000 unchanged: zero write calls",
		Run:  runPush,
	})
}

// pushPlans is the size: changed plans per CRM.
const pushPlans = 10_000

// runPush pulls each sandbox and gives its open deals their plans from the example templates
// (not timed), then times one push of every plan with fields to write (write calls against
// ceil(plans / batch)), and one push of the same plans marked again with nothing changed (0 write
// calls expected).
func runPush(ctx context.Context, env *Env) (Result, error) {
	var r Result
	want := env.Scaled(pushPlans)
	// About two thirds of the sandbox deals are open and get a plan.
	deals := int(math.Ceil(float64(want) * 1.5))
	st, err := env.Stack(ctx, StackOptions{Deals: deals})
	if err != nil {
		return r, err
	}
	defer st.Close()
	docs := map[string][]byte{}
	err = fs.WalkDir(templates.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		data, err := templates.FS.ReadFile(path)
		docs[path] = data
		return err
	})
	if err != nil {
		return r, err
	}
	if err := st.ImportTemplates(ctx, docs); err != nil {
		return r, fmt.Errorf("templates: %w", err)
	}
	p, err := st.Pusher(ctx)
	if err != nil {
		return r, err
	}
	for _, c := range []struct {
		name, key string
		batch     int
		writes    func() int
		limited   func() int
	}{
		{SalesforceConnection, "salesforce", 200, func() int { return sfCount(st, http.MethodPatch, 0) }, func() int { return sfCount(st, "", 429) + sfCount(st, "", 403) }},
		{HubSpotConnection, "hubspot", 100, func() int { return hsCount(st, "/batch/update", 0) }, func() int { return hsCount(st, "", 429) }},
	} {
		env.Progressf("%s: pulling %d deals and making their plans (not timed)", c.key, deals)
		if err := st.PullAndInstantiate(ctx, c.name, pull.Request{Full: true, Trigger: "manual"}); err != nil {
			return r, fmt.Errorf("%s: pull: %w", c.key, err)
		}
		var planned []string
		db := st.Store().DB()
		if err := db.SelectContext(ctx, &planned, db.Rebind(`SELECT DISTINCT deal_id FROM plans WHERE connection = ? ORDER BY deal_id`), c.name); err != nil {
			return r, err
		}
		if len(planned) > want {
			// Exactly the number: the others' marks are finished by a push first.
			if _, err := p.Push(ctx, c.name, push.Options{}); err != nil {
				return r, fmt.Errorf("%s: first push: %w", c.key, err)
			}
			planned = planned[:want]
			if _, err := db.ExecContext(ctx, db.Rebind(`DELETE FROM push_state WHERE connection = ?`), c.name); err != nil {
				return r, err
			}
			if _, err := st.Store().MarkDealPlans(ctx, c.name, planned); err != nil {
				return r, err
			}
		}
		env.Progressf("%s: pushing %d changed plans", c.key, len(planned))
		w0, l0 := c.writes(), c.limited()
		start := time.Now()
		sum, err := p.Push(ctx, c.name, push.Options{})
		took := time.Since(start)
		if err != nil {
			return r, fmt.Errorf("%s: push: %w", c.key, err)
		}
		if sum.Written != len(planned) {
			return r, fmt.Errorf("%s: %d of %d deals written (%+v)", c.key, sum.Written, len(planned), sum)
		}
		calls, minCalls := c.writes()-w0, int(math.Ceil(float64(len(planned))/float64(c.batch)))
		r.Add(Figure{Key: c.key + "_write_calls", Value: float64(calls), Unit: "calls"}.AtMost(float64(minCalls), "minimum batches"))
		r.Add(Figure{Key: c.key + "_min_calls", Value: float64(minCalls), Unit: "calls"}.Limit(fmt.Sprintf("ceil(%d / %d)", len(planned), c.batch)))
		r.Add(Figure{Key: c.key + "_seconds", Value: took.Seconds(), Unit: "s"})
		r.Add(Figure{Key: c.key + "_429s", Value: float64(c.limited() - l0), Unit: "responses"})

		if _, err := st.Store().MarkDealPlans(ctx, c.name, planned); err != nil {
			return r, err
		}
		w0 = c.writes()
		env.Progressf("%s: pushing %d unchanged plans", c.key, len(planned))
		sum, err = p.Push(ctx, c.name, push.Options{})
		if err != nil {
			return r, fmt.Errorf("%s: unchanged push: %w", c.key, err)
		}
		if sum.Unchanged != len(planned) {
			return r, fmt.Errorf("%s: %d of %d deals unchanged (%+v)", c.key, sum.Unchanged, len(planned), sum)
		}
		r.Add(Figure{Key: c.key + "_unchanged_write_calls", Value: float64(c.writes() - w0), Unit: "calls"}.AtMost(0, "target"))
		r.Notef("%s: %d plans written in %d calls (%s), then %d unchanged", c.key, len(planned), calls, took.Round(time.Millisecond), len(planned))
	}
	return r, nil
}

// sfCount counts the Salesforce sandbox's answered requests with method (any when "") and status
// (any when 0).
func sfCount(st Stack, method string, status int) int {
	n := 0
	for _, c := range st.Salesforce().Counters() {
		if (method == "" || c.Method == method) && (status == 0 || c.Status == status) {
			n += int(c.Count)
		}
	}
	return n
}

// hsCount counts the HubSpot sandbox's answered requests whose endpoint ends with suffix (any
// when "") and status (any when 0).
func hsCount(st Stack, suffix string, status int) int {
	n := 0
	for _, c := range st.HubSpot().Counts() {
		if strings.HasSuffix(c.Endpoint, suffix) && (status == 0 || c.Status == status) {
			n += c.N
		}
	}
	return n
}
