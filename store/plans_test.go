package store_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// Both plans.Store and its parts are satisfied by the store.
var _ plans.Store = (*store.Store)(nil)

// planTemplateDoc is a small template: two phases, three actions, a seller and a buyer role.
const planTemplateDoc = `key: small
name: Small plan
conversation: {name: "{{deal.name}} plan"}
selection: {rule: '!deal.is_closed'}
roles:
  - {key: owner, label: Seller - Opp Owner, side: seller, fill: {from: deal_owner}}
  - {key: buyer, label: Buyer - Primary, side: buyer, fill: {from: primary_contact}}
  - {key: legal, label: Buyer Legal, side: buyer}
phases:
  - key: main
    name: Main
    actions:
      - {key: call, title: Discovery call, type: meeting, owner: owner, due: {from: plan_start, business_days: 1}}
      - {key: sign, title: Sign, type: e_sign, owner: buyer, due: {after: call, business_days: 5}, milestone: Signed}
  - key: after
    name: After
    actions:
      - {key: redlines, title: Redlines, type: file_request, owner: legal, due: {from: plan_start, days: 10}}
`

var planStart = time.Date(2026, 3, 6, 15, 0, 0, 0, time.UTC)

func parseTemplate(t testing.TB, doc string) *plans.Template {
	t.Helper()
	tpl, err := plans.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("parse template: %v", err)
	}
	tpl.Version = 1
	return tpl
}

func enterpriseTemplate(t testing.TB) *plans.Template {
	t.Helper()
	data, err := os.ReadFile("../examples/templates/enterprise-new-business.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return parseTemplate(t, string(data))
}

// planDeal is a deal on connection conn owned by ownerID.
func planDeal(conn, id, ownerID string) plans.Deal {
	return plans.Deal{
		ConnectionName: conn, CRM: "salesforce", ID: id, Name: "Deal " + id, Account: "Acme",
		Stage: "Needs Analysis", Pipeline: "default", Type: "New Business", Amount: 150000,
		CloseDate: plans.Date{Year: 2026, Month: time.June, Day: 30},
		OwnerID:   ownerID,
		Owner:     &plans.Person{ID: ownerID, Name: "Sam Seller", Email: "Sam." + ownerID + "@Vendor.test"},
		Contacts: []plans.DealContact{
			{ContactID: "003A" + id, Name: "Bea Buyer", Email: "bea@acme.test", Role: "Champion", Primary: true},
		},
	}
}

func instantiate(t testing.TB, tpl *plans.Template, d plans.Deal) (*plans.Plan, []plans.Event) {
	t.Helper()
	p, events, err := instantiateE(tpl, d)
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	return p, events
}

// instantiateE makes the plan of d at planStart in UTC; safe off the test goroutine.
func instantiateE(tpl *plans.Template, d plans.Deal) (*plans.Plan, []plans.Event, error) {
	return plans.Instantiate(tpl, d, planStart, time.UTC)
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func createPlan(t testing.TB, s *store.Store, p *plans.Plan, events []plans.Event) *plans.Plan {
	t.Helper()
	stored, created, err := s.CreatePlan(context.Background(), p, events)
	if err != nil {
		t.Fatalf("create plan: %v", err)
	}
	if !created {
		t.Fatalf("create plan %s: created false, want true", p.ID)
	}
	return stored
}

// setStatus changes an action's status as a seller and returns the events.
func setStatus(t testing.TB, p *plans.Plan, key string, st plans.Status, at time.Time) []plans.Event {
	t.Helper()
	a := p.ActionByKey(key)
	by := plans.Change{By: plans.Actor{ID: "u1", Name: "Sam Seller", Side: plans.SideSeller}, At: at}
	events, err := p.UpdateAction(by, a.ID, plans.ActionPatch{Version: a.Version, Status: &st})
	if err != nil {
		t.Fatalf("set %s to %s: %v", key, st, err)
	}
	return events
}

func isBoth(err, storeSentinel, planSentinel error) bool {
	return errors.Is(err, storeSentinel) && errors.Is(err, planSentinel)
}

func TestImportTemplateVersions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		tpl := parseTemplate(t, planTemplateDoc)
		tpl.Version = 0
		steps := []struct {
			name        string
			change      func(*plans.Template)
			wantVersion int
			wantCreated bool
		}{
			{"new key", func(*plans.Template) {}, 1, true},
			{"same content", func(*plans.Template) {}, 1, false},
			{"version field is not content", func(t *plans.Template) { t.Version = 7 }, 1, false},
			{"changed", func(t *plans.Template) { t.Name = "Small plan v2" }, 2, true},
			{"changed again", func(t *plans.Template) { t.Phases[0].Actions[0].Title = "Intro call" }, 3, true},
			{"re-import of latest", func(*plans.Template) {}, 3, false},
		}
		for _, st := range steps {
			st.change(tpl)
			v, created, err := s.ImportTemplate(ctx, tpl)
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if v != st.wantVersion || created != st.wantCreated {
				t.Errorf("%s: got version %d created %v, want %d %v", st.name, v, created, st.wantVersion, st.wantCreated)
			}
		}
		other := parseTemplate(t, planTemplateDoc)
		other.Key, other.Name = "another", "Another"
		if v, created, err := s.ImportTemplate(ctx, other); err != nil || v != 1 || !created {
			t.Fatalf("import another: got %d %v %v, want 1 true nil", v, created, err)
		}

		latest, err := s.Template(ctx, "small", 0)
		if err != nil {
			t.Fatal(err)
		}
		if latest.Version != 3 || latest.Phases[0].Actions[0].Title != "Intro call" {
			t.Errorf("latest: got version %d title %q, want 3 %q", latest.Version, latest.Phases[0].Actions[0].Title, "Intro call")
		}
		if latest.Hash() != tpl.Hash() {
			t.Errorf("latest hash changed in the round trip")
		}
		v1, err := s.Template(ctx, "small", 1)
		if err != nil {
			t.Fatal(err)
		}
		if v1.Version != 1 || v1.Name != "Small plan" {
			t.Errorf("version 1: got %d %q, want 1 %q", v1.Version, v1.Name, "Small plan")
		}
		for _, q := range []struct {
			key string
			v   int
		}{{"small", 4}, {"nope", 0}} {
			if _, err := s.Template(ctx, q.key, q.v); !isBoth(err, store.ErrNotFound, plans.ErrNotFound) {
				t.Errorf("template %s v%d: got %v, want not found", q.key, q.v, err)
			}
		}

		all, err := s.Templates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range all {
			got = append(got, fmt.Sprintf("%s@%d", x.Key, x.Version))
		}
		if want := []string{"another@1", "small@3"}; !slices.Equal(got, want) {
			t.Errorf("templates: got %v, want %v", got, want)
		}

		bad := parseTemplate(t, planTemplateDoc)
		bad.Phases[0].Actions[0].Owner = "nobody"
		if _, _, err := s.ImportTemplate(ctx, bad); !errors.Is(err, plans.ErrInvalid) {
			t.Errorf("invalid template: got %v, want plans.ErrInvalid", err)
		}
	})
}

