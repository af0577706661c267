package instantiate_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/connectors/hubspot"
	"github.com/mapsync/mapsync/connectors/salesforce"
	"github.com/mapsync/mapsync/plans"
	hssandbox "github.com/mapsync/mapsync/sandbox/hubspot"
	sfsandbox "github.com/mapsync/mapsync/sandbox/salesforce"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
	"github.com/mapsync/mapsync/sync/instantiate"
	"github.com/mapsync/mapsync/sync/pull"
)

var _ instantiate.Store = (*store.Store)(nil)

var now = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func importExamples(t testing.TB, s *store.Store) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "templates", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("example templates: %v %v", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tpl, err := plans.Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, _, err := s.ImportTemplate(t.Context(), tpl); err != nil {
			t.Fatal(err)
		}
	}
}

// pulled returns a store holding a pull of a sandbox of the given CRM, with the example templates.
func pulled(t testing.TB, backend store.Dialect, kind string, deals int) (*store.Store, *store.Connection) {
	t.Helper()
	ctx := t.Context()
	s := storetest.Open(t, backend)
	sc, err := s.EnsureConnection(ctx, "c", kind)
	if err != nil {
		t.Fatal(err)
	}
	var conn connectors.Connector
	switch kind {
	case "salesforce":
		sb := sfsandbox.New(sfsandbox.Options{Deals: deals, Seed: 3, Logger: zerolog.Nop()})
		srv := httptest.NewServer(sb)
		t.Cleanup(func() { srv.Close(); sb.Close() })
		s.SeedToken(ctx, "c", &oauth2.Token{RefreshToken: sfsandbox.RefreshToken})
		ts, _ := connectors.NewTokenSource(connectors.TokenSourceOptions{Connection: "c", Store: s, ExtraKeys: salesforce.TokenExtraKeys(),
			Config: &oauth2.Config{ClientID: sfsandbox.ClientID, ClientSecret: sfsandbox.ClientSecret, Endpoint: salesforce.OAuthEndpoint(srv.URL)}})
		conn, err = salesforce.New(salesforce.Options{Connection: "c", Auth: ts, Instance: connectors.InstancePolicy{Sandbox: true}, Logger: zerolog.Nop()})
	case "hubspot":
		sb := hssandbox.New(hssandbox.Options{Deals: deals, Seed: 3, BurstLimit: -1, SearchPerSecond: -1, DailyLimit: -1, Logger: zerolog.Nop()})
		srv := httptest.NewServer(sb)
		t.Cleanup(func() { srv.Close(); sb.Close() })
		conn, err = hubspot.New(hubspot.Options{Connection: "c", BaseURL: srv.URL, Auth: connectors.NewStaticToken(hssandbox.PrivateAppToken), SearchPerSecond: -1, Logger: zerolog.Nop()})
	}
	if err != nil {
		t.Fatal(err)
	}
	fields := map[connectors.Object][]string{}
	for obj, fs := range instantiate.Fields(kind) { // as the CLI wires it: pull what instantiation reads
		fields[connectors.Object(obj)] = fs
	}
	p, err := pull.New(pull.Options{Connection: "c", ConnectionID: sc.ID, Connector: conn, Store: s, Fields: fields, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(ctx, pull.Request{}); err != nil {
		t.Fatal(err)
	}
	importExamples(t, s)
	return s, sc
}

func newInstantiator(t testing.TB, s *store.Store, sc *store.Connection) *instantiate.Instantiator {
	t.Helper()
	loc, _ := time.LoadLocation("Europe/Berlin")
	in, err := instantiate.New(instantiate.Options{Connection: sc.Name, ConnectionID: sc.ID, Kind: sc.Kind, Location: loc, Store: s,
		Now: func() time.Time { return now }, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestCatchUpGivesEveryOpenDealOnePlan: every open deal gets exactly one main plan, large open
// deals also the additive security review, closed deals nothing.
func TestCatchUpGivesEveryOpenDealOnePlan(t *testing.T) {
	t.Parallel()
	const deals = 60
	for _, backend := range storetest.Backends {
		for _, kind := range []string{"salesforce", "hubspot"} {
			t.Run(kind+"/"+string(backend), func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				s, sc := pulled(t, backend, kind, deals)
				in := newInstantiator(t, s, sc)
				sum, err := in.CatchUp(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if sum.Evaluated != deals || sum.Created == 0 || sum.NoMatch == 0 || sum.Existing != 0 {
					t.Fatalf("first catch-up: %+v, want %d evaluated, plans created, closed deals matching none", sum, deals)
				}
				list, _, err := s.ListPlans(ctx, plans.PlanFilter{Connection: "c", Limit: 500})
				if err != nil || len(list) != sum.Created {
					t.Fatalf("stored plans: got %d (%v), want %d", len(list), err, sum.Created)
				}
				mainPlans, reviews := map[string]int{}, map[string]int{}
				byTemplate := map[string]int{}
				for _, ps := range list {
					deal, err := in.Deal(ctx, ps.DealID)
					if err != nil {
						t.Fatal(err)
					}
					byTemplate[ps.TemplateKey]++
					if ps.TemplateKey == "mid-market" && (deal.Stage == "Prospecting" || deal.Stage == "appointmentscheduled") {
						t.Errorf("deal %s in its pipeline's first stage %s got the mid-market plan", deal.ID, deal.Stage)
					}
					if deal.IsClosed {
						t.Fatalf("closed deal %s got plan %s", deal.ID, ps.TemplateKey)
					}
					if ps.TemplateKey == "security-review" {
						reviews[deal.ID]++
						if deal.Amount < 500000 {
							t.Errorf("deal %s of %.0f got a security review", deal.ID, deal.Amount)
						}
					} else {
						mainPlans[deal.ID]++
					}
					if kind == "hubspot" && deal.Account == "" {
						t.Errorf("hubspot deal %s: no account from its contacts' company", deal.ID)
					}
					p, err := s.Plan(ctx, ps.ID)
					if err != nil {
						t.Fatal(err)
					}
					// Placeholders render whole: no empty account, no "Hi ,".
					name, welcome := p.Name, p.WelcomeMessage
					if name != strings.TrimSpace(name) || !strings.Contains(name, deal.Name) && (deal.Account == "" || !strings.Contains(name, deal.Account)) {
						t.Errorf("plan %s of deal %q (account %q): name %q", ps.ID, deal.Name, deal.Account, name)
					}
					if strings.Contains(welcome, "Hi ,") || strings.Contains(welcome, "{{") || strings.Contains(welcome, "  live") {
						t.Errorf("plan %s: welcome message %q has an empty placeholder", ps.ID, welcome)
					}
				}
				// Every open deal has one main plan (the default template matches any open deal), and
				// each open deal of 500k or more a security review besides it.
				open, large := 0, 0
				for _, id := range allDealIDs(t, s, sc) {
					deal, err := in.Deal(ctx, id)
					if err != nil {
						t.Fatal(err)
					}
					if deal.IsClosed {
						continue
					}
					open++
					if mainPlans[id] != 1 {
						t.Errorf("open deal %s has %d main plans, want 1", id, mainPlans[id])
					}
					wantReview := 0
					if deal.Amount >= 500000 {
						wantReview = 1
						large++
					}
					if reviews[id] != wantReview {
						t.Errorf("deal %s of %.0f has %d security reviews, want %d", id, deal.Amount, reviews[id], wantReview)
					}
				}
				if large == 0 || sum.Created != open+large || sum.NoMatch != deals-open {
					t.Errorf("catch-up %+v; %d open deals, %d of them large: want created = open + large, no_match = closed", sum, open, large)
				}
				// The example rules read both CRMs' stages: each main template finds its deals (for
				// HubSpot, mid-market by the Sales Pipeline's internal stage ids).
				for _, key := range []string{"enterprise-new-business", "renewal", "mid-market", "default"} {
					if byTemplate[key] == 0 {
						t.Errorf("no %s deal got the %s plan: %v", kind, key, byTemplate)
					}
				}
				// Deals and plans are counted apart: every open deal got plans, large ones an additive one.
				if sum.DealsPlanned != open || sum.Additive != large || sum.DealsPlanned+sum.NoMatch != sum.Evaluated {
					t.Errorf("catch-up %+v; want deals_planned %d (the open deals), additive %d (the large ones)", sum, open, large)
				}
				p, err := s.Plan(ctx, list[0].ID)
				if err != nil || len(p.Phases) == 0 || len(p.Members) == 0 {
					t.Fatalf("plan %s: %+v, %v; want phases and members from the CRM", list[0].ID, p, err)
				}
				// Nothing new: the next catch-up evaluates nothing.
				again, err := in.CatchUp(ctx)
				if err != nil || again.Evaluated != 0 {
					t.Fatalf("second catch-up: %+v, %v; want nothing evaluated", again, err)
				}
			})
		}
	}
}

func TestForDeal(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, sc := pulled(t, store.SQLite, "salesforce", 30)
	in := newInstantiator(t, s, sc)
	var open plans.Deal
	ids, _, _ := s.DealsSyncedAfter(ctx, sc.ID, connectors.Cursor{}, 100)
	for _, id := range ids {
		d, err := in.Deal(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !d.IsClosed {
			open = d
			break
		}
	}
	if open.ID == "" {
		t.Fatal("no open deal in the sandbox")
	}
	if open.Name == "" || open.Stage == "" || open.Owner == nil || open.Owner.Email == "" || len(open.Contacts) == 0 || open.Contacts[0].Email == "" {
		t.Fatalf("deal view lacks CRM data: %+v", open)
	}
	rs, err := in.ForDeal(ctx, open.ID, "default")
	if err != nil || len(rs) != 1 || rs[0].Outcome != instantiate.Created || rs[0].Plan.TemplateKey != "default" {
		t.Fatalf("explicit template: %+v, %v", rs, err)
	}
	res := rs[0]
	rs2, err := in.ForDeal(ctx, open.ID, "default")
	if err != nil || len(rs2) != 1 || rs2[0].Outcome != instantiate.Existing || rs2[0].Plan.ID != res.Plan.ID {
		t.Fatalf("second create: %+v, %v; want the existing plan", rs2, err)
	}
	if _, err := in.ForDeal(ctx, open.ID, "no-such-template"); err == nil {
		t.Fatal("unknown template accepted")
	}
	if _, err := in.ForDeal(ctx, "006000000000000AAA", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown deal: got %v, want ErrNotFound", err)
	}
}

// Two replicas (or a schedule and a webhook) instantiating the same deals at once still make
// exactly one plan per deal and template.
func TestConcurrentCatchUpOnPostgres(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, sc := pulled(t, store.Postgres, "hubspot", 40)
	const workers = 4
	var wg sync.WaitGroup
	created := make([]int, workers)
	errs := make([]error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := newInstantiator(t, s, sc)
			sum, err := in.CatchUp(context.WithoutCancel(ctx))
			created[i], errs[i] = sum.Created, err
		}()
	}
	wg.Wait()
	total := 0
	for i := range workers {
		if errs[i] != nil {
			t.Fatalf("worker %d: %v", i, errs[i])
		}
		total += created[i]
	}
	list, _, _ := s.ListPlans(ctx, plans.PlanFilter{Connection: "c", Limit: 500})
	if total != len(list) {
		t.Fatalf("workers report %d created, store has %d plans: a create was counted twice", total, len(list))
	}
	seen := map[string]bool{}
	for _, p := range list {
		key := p.DealID + "/" + p.TemplateKey
		if seen[key] {
			t.Fatalf("two plans for %s", key)
		}
		seen[key] = true
	}
}

// allDealIDs lists the stored deals of a connection.
func allDealIDs(t *testing.T, s *store.Store, sc *store.Connection) []string {
	t.Helper()
	ids, _, err := s.DealsSyncedAfter(t.Context(), sc.ID, connectors.Cursor{}, 100000)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}