// TestImportTemplateRace imports on separate connections at once: the same new content from 8
// importers gives one version 1; 6 different contents give 6 distinct versions.
func TestImportTemplateRace(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := t.Context()

	same := parseTemplate(t, planTemplateDoc)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
		errs    []error
	)
	start := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			<-start
			v, c, err := s.ImportTemplate(ctx, same)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			if v != 1 {
				errs = append(errs, fmt.Errorf("got version %d, want 1", v))
			}
			if c {
				created++
			}
		})
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 || created != 1 {
		t.Fatalf("same content: got %d created, errors %v; want 1 created, no error", created, errs)
	}

	versions := map[int]bool{}
	start = make(chan struct{})
	for i := range 6 {
		tpl := parseTemplate(t, planTemplateDoc)
		tpl.Name = fmt.Sprintf("Variant %d", i)
		wg.Go(func() {
			<-start
			v, c, err := s.ImportTemplate(ctx, tpl)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || !c {
				errs = append(errs, fmt.Errorf("variant %d: version %d created %v: %v", i, v, c, err))
				return
			}
			versions[v] = true
		})
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("variants: %v", errs)
	}
	for v := 2; v <= 7; v++ {
		if !versions[v] {
			t.Errorf("variants: got versions %v, want 2..7 once each", versions)
		}
	}
}

func TestCreatePlan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		tpl := parseTemplate(t, planTemplateDoc)
		p, events := instantiate(t, tpl, planDeal("sf", "006A", "005O"))
		want := mustJSON(t, p)

		stored := createPlan(t, s, p, events)
		if stored.ID != p.ID {
			t.Errorf("stored id: got %s, want %s", stored.ID, p.ID)
		}
		got, err := s.Plan(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if g := mustJSON(t, got); g != want {
			t.Errorf("plan round trip:\n got %s\nwant %s", g, want)
		}
		byDeal, err := s.PlanFor(ctx, "sf", "006A", "small")
		if err != nil || byDeal.ID != p.ID {
			t.Fatalf("plan for deal: got %v %v, want %s", byDeal, err, p.ID)
		}

		// A second creation for the same deal and template writes nothing and returns the first.
		again, events2 := instantiate(t, tpl, planDeal("sf", "006A", "005O"))
		again.Name = "Other name"
		stored, created, err := s.CreatePlan(ctx, again, events2)
		if err != nil || created {
			t.Fatalf("second create: got created %v err %v, want false nil", created, err)
		}
		if stored.Name != p.Name || mustJSON(t, stored) != want {
			t.Errorf("second create: got plan named %q, want the stored %q", stored.Name, p.Name)
		}
		evs, err := s.Events(ctx, p.ID, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != len(events) {
			t.Errorf("events after second create: got %d, want %d (the first creation's)", len(evs), len(events))
		}

		// Same deal, another template: another plan.
		tpl2 := parseTemplate(t, planTemplateDoc)
		tpl2.Key = "small-2"
		p2, ev2 := instantiate(t, tpl2, planDeal("sf", "006A", "005O"))
		createPlan(t, s, p2, ev2)

		// An id taken by another (connection, deal, template) is a conflict, not that plan.
		p3, ev3 := instantiate(t, tpl, planDeal("sf", "006B", "005O"))
		p3.ID = p.ID
		if _, _, err := s.CreatePlan(ctx, p3, ev3); !isBoth(err, store.ErrConflict, plans.ErrConflict) {
			t.Errorf("taken id: got %v, want conflict", err)
		}

		for name, get := range map[string]func() error{
			"plan":     func() error { _, err := s.Plan(ctx, "nope"); return err },
			"plan for": func() error { _, err := s.PlanFor(ctx, "sf", "006Z", "small"); return err },
			"events":   func() error { _, err := s.Events(ctx, "nope", "", 10); return err },
			"append":   func() error { return s.AppendEvents(ctx, "nope", events[:1]) },
		} {
			if err := get(); !isBoth(err, store.ErrNotFound, plans.ErrNotFound) {
				t.Errorf("%s of unknown plan: got %v, want not found", name, err)
			}
		}
	})
}

func TestUpdatePlanCompareAndSwap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p, events := instantiate(t, parseTemplate(t, planTemplateDoc), planDeal("sf", "006A", "005O"))
		createPlan(t, s, p, events)

		// Two writers read version 1; the first to write wins.
		a, _ := s.Plan(ctx, p.ID)
		b, _ := s.Plan(ctx, p.ID)
		evA := setStatus(t, a, "call", plans.StatusInProgress, planStart.Add(time.Hour))
		if err := s.UpdatePlan(ctx, a, 1, evA); err != nil {
			t.Fatalf("first update: %v", err)
		}
		evB := setStatus(t, b, "sign", plans.StatusBlocked, planStart.Add(2*time.Hour))
		err := s.UpdatePlan(ctx, b, 1, evB)
		if !isBoth(err, store.ErrConflict, plans.ErrConflict) {
			t.Fatalf("stale update: got %v, want conflict", err)
		}

		got, err := s.Plan(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 2 || got.ActionByKey("call").Status != plans.StatusInProgress || got.ActionByKey("sign").Status != plans.StatusNotStarted {
			t.Errorf("after conflict: got version %d call %s sign %s, want 2 in_progress not_started",
				got.Version, got.ActionByKey("call").Status, got.ActionByKey("sign").Status)
		}
		evs, _ := s.Events(ctx, p.ID, "", 0)
		if len(evs) != len(events)+len(evA) {
			t.Errorf("events: got %d, want %d (the loser's are not stored)", len(evs), len(events)+len(evA))
		}

		// The loser reloads and reapplies.
		evB = setStatus(t, got, "sign", plans.StatusBlocked, planStart.Add(3*time.Hour))
		if err := s.UpdatePlan(ctx, got, 2, evB); err != nil {
			t.Fatalf("retried update: %v", err)
		}
		if got, _ := s.Plan(ctx, p.ID); got.Version != 3 || got.ActionByKey("sign").Status != plans.StatusBlocked {
			t.Errorf("after retry: got version %d sign %s, want 3 blocked", got.Version, got.ActionByKey("sign").Status)
		}

		if err := s.UpdatePlan(ctx, got, got.Version, nil); !errors.Is(err, plans.ErrInvalid) {
			t.Errorf("update without a version bump: got %v, want plans.ErrInvalid", err)
		}
		ghost := got.Clone()
		ghost.ID = "nope"
		ghost.Version++
		if err := s.UpdatePlan(ctx, ghost, got.Version, nil); !isBoth(err, store.ErrNotFound, plans.ErrNotFound) {
			t.Errorf("update of unknown plan: got %v, want not found", err)
		}
	})
}

func TestPlanEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p, events := instantiate(t, parseTemplate(t, planTemplateDoc), planDeal("sf", "006A", "005O"))
		createPlan(t, s, p, events)
		want := slices.Clone(events)
		// Several changes, each with its events, in the order they happen.
		for i, st := range []plans.Status{plans.StatusInProgress, plans.StatusDone, plans.StatusInProgress} {
			base := p.Version
			ev := setStatus(t, p, "call", st, planStart.Add(time.Duration(i+1)*time.Hour))
			if err := s.UpdatePlan(ctx, p, base, ev); err != nil {
				t.Fatal(err)
			}
			want = append(want, ev...)
		}
		extra := []plans.Event{{ID: plans.NewID(), Type: plans.EventPlanSavedAsTemplate, Level: plans.LevelInfo,
			Actor: plans.Actor{ID: "u1", Side: plans.SideSeller}, At: planStart.Add(5 * time.Hour), After: "small-copy"}}
		if err := s.AppendEvents(ctx, p.ID, extra); err != nil {
			t.Fatal(err)
		}
		want = append(want, extra...)
		if len(want) < 6 {
			t.Fatalf("test needs at least 6 events, has %d", len(want))
		}

		all, err := s.Events(ctx, p.ID, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := eventSummary(all), eventSummary(want); !slices.Equal(g, w) {
			t.Fatalf("events:\n got %v\nwant %v", g, w)
		}
		first := all[0]
		if first.PlanID != p.ID || first.Type != plans.EventPlanCreated || first.Actor != plans.System() || !first.At.Equal(planStart) {
			t.Errorf("first event: got %+v", first)
		}

		// Paging by two returns the same sequence.
		var paged []plans.Event
		after := ""
		for {
			page, err := s.Events(ctx, p.ID, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			if len(page) > 2 {
				t.Fatalf("page of %d events, want at most 2", len(page))
			}
			paged = append(paged, page...)
			after = page[len(page)-1].ID
		}
		if g, w := eventSummary(paged), eventSummary(want); !slices.Equal(g, w) {
			t.Errorf("paged events:\n got %v\nwant %v", g, w)
		}
		if _, err := s.Events(ctx, p.ID, "no-such-event", 2); !isBoth(err, store.ErrNotFound, plans.ErrNotFound) {
			t.Errorf("events after an unknown event: got %v, want not found", err)
		}
	})
}

func eventSummary(events []plans.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID + " " + string(e.Type) + " " + e.ActionID
	}
	return out
}

func TestListPlans(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		tpl := parseTemplate(t, planTemplateDoc)
		var all []string
		// 7 deals on sf (owners 005A for even, 005B for odd), 3 on hs; deal sf/3 closed.
		for i := range 10 {
			conn, owner := "sf", "005A"
			if i >= 7 {
				conn = "hs"
			}
			if i%2 == 1 {
				owner = "005B"
			}
			p, ev := instantiate(t, tpl, planDeal(conn, fmt.Sprint(i), owner))
			createPlan(t, s, p, ev)
			all = append(all, p.ID)
			if i == 3 {
				base := p.Version
				ev, err := p.Close(plans.Change{By: plans.System(), At: planStart.Add(time.Hour)}, "won")
				if err != nil {
					t.Fatal(err)
				}
				if err := s.UpdatePlan(ctx, p, base, ev); err != nil {
					t.Fatal(err)
				}
			}
		}
		slices.Sort(all)

		list := func(f plans.PlanFilter) []plans.PlanSummary {
			t.Helper()
			got, _, err := s.ListPlans(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		deals := func(ps []plans.PlanSummary) []string {
			var out []string
			for _, p := range ps {
				out = append(out, p.Connection+"/"+p.DealID)
			}
			slices.Sort(out)
			return out
		}
		for _, tc := range []struct {
			name string
			f    plans.PlanFilter
			want []string
		}{
			{"all", plans.PlanFilter{}, []string{"hs/7", "hs/8", "hs/9", "sf/0", "sf/1", "sf/2", "sf/3", "sf/4", "sf/5", "sf/6"}},
			{"connection", plans.PlanFilter{Connection: "hs"}, []string{"hs/7", "hs/8", "hs/9"}},
			{"deal", plans.PlanFilter{Connection: "sf", DealID: "5"}, []string{"sf/5"}},
			{"deal on any connection", plans.PlanFilter{DealID: "8"}, []string{"hs/8"}},
			{"status", plans.PlanFilter{Status: plans.PlanClosed}, []string{"sf/3"}},
			{"owner crm id", plans.PlanFilter{Connection: "sf", Owner: "005B"}, []string{"sf/1", "sf/3", "sf/5"}},
			{"owner email any case", plans.PlanFilter{Owner: "SAM.005b@vendor.TEST"}, []string{"hs/7", "hs/9", "sf/1", "sf/3", "sf/5"}},
			{"status and owner", plans.PlanFilter{Status: plans.PlanActive, Owner: "005B", Connection: "sf"}, []string{"sf/1", "sf/5"}},
			{"nothing", plans.PlanFilter{Connection: "nope"}, nil},
		} {
			if got := deals(list(tc.f)); !slices.Equal(got, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			}
		}

		closed := list(plans.PlanFilter{Status: plans.PlanClosed})[0]
		if closed.Version != 2 || closed.Name != "Deal 3 plan" || closed.TemplateKey != "small" || closed.TemplateVersion != 1 ||
			!closed.UpdatedAt.Equal(planStart.Add(time.Hour)) {
			t.Errorf("closed summary: got %+v", closed)
		}

		// Pages of 3 walk every plan once, in id order, and the last page has no cursor.
		var ids []string
		after, pages := "", 0
		for {
			page, next, err := s.ListPlans(ctx, plans.PlanFilter{Limit: 3, After: after})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, p := range page {
				ids = append(ids, p.ID)
			}
			if next == "" {
				break
			}
			if len(page) != 3 {
				t.Fatalf("page %d: got %d plans with a next cursor, want 3", pages, len(page))
			}
			after = next
		}
		if !slices.Equal(ids, all) || pages != 4 {
			t.Errorf("paging: got %v in %d pages, want %v in 4", ids, pages, all)
		}
		if _, next, _ := s.ListPlans(ctx, plans.PlanFilter{Limit: 10}); next != "" {
			t.Errorf("exact page: got next %q, want none", next)
		}
	})
}

// TestPlanMarks fails if a change to a plan forgets its CRM projection mark: after every write
// the plan's mark holds the plan's version.
func TestPlanMarks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p, events := instantiate(t, parseTemplate(t, planTemplateDoc), planDeal("sf", "006A", "005O"))
		at := planStart
		by := func() plans.Change {
			at = at.Add(time.Minute)
			return plans.Change{By: plans.Actor{ID: "u1", Name: "Sam", Side: plans.SideSeller}, At: at}
		}
		markOf := func() *store.PlanMark {
			t.Helper()
			marks, err := s.PlanMarks(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range marks {
				if m.PlanID == p.ID {
					return &m
				}
			}
			return nil
		}
		createPlan(t, s, p, events)
		if m := markOf(); m == nil || m.PlanVersion != 1 || m.Connection != "sf" || m.DealID != "006A" {
			t.Fatalf("after create: got mark %+v, want version 1 of sf/006A", m)
		}

		changes := []struct {
			name  string
			apply func(p *plans.Plan) ([]plans.Event, error)
		}{
			{"status", func(p *plans.Plan) ([]plans.Event, error) {
				a := p.ActionByKey("call")
				st := plans.StatusDone
				return p.UpdateAction(by(), a.ID, plans.ActionPatch{Version: a.Version, Status: &st})
			}},
			{"sub-task", func(p *plans.Plan) ([]plans.Event, error) {
				_, ev, err := p.AddSubTask(by(), p.ActionByKey("sign").ID, "Send the order form")
				return ev, err
			}},
			{"comment", func(p *plans.Plan) ([]plans.Event, error) {
				_, ev, err := p.AddComment(by(), p.ActionByKey("sign").ID, "Legal is on it", false)
				return ev, err
			}},
			{"close", func(p *plans.Plan) ([]plans.Event, error) {
				return p.Close(by(), "won")
			}},
		}
		for _, c := range changes {
			cur, err := s.Plan(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			base := cur.Version
			ev, err := c.apply(cur)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			// The push pipeline may have finished the previous mark: every change needs a new one.
			if _, err := s.DonePlanMark(ctx, p.ID, base); err != nil {
				t.Fatal(err)
			}
			if m := markOf(); m != nil {
				t.Fatalf("%s: mark %+v left after done", c.name, m)
			}
			if err := s.UpdatePlan(ctx, cur, base, ev); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if m := markOf(); m == nil || m.PlanVersion != cur.Version {
				t.Errorf("%s: got mark %+v, want one at version %d", c.name, m, cur.Version)
			}
		}
	})
}

func TestClaimPlanMarks(t *testing.T) {
	for _, b := range storetest.Backends {
		t.Run(string(b), func(t *testing.T) {
			now := planStart
			s := storetest.Open(t, b, storetest.Options{Now: func() time.Time { return now }})
			ctx := t.Context()
			tpl := parseTemplate(t, planTemplateDoc)
			var ps []*plans.Plan
			for i := range 3 {
				p, ev := instantiate(t, tpl, planDeal("sf", fmt.Sprint(i), "005O"))
				createPlan(t, s, p, ev)
				ps = append(ps, p)
				now = now.Add(time.Second)
			}
			claimed, err := s.ClaimPlanMarks(ctx, "w1", 2, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if len(claimed) != 2 || claimed[0].PlanID != ps[0].ID || claimed[1].PlanID != ps[1].ID {
				t.Fatalf("first claim: got %+v, want the two oldest marks", claimed)
			}
			rest, err := s.ClaimPlanMarks(ctx, "w2", 10, time.Minute)
			if err != nil || len(rest) != 1 || rest[0].PlanID != ps[2].ID {
				t.Fatalf("second claim: got %+v %v, want the third mark only", rest, err)
			}

			// Plan 0 changes while w1 pushes version 1: finishing version 1 keeps the mark.
			base := ps[0].Version
			ev := setStatus(t, ps[0], "call", plans.StatusInProgress, now)
			if err := s.UpdatePlan(ctx, ps[0], base, ev); err != nil {
				t.Fatal(err)
			}
			if deleted, err := s.DonePlanMark(ctx, ps[0].ID, claimed[0].PlanVersion); err != nil || deleted {
				t.Fatalf("done with an old version: got deleted %v err %v, want false nil", deleted, err)
			}
			if deleted, err := s.DonePlanMark(ctx, ps[1].ID, claimed[1].PlanVersion); err != nil || !deleted {
				t.Fatalf("done: got deleted %v err %v, want true nil", deleted, err)
			}
			again, err := s.ClaimPlanMarks(ctx, "w3", 10, time.Minute)
			if err != nil || len(again) != 1 || again[0].PlanID != ps[0].ID || again[0].PlanVersion != 2 {
				t.Fatalf("claim after done: got %+v %v, want plan 0 at version 2", again, err)
			}
			// w2's lease on plan 2 expires.
			now = now.Add(2 * time.Minute)
			expired, err := s.ClaimPlanMarks(ctx, "w4", 10, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range expired {
				got = append(got, m.PlanID)
			}
			if want := []string{ps[2].ID, ps[0].ID}; !slices.Equal(got, want) { // oldest mark first
				t.Errorf("claim after leases expired: got %v, want %v", got, want)
			}
		})
	}
}

// TestCreatePlanRace creates the same plan from 8 goroutines on 8 PostgreSQL connections at once:
// exactly one creates it, all get its id, and one row (with the winner's events) exists.
func TestCreatePlanRace(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := t.Context()
	tpl := parseTemplate(t, planTemplateDoc)
	const n = 8
	// The test store's pool holds 8 connections: each creator's transaction runs on its own.
	type result struct {
		id      string
		created bool
		events  int
		err     error
	}
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		p, events := instantiate(t, tpl, planDeal("sf", "006RACE", "005O"))
		p.Name = fmt.Sprintf("creator %d", i)
		wg.Go(func() {
			<-start
			stored, created, err := s.CreatePlan(ctx, p, events)
			results[i] = result{err: err, created: created, events: len(events)}
			if stored != nil {
				results[i].id = stored.ID
			}
		})
	}
	close(start)
	wg.Wait()

	winners, winnerEvents := 0, 0
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("creator %d: %v", i, r.err)
		}
		if r.id != plans.PlanID("sf", "006RACE", "small") {
			t.Errorf("creator %d: got plan %s, want %s", i, r.id, plans.PlanID("sf", "006RACE", "small"))
		}
		if r.created {
			winners++
			winnerEvents = r.events
		}
	}
	if winners != 1 {
		t.Fatalf("got %d creators with created=true, want 1", winners)
	}
	var rows, eventRows, marks int
	db := s.DB()
	if err := db.GetContext(ctx, &rows, `SELECT count(*) FROM plans WHERE connection = 'sf' AND deal_id = '006RACE'`); err != nil {
		t.Fatal(err)
	}
	if err := db.GetContext(ctx, &eventRows, `SELECT count(*) FROM plan_events`); err != nil {
		t.Fatal(err)
	}
	if err := db.GetContext(ctx, &marks, `SELECT count(*) FROM plan_marks`); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || eventRows != winnerEvents || marks != 1 {
		t.Errorf("got %d plan rows, %d events, %d marks; want 1, %d, 1", rows, eventRows, marks, winnerEvents)
	}
}

func TestCreatePlans(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		tpl := parseTemplate(t, planTemplateDoc)
		existing, ev := instantiate(t, tpl, planDeal("sf", "2", "005O"))
		createPlan(t, s, existing, ev)

		// 250 deals (three INSERT statements), deal 2 stored already, deal 7 twice in the batch.
		var batch []store.NewPlan
		for i := range 250 {
			p, ev := instantiate(t, tpl, planDeal("sf", fmt.Sprint(i), "005O"))
			batch = append(batch, store.NewPlan{Plan: p, Events: ev})
		}
		dup, dupEv := instantiate(t, tpl, planDeal("sf", "7", "005O"))
		dup.Name = "duplicate"
		batch = append(batch, store.NewPlan{Plan: dup, Events: dupEv})

		res, err := s.CreatePlans(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != len(batch) {
			t.Fatalf("got %d results, want %d", len(res), len(batch))
		}
		for i, r := range res {
			wantCreated := i != 2 && i != 250
			if r.Created != wantCreated || r.Plan == nil || r.Plan.ID != batch[i].Plan.ID {
				t.Errorf("result %d: got created %v plan %v, want created %v plan %s", i, r.Created, r.Plan, wantCreated, batch[i].Plan.ID)
			}
		}
		if res[250].Plan.Name == "duplicate" {
			t.Errorf("duplicate in batch: got its own plan back, want the first one")
		}
		if got, _ := s.Plan(ctx, existing.ID); mustJSON(t, got) != mustJSON(t, existing) {
			t.Errorf("stored plan changed by the batch")
		}
		var plansN, eventsN, marksN int
		db := s.DB()
		for q, dst := range map[string]*int{
			`SELECT count(*) FROM plans`: &plansN, `SELECT count(*) FROM plan_events`: &eventsN, `SELECT count(*) FROM plan_marks`: &marksN,
		} {
			if err := db.GetContext(ctx, dst, q); err != nil {
				t.Fatal(err)
			}
		}
		if plansN != 250 || marksN != 250 || eventsN != 250*len(ev) {
			t.Errorf("got %d plans, %d marks, %d events; want 250, 250, %d", plansN, marksN, eventsN, 250*len(ev))
		}
		evs, err := s.Events(ctx, batch[100].Plan.ID, "", 0)
		if err != nil || eventSummary(evs)[0] != eventSummary(batch[100].Events)[0] || len(evs) != len(batch[100].Events) {
			t.Errorf("events of a batch plan: got %v %v, want %v", eventSummary(evs), err, eventSummary(batch[100].Events))
		}

		// An id taken by another key fails the whole batch.
		p1, ev1 := instantiate(t, tpl, planDeal("sf", "new-1", "005O"))
		p2, ev2 := instantiate(t, tpl, planDeal("sf", "new-2", "005O"))
		p2.ID = existing.ID
		_, err = s.CreatePlans(ctx, []store.NewPlan{{Plan: p1, Events: ev1}, {Plan: p2, Events: ev2}})
		if !isBoth(err, store.ErrConflict, plans.ErrConflict) {
			t.Fatalf("taken id: got %v, want conflict", err)
		}
		if _, err := s.Plan(ctx, p1.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after a failed batch: got %v for its first plan, want not found", err)
		}
	})
}

// TestUpdatePlanRace updates one plan from 8 goroutines on 8 PostgreSQL connections, all from
// the version they read: exactly one wins, the others get ErrConflict, and a retry loop (reload,
// reapply) lands every change.
func TestUpdatePlanRace(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := t.Context()
	p, events := instantiate(t, parseTemplate(t, planTemplateDoc), planDeal("sf", "006A", "005O"))
	createPlan(t, s, p, events)
	const n = 8
	addSubTask := func(cur *plans.Plan, i int) ([]plans.Event, error) {
		by := plans.Change{By: plans.Actor{ID: fmt.Sprint("u", i), Side: plans.SideSeller}, At: planStart.Add(time.Hour)}
		_, ev, err := cur.AddSubTask(by, cur.ActionByKey("call").ID, fmt.Sprint("task ", i))
		return ev, err
	}

	var (
		wg, firstRound       sync.WaitGroup
		mu                   sync.Mutex
		wins, conflicts      int
		unexpected           []error
		start                = make(chan struct{})
		retryStart           = make(chan struct{})
		retried, retryErrors = 0, []error{}
	)
	for i := range n {
		cur, err := s.Plan(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		firstRound.Add(1)
		wg.Go(func() {
			<-start
			base := cur.Version
			ev, err := addSubTask(cur, i)
			if err == nil {
				err = s.UpdatePlan(ctx, cur, base, ev)
			}
			mu.Lock()
			switch {
			case err == nil:
				wins++
			case isBoth(err, store.ErrConflict, plans.ErrConflict):
				conflicts++
			default:
				unexpected = append(unexpected, err)
			}
			lost := err != nil
			mu.Unlock()
			firstRound.Done()
			if !lost {
				return
			}
			// The loser reloads and reapplies until it lands.
			<-retryStart
			for attempt := 0; attempt < 50; attempt++ {
				cur, err := s.Plan(ctx, p.ID)
				if err == nil {
					base := cur.Version
					var ev []plans.Event
					if ev, err = addSubTask(cur, i); err == nil {
						err = s.UpdatePlan(ctx, cur, base, ev)
					}
				}
				if errors.Is(err, plans.ErrConflict) {
					continue
				}
				mu.Lock()
				if err != nil {
					retryErrors = append(retryErrors, err)
				} else {
					retried++
				}
				mu.Unlock()
				return
			}
			mu.Lock()
			retryErrors = append(retryErrors, fmt.Errorf("writer %d: still conflicting after 50 attempts", i))
			mu.Unlock()
		})
	}
	close(start)
	firstRound.Wait() // every first attempt has finished; the retries wait for retryStart
	if wins != 1 || conflicts != n-1 || len(unexpected) > 0 {
		close(retryStart)
		wg.Wait()
		t.Fatalf("first round: got %d wins, %d conflicts, errors %v; want 1, %d, none", wins, conflicts, unexpected, n-1)
	}
	close(retryStart)
	wg.Wait()
	if retried != n-1 || len(retryErrors) > 0 {
		t.Fatalf("retries: got %d landed, errors %v; want %d", retried, retryErrors, n-1)
	}
	got, err := s.Plan(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if subs := len(got.ActionByKey("call").SubTasks); got.Version != 1+n || subs != n {
		t.Errorf("got version %d with %d sub-tasks, want %d with %d", got.Version, subs, 1+n, n)
	}
	evs, err := s.Events(ctx, p.ID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != len(events)+n {
		t.Errorf("got %d events, want %d", len(evs), len(events)+n)
	}
	if marks, _ := s.PlanMarks(ctx, 0); len(marks) != 1 || marks[0].PlanVersion != 1+n {
		t.Errorf("got marks %+v, want one at version %d", marks, 1+n)
	}
}

// saveAs returns plan p saved as template key and the plan.saved_as_template event, as
// plans.Plan.SaveAsTemplate makes them (nothing is stored).
func saveAs(t testing.TB, p *plans.Plan, key string) (*plans.Template, []plans.Event) {
	t.Helper()
	tpl, events, err := p.SaveAsTemplate(plans.Change{By: plans.Actor{ID: "u1", Side: plans.SideSeller}, At: planStart.Add(time.Hour)}, key, "Saved "+key)
	if err != nil {
		t.Fatalf("save plan %s as %s: %v", p.ID, key, err)
	}
	return tpl, events
}

// countSaved counts the plan.saved_as_template events of plan id.
func countSaved(t testing.TB, s *store.Store, id string) int {
	t.Helper()
	events, err := s.Events(context.Background(), id, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range events {
		if e.Type == plans.EventPlanSavedAsTemplate {
			n++
		}
	}
	return n
}

// TestSaveTemplateFromPlan stores a template and its plan's event together, or neither.
func TestSaveTemplateFromPlan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p, events := instantiate(t, parseTemplate(t, planTemplateDoc), planDeal("sf", "006A", "005O"))
		createPlan(t, s, p, events)

		tpl, ev := saveAs(t, p, "copy")
		if err := s.SaveTemplateFromPlan(ctx, p.ID, tpl, ev); err != nil {
			t.Fatal(err)
		}
		stored, err := s.Template(ctx, "copy", 0)
		if err != nil || stored.Version != 1 || stored.Name != "Saved copy" || stored.Hash() != tpl.Hash() {
			t.Fatalf("stored: got %+v, %v; want version 1 of the saved content", stored, err)
		}
		if tpl.Version != 0 {
			t.Errorf("t changed: version %d", tpl.Version)
		}
		if n := countSaved(t, s, p.ID); n != 1 {
			t.Fatalf("events: got %d saved_as_template, want 1", n)
		}

		// A key that exists, by this way or by import, is a conflict that writes nothing.
		if _, _, err := s.ImportTemplate(ctx, parseTemplate(t, planTemplateDoc)); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"copy", "small"} {
			tpl, ev := saveAs(t, p, key)
			if err := s.SaveTemplateFromPlan(ctx, p.ID, tpl, ev); !isBoth(err, store.ErrConflict, plans.ErrConflict) {
				t.Errorf("existing key %s: got %v, want a conflict", key, err)
			}
		}
		if latest, err := s.Template(ctx, "copy", 0); err != nil || latest.Version != 1 {
			t.Errorf("after the conflict: got version %d, %v; want 1", latest.Version, err)
		}

		// Unknown plan, invalid template: nothing stored.
		tpl, ev = saveAs(t, p, "orphan")
		if err := s.SaveTemplateFromPlan(ctx, "no-such-plan", tpl, ev); !isBoth(err, store.ErrNotFound, plans.ErrNotFound) {
			t.Errorf("unknown plan: got %v, want not found", err)
		}
		bad, ev := saveAs(t, p, "bad")
		bad.Phases[0].Actions[0].Owner = "nobody"
		if err := s.SaveTemplateFromPlan(ctx, p.ID, bad, ev); !errors.Is(err, plans.ErrInvalid) {
			t.Errorf("invalid template: got %v, want ErrInvalid", err)
		}

		// An event that cannot be recorded takes the template with it.
		tpl, ev = saveAs(t, p, "half")
		ev[0].After = func() {}
		if err := s.SaveTemplateFromPlan(ctx, p.ID, tpl, ev); err == nil {
			t.Fatal("unencodable event: got no error")
		}
		for _, key := range []string{"orphan", "bad", "half"} {
			if _, err := s.Template(ctx, key, 0); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("template %s: got %v, want none stored", key, err)
			}
		}
		if n := countSaved(t, s, p.ID); n != 1 {
			t.Errorf("events: got %d saved_as_template, want still 1", n)
		}
	})
}

// TestSaveTemplateFromPlanRace saves 6 plans under one new key at once, each on its own
// PostgreSQL connection: exactly one stores the template and its event, the others conflict.
func TestSaveTemplateFromPlanRace(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := t.Context()
	tpl := parseTemplate(t, planTemplateDoc)
	const n = 6
	type save struct {
		id     string
		tpl    *plans.Template
		events []plans.Event
	}
	saves := make([]save, n)
	for i := range n {
		p, events := instantiate(t, tpl, planDeal("sf", fmt.Sprintf("006S%d", i), "005O"))
		createPlan(t, s, p, events)
		st, ev := saveAs(t, p, "race")
		saves[i] = save{p.ID, st, ev}
	}
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, sv := range saves {
		wg.Go(func() {
			<-start
			errs[i] = s.SaveTemplateFromPlan(ctx, sv.id, sv.tpl, sv.events)
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner < 0:
			winner = i
		case err == nil:
			t.Fatalf("saves %d and %d both stored template race", winner, i)
		case !isBoth(err, store.ErrConflict, plans.ErrConflict):
			t.Errorf("save %d: got %v, want a conflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no save stored the template: %v", errs)
	}
	var versions []int
	if err := s.DB().SelectContext(ctx, &versions, `SELECT version FROM templates WHERE key = 'race'`); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(versions, []int{1}) {
		t.Errorf("versions of race: got %v, want [1]", versions)
	}
	for i, sv := range saves {
		want := 0
		if i == winner {
			want = 1
		}
		if got := countSaved(t, s, sv.id); got != want {
			t.Errorf("plan %d: got %d saved_as_template events, want %d", i, got, want)
		}
	}
}

// statementCounter counts the statements a database handle sends to its driver: every query,
// exec and prepare on any of its connections.
type statementCounter struct{ n atomic.Int64 }

// countingConnector opens connections of drv to dsn that count their statements in c.
type countingConnector struct {
	drv driver.Driver
	dsn string
	c   *statementCounter
}

func (cc countingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := cc.drv.Open(cc.dsn)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, c: cc.c}, nil
}

func (cc countingConnector) Driver() driver.Driver { return cc.drv }

// countingConn passes everything to the driver's connection, counting statements. Where the
// driver lacks an optional interface it answers driver.ErrSkip, so database/sql falls back as it
// would on the driver itself (and the fallback's prepare is what gets counted).
type countingConn struct {
	driver.Conn
	c *statementCounter
}

func (cn *countingConn) Prepare(query string) (driver.Stmt, error) {
	cn.c.n.Add(1)
	return cn.Conn.Prepare(query)
}

func (cn *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	cn.c.n.Add(1)
	if p, ok := cn.Conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, query)
	}
	return cn.Conn.Prepare(query)
}

func (cn *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := cn.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	rows, err := q.QueryContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		cn.c.n.Add(1)
	}
	return rows, err
}

func (cn *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := cn.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	res, err := e.ExecContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		cn.c.n.Add(1)
	}
	return res, err
}

func (cn *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	b, ok := cn.Conn.(driver.ConnBeginTx)
	if !ok {
		return nil, errors.New("counting connection: the driver does not implement BeginTx")
	}
	return b.BeginTx(ctx, opts)
}

func (cn *countingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if c, ok := cn.Conn.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (cn *countingConn) ResetSession(ctx context.Context) error {
	if r, ok := cn.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

// countedStore opens a migrated store on backend whose database handle counts the statements it
// sends. The store opens as usual; then its handle's *sql.DB is replaced by one that reaches the
// same database through the same driver, each connection wrapped to count.
func countedStore(t *testing.T, backend store.Dialect) (*store.Store, *statementCounter) {
	t.Helper()
	ctx := t.Context()
	var url, dsn string
	switch backend {
	case store.SQLite:
		path := filepath.Join(t.TempDir(), "counted.db")
		url = "sqlite:" + path
		dsn = "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate&_time_format=sqlite"
	case store.Postgres:
		url = storetest.NewSchema(t)
		dsn = url
	}
	s, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	c := &statementCounter{}
	counted := sql.OpenDB(countingConnector{drv: s.DB().Driver(), dsn: dsn, c: c})
	if backend == store.SQLite {
		counted.SetMaxOpenConns(1)
	}
	original := s.DB().DB
	s.DB().DB = counted
	original.Close()
	return s, c
}

// wideTemplate is a template of phases*perPhase actions, each with two sub-tasks, due a day
// after the one before it.
func wideTemplate(t testing.TB, key string, phases, perPhase int) *plans.Template {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "key: %s\nname: Wide\nroles:\n  - {key: owner, label: Owner, side: seller, fill: {from: deal_owner}}\nphases:\n", key)
	prev := ""
	for p := range phases {
		fmt.Fprintf(&b, "  - key: p%d\n    name: Phase %d\n    actions:\n", p, p)
		for a := range perPhase {
			k := fmt.Sprintf("a%d-%d", p, a)
			due := "{from: plan_start, days: 1}"
			if prev != "" {
				due = "{after: " + prev + ", days: 1}"
			}
			fmt.Fprintf(&b, "      - {key: %s, title: Action %s, type: task, owner: owner, due: %s, sub_tasks: [One, Two]}\n", k, k, due)
			prev = k
		}
	}
	return parseTemplate(t, b.String())
}

// TestPlanReadIsOneStatement counts the statements reaching the database driver: reading a plan
// with its 40 actions (and their sub-tasks, members and due rules) takes one or two, and no more
// than reading a plan with one action: nothing is read per row.
func TestPlanReadIsOneStatement(t *testing.T) {
	for _, backend := range storetest.Backends {
		t.Run(string(backend), func(t *testing.T) {
			s, c := countedStore(t, backend)
			ctx := t.Context()
			count := func(what string, read func() (*plans.Plan, error), actions int) int64 {
				t.Helper()
				before := c.n.Load()
				p, err := read()
				n := c.n.Load() - before
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if got := len(p.Actions()); got != actions || len(p.Actions()[actions-1].SubTasks) != 2 || len(p.Members) != 1 {
					t.Fatalf("%s: got %d actions, want %d with their sub-tasks and a member", what, got, actions)
				}
				if n < 1 || n > 2 {
					t.Errorf("%s: %d statements, want 1 or 2", what, n)
				}
				return n
			}
			wide, _ := instantiate(t, wideTemplate(t, "wide", 4, 10), planDeal("sf", "006W", "005O"))
			createPlan(t, s, wide, nil)
			one, _ := instantiate(t, wideTemplate(t, "one", 1, 1), planDeal("sf", "006O", "005O"))
			createPlan(t, s, one, nil)
			if c.n.Load() == 0 {
				t.Fatal("the counter saw no statement: the store does not use the counting handle")
			}

			n40 := count("plan with 40 actions", func() (*plans.Plan, error) { return s.Plan(ctx, wide.ID) }, 40)
			n1 := count("plan with 1 action", func() (*plans.Plan, error) { return s.Plan(ctx, one.ID) }, 1)
			if n40 != n1 {
				t.Errorf("statements: %d for 40 actions, %d for 1; want the same", n40, n1)
			}
			count("plan for its deal and template", func() (*plans.Plan, error) { return s.PlanFor(ctx, "sf", "006W", "wide") }, 40)
		})
	}
}
