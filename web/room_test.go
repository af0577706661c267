package web

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/internal/metrictest"
	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/server"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// roomTemplate has an internal action, a form, an approval and a meeting, and a buyer role
// filled by the deal's champion.
const roomTemplate = `key: room-test
name: Room test plan
conversation:
  name: "{{deal.name}} plan"
  welcome_message: "Welcome to the plan for {{deal.account}}."
selection: {rule: '!deal.is_closed'}
roles:
  - {key: owner, label: Seller - Opp Owner, side: seller, fill: {from: deal_owner}}
  - {key: champion, label: Champion, side: buyer, fill: {from: contact_roles, roles: [Champion]}}
  - {key: legal, label: Buyer Legal, side: buyer}
phases:
  - key: discover
    name: Discover
    actions:
      - {key: kickoff, title: Kickoff call, type: meeting, owner: owner, due: {from: plan_start, days: 1}, sub_tasks: [Agenda, Recap]}
      - {key: review, title: Review the proposal, type: approval, owner: champion, due: {from: plan_start, days: 3}, milestone: Aligned}
      - {key: forecast, title: Forecast call with the VP, type: task, owner: owner, internal: true, due: {from: plan_start, days: 2}}
  - key: decide
    name: Decide
    actions:
      - key: questionnaire
        title: Security questionnaire
        type: form
        owner: champion
        due: {from: plan_start, days: 5}
        questions:
          - {key: users, text: How many users, kind: number, required: true}
          - {key: crm, text: Which CRM, kind: single_choice, options: [Salesforce, HubSpot]}
      - {key: sign, title: Sign the order form, type: e_sign, owner: legal, due: {from: close_date}, milestone: Signed}
`

// internalTitle and internalComment must never reach a buyer's browser.
const (
	internalTitle   = "Forecast call with the VP"
	internalComment = "Discount ceiling is 12 percent"
)

// roomClock is the clock of the store, the API and the pages; tests move it.
type roomClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *roomClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *roomClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// roomEnv is the JSON API and the pages mounted as serve mounts them, on a real database, with
// two plans.
type roomEnv struct {
	t     testing.TB
	base  string
	store *store.Store
	api   *server.Server
	token string
	clock *roomClock
	logs  *logBuffer           // the API's and the pages' logs
	reg   *prometheus.Registry // the pages' metrics
	plan  *plans.Plan          // Acme's: the buyer's plan
	other *plans.Plan          // another deal's plan
}

func newRoomEnv(t testing.TB, backend store.Dialect) *roomEnv {
	t.Helper()
	clock := &roomClock{t: time.Now().UTC().Truncate(time.Second)}
	st := storetest.Open(t, backend, storetest.Options{Now: clock.Now})
	ctx := context.Background()
	logs := &logBuffer{}
	api, err := server.New(server.Options{Store: st, Logger: zerolog.New(logs), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	ui, err := New(Options{Store: st, Service: api.Service(), Logger: zerolog.New(logs), Now: clock.Now, Inviter: api, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(Mount(api, ui))
	t.Cleanup(ts.Close)
	tok, err := st.CreateAPIToken(ctx, "seller")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := plans.Parse([]byte(roomTemplate))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.ImportTemplate(ctx, tpl); err != nil {
		t.Fatal(err)
	}
	env := &roomEnv{t: t, base: ts.URL, store: st, api: api, token: tok, clock: clock, logs: logs, reg: reg}
	env.plan = env.createPlan("006A", "Acme")
	env.other = env.createPlan("006B", "Globex")
	// An internal comment on a shared action: buyers must not see it.
	if _, _, err := api.Service().AddComment(ctx, env.plan.ID, plans.Actor{ID: "token:seller", Name: "seller", Side: plans.SideSeller},
		env.plan.ActionByKey("review").ID, internalComment, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.Service().AddComment(ctx, env.plan.ID, plans.Actor{ID: "token:seller", Name: "seller", Side: plans.SideSeller},
		env.plan.ActionByKey("review").ID, "Here is the proposal", false); err != nil {
		t.Fatal(err)
	}
	return env
}

func (e *roomEnv) createPlan(deal, account string) *plans.Plan {
	e.t.Helper()
	d := plans.Deal{
		ConnectionName: "sf", CRM: "salesforce", ID: deal, Name: account + " expansion", Account: account,
		Stage: "Discovery", Pipeline: "default", Amount: 50000, CloseDate: plans.DateOf(e.clock.Now().AddDate(0, 2, 0), time.UTC),
		OwnerID: "005O", Owner: &plans.Person{ID: "005O", Name: "Sam Seller", Email: "sam@vendor.test"},
		Contacts: []plans.DealContact{{ContactID: "003" + deal, Name: "Alice Ames", Email: "alice@" + strings.ToLower(account) + ".test", Role: "Champion", Primary: true}},
	}
	p, created, err := e.api.Service().CreatePlan(context.Background(), "room-test", 0, d, time.UTC)
	if err != nil || !created {
		e.t.Fatalf("create plan for %s: %v (created %v)", deal, err, created)
	}
	return p
}

// fresh reads the plan as stored now.
func (e *roomEnv) fresh(id string) *plans.Plan {
	e.t.Helper()
	p, err := e.store.Plan(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// champion returns the plan's champion member (Alice).
func champion(t testing.TB, p *plans.Plan) plans.Member {
	t.Helper()
	for _, m := range p.Members {
		if m.Role == "champion" {
			return m
		}
	}
	t.Fatalf("plan %s has no champion", p.ID)
	return plans.Member{}
}

// invite makes an invitation link for the plan's champion (days 0: the default life).
func (e *roomEnv) invite(p *plans.Plan, days int) (server.InvitationResponse, string) {
	e.t.Helper()
	req := server.InvitationRequest{MemberID: champion(e.t, p).ID}
	if days > 0 {
		req.ExpiresInDays = &days
	}
	res, err := e.api.Invite(context.Background(), p.ID, plans.Actor{ID: "token:seller", Name: "seller", Side: plans.SideSeller}, req, e.base)
	if err != nil {
		e.t.Fatal(err)
	}
	return res, strings.TrimPrefix(res.Link, e.base)
}

// client is a browser without JavaScript: a cookie jar and the last page's CSRF token.
type client struct {
	t    testing.TB
	e    *roomEnv
	http *http.Client
	csrf string
}

func (e *roomEnv) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, e: e, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// seller signs in with the API token.
func (e *roomEnv) seller() *client {
	c := e.client()
	res, _ := c.post("/signin", url.Values{"token": {e.token}})
	if res.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign in: status %d", res.StatusCode)
	}
	return c
}

// buyer joins through the champion's link to p.
func (e *roomEnv) buyer(p *plans.Plan) *client {
	_, link := e.invite(p, 0)
	c := e.client()
	if res, body := c.get(link); res.StatusCode != http.StatusOK || !strings.Contains(body, "Join Room") {
		e.t.Fatalf("join page: status %d\n%s", res.StatusCode, body)
	}
	res, _ := c.post(link, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/room/"+p.ID {
		e.t.Fatalf("join: status %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	return c
}

var csrfAttr = regexp.MustCompile(`data-csrf="([^"]+)"`)

// get returns the answer to GET path, its HTML unescaped (to look for text).
func (c *client) get(path string) (*http.Response, string) {
	c.t.Helper()
	res, body := c.do(http.MethodGet, path, nil)
	return res, html.UnescapeString(body)
}

// post sends form (with the CSRF token of the last page read) and returns the answer.
func (c *client) post(path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if c.csrf != "" && !form.Has("csrf_token") {
		form.Set("csrf_token", c.csrf)
	}
	res, body := c.do(http.MethodPost, path, strings.NewReader(form.Encode()))
	return res, html.UnescapeString(body)
}

// do sends a request and returns the answer and its body as sent.
func (c *client) do(method, path string, body io.Reader) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.e.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if m := csrfAttr.FindSubmatch(b); m != nil {
		c.csrf = string(m[1])
	}
	return res, string(b)
}

// page GETs path and fails unless it answers status.
func (c *client) page(path string, status int) string {
	c.t.Helper()
	res, body := c.get(path)
	if res.StatusCode != status {
		c.t.Fatalf("GET %s: status %d, want %d\n%s", path, res.StatusCode, status, body)
	}
	return body
}

func TestRoomViews(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			t.Run("seller_sees_internal", func(t *testing.T) {
				e := newRoomEnv(t, backend)
				s := e.seller()
				room := s.page("/room/"+e.plan.ID, http.StatusOK)
				for _, want := range []string{internalTitle, "Welcome to the plan for Acme.", "Kickoff call", "Aligned", "Invitation links"} {
					if !strings.Contains(room, want) {
						t.Errorf("seller room lacks %q", want)
					}
				}
				action := s.page("/room/"+e.plan.ID+"/actions/"+e.plan.ActionByKey("review").ID, http.StatusOK)
				if !strings.Contains(action, internalComment) || !strings.Contains(action, "Here is the proposal") {
					t.Errorf("seller action page lacks the comments")
				}
				// The seller's read-only preview of the buyer's view.
				preview := s.page("/room/"+e.plan.ID+"?view=buyer", http.StatusOK)
				if strings.Contains(preview, internalTitle) || strings.Contains(preview, "Save status") || strings.Contains(preview, "Invitation links") ||
					!strings.Contains(preview, "Preview of what the buyer") || !strings.Contains(preview, "Review the proposal") {
					t.Errorf("the buyer-view preview shows internal data or forms, or lacks the banner")
				}
				review := s.page("/room/"+e.plan.ID+"/actions/"+e.plan.ActionByKey("review").ID+"?view=buyer", http.StatusOK)
				if strings.Contains(review, internalComment) || strings.Contains(review, `name="body"`) || !strings.Contains(review, "Here is the proposal") {
					t.Errorf("the preview of an action shows the internal comment or the comment form")
				}
				s.page("/room/"+e.plan.ID+"/actions/"+e.plan.ActionByKey("forecast").ID+"?view=buyer", http.StatusNotFound)
			})

			t.Run("buyer_sees_no_internal", func(t *testing.T) {
				e := newRoomEnv(t, backend)
				b := e.buyer(e.plan)
				forecast := e.plan.ActionByKey("forecast").ID
				for _, path := range []string{"/room/" + e.plan.ID, "/room/" + e.plan.ID + "/actions/" + e.plan.ActionByKey("review").ID, "/room/" + e.plan.ID + "/events"} {
					body := b.page(path, http.StatusOK)
					for _, secret := range []string{internalTitle, internalComment, forecast, "Internal", "Invitation links", "Save as template"} {
						if strings.Contains(body, secret) {
							t.Errorf("buyer page %s contains %q", path, secret)
						}
					}
				}
				if body := b.page("/room/"+e.plan.ID+"/actions/"+e.plan.ActionByKey("review").ID, http.StatusOK); !strings.Contains(body, "Here is the proposal") {
					t.Errorf("buyer action page lacks the shared comment")
				}
				b.page("/room/"+e.plan.ID+"/actions/"+forecast, http.StatusNotFound)
				b.page("/room/"+e.other.ID, http.StatusForbidden)
				b.page("/room/"+e.other.ID+"/actions/"+e.other.ActionByKey("review").ID, http.StatusForbidden)
				b.page("/console/", http.StatusForbidden)
				res, _ := b.get("/api/v1/plans/" + e.plan.ID)
				if res.StatusCode != http.StatusUnauthorized {
					t.Errorf("API with a buyer's cookie: status %d, want 401", res.StatusCode)
				}
			})

			t.Run("buyer_acts_as_member", func(t *testing.T) {
				e := newRoomEnv(t, backend)
				b := e.buyer(e.plan)
				b.page("/room/"+e.plan.ID, http.StatusOK)
				review := e.plan.ActionByKey("review")
				res, body := b.post("/room/"+e.plan.ID+"/actions/"+review.ID+"/steps", url.Values{"version": {itoa(review.Version)}, "step": {"approve"}})
				if res.StatusCode != http.StatusSeeOther {
					t.Fatalf("approve: status %d\n%s", res.StatusCode, body)
				}
				alice := champion(t, e.plan)
				events, err := e.store.Events(context.Background(), e.plan.ID, "", 100)
				if err != nil {
					t.Fatal(err)
				}
				var joined, stepped bool
				for _, ev := range events {
					joined = joined || (ev.Type == store.EventMemberJoined && ev.Actor.ID == alice.ID)
					stepped = stepped || (ev.Type == plans.EventActionStep && ev.Actor.ID == alice.ID && ev.Actor.Side == plans.SideBuyer)
				}
				if !joined || !stepped {
					t.Errorf("events: joined by Alice %v, step by Alice %v; want both", joined, stepped)
				}
				if got := e.fresh(e.plan.ID).ActionByKey("review").Status; got != plans.StatusDone {
					t.Errorf("review: got %s, want done", got)
				}
				// Structure is the seller's: the buyer's add-phase is refused, and nothing changes.
				res, body = b.post("/room/"+e.plan.ID+"/phases", url.Values{"plan_version": {itoa(e.fresh(e.plan.ID).Version)}, "name": {"Buyer phase"}})
				if res.StatusCode != http.StatusForbidden || len(e.fresh(e.plan.ID).Phases) != 2 {
					t.Errorf("buyer adds a phase: status %d, phases %d; want 403 and 2\n%s", res.StatusCode, len(e.fresh(e.plan.ID).Phases), body)
				}
			})
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// form posts form to path as c and fails unless the answer is status.
func (c *client) form(path string, form url.Values, status int) string {
	c.t.Helper()
	res, body := c.post(path, form)
	if res.StatusCode != status {
		c.t.Fatalf("POST %s: status %d, want %d\n%s", path, res.StatusCode, status, body)
	}
	return body
}

func TestRoomForms(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			t.Run("structure", func(t *testing.T) {
				e := newRoomEnv(t, backend)
				s := e.seller()
				room := "/room/" + e.plan.ID
				s.page(room, http.StatusOK)
				v := func() string { return itoa(e.fresh(e.plan.ID).Version) }
				s.form(room+"/phases", url.Values{"plan_version": {v()}, "name": {"Onboard"}}, http.StatusSeeOther)
				p := e.fresh(e.plan.ID)
				if len(p.Phases) != 3 || p.Phases[2].Name != "Onboard" {
					t.Fatalf("phases after add: %d", len(p.Phases))
				}
				onboard := p.Phases[2].ID
				// One click: no title typed.
				s.form(room+"/phases/"+onboard+"/actions", url.Values{"plan_version": {v()}}, http.StatusSeeOther)
				s.form(room+"/phases/"+onboard+"/actions", url.Values{"plan_version": {v()}, "title": {"Kick off onboarding"}, "type": {"form"}}, http.StatusSeeOther)
				p = e.fresh(e.plan.ID)
				if got := p.Phases[2].Actions; len(got) != 2 || got[0].Title != "New action" || got[1].Type != plans.ActionForm {
					t.Fatalf("actions of Onboard: %+v", got)
				}
				s.form(room+"/phases/"+onboard, url.Values{"plan_version": {v()}, "name": {"Onboarding"}}, http.StatusSeeOther)
				s.form(room+"/phases/"+onboard, url.Values{"plan_version": {v()}, "direction": {"up"}}, http.StatusSeeOther)
				p = e.fresh(e.plan.ID)
				if p.Phases[1].Name != "Onboarding" {
					t.Errorf("phases after rename and move up: %s, %s, %s", p.Phases[0].Name, p.Phases[1].Name, p.Phases[2].Name)
				}
				task := p.Phases[1].Actions[0]
				s.form(room+"/actions/"+task.ID+"/type", url.Values{"version": {itoa(task.Version)}, "type": {"approval"}, "from": {"action"}}, http.StatusSeeOther)
				s.form(room+"/actions/"+task.ID+"/type", url.Values{"version": {itoa(task.Version)}, "type": {"form"}, "from": {"action"}}, http.StatusConflict)
				if got := e.fresh(e.plan.ID).Action(task.ID).Type; got != plans.ActionApproval {
					t.Errorf("type after change: %s, want approval", got)
				}
				p = e.fresh(e.plan.ID)
				gone := p.Phases[1].Actions[0]
				s.form(room+"/actions/"+gone.ID+"/remove", url.Values{"version": {itoa(gone.Version)}}, http.StatusSeeOther)
				s.form(room+"/phases/"+onboard+"/remove", url.Values{"plan_version": {v()}, "move_actions_to": {p.Phases[0].ID}}, http.StatusSeeOther)
				p = e.fresh(e.plan.ID)
				if len(p.Phases) != 2 || p.Action(gone.ID) != nil || p.Phases[0].Actions[len(p.Phases[0].Actions)-1].Title != "Kick off onboarding" {
					t.Errorf("after removals: %d phases, removed action present %v", len(p.Phases), p.Action(gone.ID) != nil)
				}
				// A stale plan version is a stale edit, and the name typed stays in the form.
				body := s.form(room+"/phases", url.Values{"plan_version": {"1"}, "name": {"Typed phase name"}, "form": {"addphase"}}, http.StatusConflict)
				if !strings.Contains(body, "Stale edit") || !strings.Contains(body, `value="Typed phase name"`) {
					t.Errorf("stale add phase: the page does not say stale or lost the input")
				}
				s.form(room+"/milestones/Aligned", url.Values{"plan_version": {v()}, "target_date": {"2027-02-01"}}, http.StatusSeeOther)
				if got := e.fresh(e.plan.ID).MilestoneTargets["Aligned"].String(); got != "2027-02-01" {
					t.Errorf("Aligned target: got %q", got)
				}
				s.form(room+"/milestones/Aligned", url.Values{"plan_version": {v()}, "target_date": {"soon"}}, http.StatusUnprocessableEntity)
				s.form(room+"/milestones/Nope", url.Values{"plan_version": {v()}, "target_date": {"2027-02-01"}}, http.StatusNotFound)
				s.form(room+"/save-as-template", url.Values{"key": {"acme-way"}, "name": {"The Acme way"}}, http.StatusSeeOther)
				if _, err := e.store.Template(context.Background(), "acme-way", 0); err != nil {
					t.Errorf("saved template: %v", err)
				}
				body = s.form(room+"/save-as-template", url.Values{"key": {"acme-way"}, "name": {"Again"}, "form": {"template"}}, http.StatusConflict)
				if !strings.Contains(body, `value="Again"`) {
					t.Errorf("refused template save lost the name typed")
				}
			})

			t.Run("action_controls", func(t *testing.T) {
				e := newRoomEnv(t, backend)
				b := e.buyer(e.plan)
				base := "/room/" + e.plan.ID + "/actions/"
				q := e.plan.ActionByKey("questionnaire")
				b.page(base+q.ID, http.StatusOK)
				// A bad number keeps the answers typed.
				body := b.form(base+q.ID+"/responses", url.Values{"from": {"action"}, "form": {"answers"}, "q_users": {"forty"}, "q_crm": {"HubSpot"}, "submit": {"true"}}, http.StatusUnprocessableEntity)
				if !strings.Contains(body, `value="forty"`) || !strings.Contains(body, "want a number") {
					t.Errorf("bad answer: the page lost the input or does not say why")
				}
				b.form(base+q.ID+"/responses", url.Values{"from": {"action"}, "q_users": {"40"}, "q_crm": {"HubSpot"}, "submit": {"true"}}, http.StatusSeeOther)
				got := e.fresh(e.plan.ID).ActionByKey("questionnaire")
				if got.Status != plans.StatusDone || got.Responses["users"] != 40.0 || got.Responses["crm"] != "HubSpot" || got.SubmittedAt == nil {
					t.Errorf("submitted form: status %s responses %v", got.Status, got.Responses)
				}
				k := e.plan.ActionByKey("kickoff")
				b.form(base+k.ID+"/subtasks/"+k.SubTasks[0].ID, url.Values{"done": {"true"}}, http.StatusSeeOther)
				b.form(base+k.ID+"/subtasks", url.Values{"title": {"Send the recording"}}, http.StatusSeeOther)
				k2 := e.fresh(e.plan.ID).ActionByKey("kickoff")
				b.form(base+k.ID+"/details", url.Values{"version": {itoa(k2.Version)}, "scheduled_at": {"2027-01-10T10:00"}, "url": {"https://meet.example.test/x"}}, http.StatusSeeOther)
				k2 = e.fresh(e.plan.ID).ActionByKey("kickoff")
				if !k2.SubTasks[0].Done || len(k2.SubTasks) != 3 || k2.Meeting == nil || k2.Meeting.ScheduledAt == nil {
					t.Errorf("kickoff: sub-tasks %+v meeting %+v", k2.SubTasks, k2.Meeting)
				}
				b.form(base+k.ID+"/steps", url.Values{"version": {itoa(k2.Version)}, "step": {"hold"}}, http.StatusSeeOther)
				// A reject needs a reason: refused, and the page says so.
				r := e.fresh(e.plan.ID).ActionByKey("review")
				body = b.form(base+r.ID+"/steps", url.Values{"version": {itoa(r.Version)}, "step": {"reject"}, "from": {"action"}}, http.StatusUnprocessableEntity)
				if !strings.Contains(body, "reason") {
					t.Errorf("reject without a reason: the page does not say a reason is needed")
				}
				// Comments: the buyer's "internal" is ignored (buyers write shared comments only).
				b.form(base+r.ID+"/comments", url.Values{"body": {"Looks good <b>so far</b>"}, "internal": {"true"}}, http.StatusSeeOther)
				list, _, err := e.store.Comments(context.Background(), plans.CommentFilter{PlanID: e.plan.ID, ActionID: r.ID, Internal: true})
				if err != nil {
					t.Fatal(err)
				}
				last := list[len(list)-1]
				if last.Body != "Looks good <b>so far</b>" || last.Internal || last.Author.ID != champion(t, e.plan).ID {
					t.Errorf("buyer's comment: %+v", last)
				}
				page := b.page(base+r.ID, http.StatusOK)
				_, raw := b.do(http.MethodGet, base+r.ID, nil)
				if !strings.Contains(page, "Looks good <b>so far</b>") || strings.Contains(raw, "<b>so far") || !strings.Contains(raw, "&lt;b&gt;so far") {
					t.Errorf("the comment is not shown as text")
				}
				b.form("/room/"+e.plan.ID+"/attachments", url.Values{"name": {"Order form"}, "url": {"https://docs.example.test/order"}, "kind": {"contract"}}, http.StatusSeeOther)
				b.form("/room/"+e.plan.ID+"/attachments", url.Values{"name": {"Bad"}, "url": {"javascript:alert(1)"}}, http.StatusUnprocessableEntity)
				if at := e.fresh(e.plan.ID).Attachments; len(at) != 1 || at[0].AddedBy.ID != champion(t, e.plan).ID {
					t.Errorf("plan links: %+v", at)
				}
				at := e.fresh(e.plan.ID).Attachments[0]
				b.form("/room/"+e.plan.ID+"/attachments/"+at.ID+"/remove", nil, http.StatusSeeOther)
				st := e.fresh(e.plan.ID).ActionByKey("kickoff").SubTasks[2]
				b.form(base+k.ID+"/subtasks/"+st.ID+"/remove", url.Values{"from": {"action"}}, http.StatusSeeOther)
				if p := e.fresh(e.plan.ID); len(p.Attachments) != 0 || len(p.ActionByKey("kickoff").SubTasks) != 2 {
					t.Errorf("after removals: %d plan links, %d sub-tasks; want 0 and 2", len(p.Attachments), len(p.ActionByKey("kickoff").SubTasks))
				}
				if events := b.page("/room/"+e.plan.ID+"/events", http.StatusOK); !strings.Contains(events, "Alice Ames") || !strings.Contains(events, "submitted the form") || !strings.Contains(events, "changed the status: not_started → done") {
					t.Errorf("events page does not say Alice submitted the form")
				}
			})

			t.Run("invite_from_the_room", func(t *testing.T) {
				e := newRoomEnv(t, backend)
				s := e.seller()
				room := "/room/" + e.plan.ID
				s.page(room, http.StatusOK)
				body := s.form(room+"/invitations", url.Values{"email": {"lee@acme.test"}, "name": {"Lee Legal"}, "role": {"legal"}}, http.StatusCreated)
				m := regexp.MustCompile(`value="(` + regexp.QuoteMeta(e.base) + `/join/msi_[A-Za-z0-9_-]+)"`).FindStringSubmatch(body)
				if m == nil {
					t.Fatalf("the room does not show the new link")
				}
				link := strings.TrimPrefix(m[1], e.base)
				lee := e.client()
				if page := lee.page(link, http.StatusOK); !strings.Contains(page, "Lee Legal") || !strings.Contains(page, e.plan.Name) {
					t.Errorf("join page does not name Lee and the plan")
				}
				// A seller-side role cannot get a link; the email typed stays.
				body = s.form(room+"/invitations", url.Values{"email": {"spy@vendor.test"}, "role": {"owner"}, "form": {"invite"}}, http.StatusUnprocessableEntity)
				if !strings.Contains(body, `value="spy@vendor.test"`) {
					t.Errorf("refused invitation lost the email typed")
				}
				list, err := e.store.Invitations(context.Background(), e.plan.ID)
				if err != nil || len(list) != 1 {
					t.Fatalf("invitations: %d, %v", len(list), err)
				}
				s.page(room, http.StatusOK)
				s.form(room+"/invitations/"+list[0].ID+"/revoke", nil, http.StatusSeeOther)
				lee.page(link, http.StatusGone)
				// Buyers manage no links.
				b := e.buyer(e.plan)
				b.page(room, http.StatusOK)
				b.form(room+"/invitations", url.Values{"email": {"x@acme.test"}, "role": {"legal"}}, http.StatusForbidden)
			})

			t.Run("hostile_text_is_text", func(t *testing.T) {
				e := newRoomEnv(t, backend)
				s := e.seller()
				room := "/room/" + e.plan.ID
				s.page(room, http.StatusOK)
				hostile := `<script>alert(1)</script><img src=x onerror=alert(2)>`
				s.form(room+"/phases/"+e.plan.Phases[0].ID+"/actions", url.Values{"plan_version": {itoa(e.fresh(e.plan.ID).Version)}, "title": {hostile}}, http.StatusSeeOther)
				_, raw := s.do(http.MethodGet, room, nil)
				if strings.Contains(raw, "<script>alert") || strings.Contains(raw, "<img src=x") {
					t.Errorf("the room sends the hostile title as markup")
				}
				if !strings.Contains(raw, "&lt;script&gt;alert(1)&lt;/script&gt;") {
					t.Errorf("the room does not show the hostile title as text")
				}
			})
		})
	}
}

func TestRoomWithoutSession(t *testing.T) {
	t.Parallel()
	e := newRoomEnv(t, store.SQLite)
	c := e.client()
	body := c.page("/room/"+e.plan.ID, http.StatusUnauthorized)
	if !strings.Contains(body, "invitation link") || !strings.Contains(body, "/signin?next=") || strings.Contains(body, e.plan.Name) {
		t.Errorf("room without a session: want the way in for both sides and no plan data\n%s", body)
	}
	res, _ := c.post("/room/"+e.plan.ID+"/phases", url.Values{"name": {"x"}})
	if res.StatusCode != http.StatusUnauthorized || len(e.fresh(e.plan.ID).Phases) != 2 {
		t.Errorf("a write without a session: status %d, want 401 and nothing changed", res.StatusCode)
	}
}

// logBuffer is a log sink safe for the server's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestJoinTokenNotLogged: the request log shows /join/<token>, never an invitation's token.
func TestJoinTokenNotLogged(t *testing.T) {
	t.Parallel()
	e := newRoomEnv(t, store.SQLite)
	_, link := e.invite(e.plan, 0)
	c := e.client()
	c.page(link, http.StatusOK)
	if res, _ := c.post(link, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("join: status %d", res.StatusCode)
	}
	c.page(link+"x", http.StatusNotFound)
	for outcome, want := range map[string]float64{"opened": 1, "joined": 1, "unknown": 1, "expired": 0} {
		if got := metrictest.Sum(t, e.reg, "mapsync_web_invitation_links_total", map[string]string{"outcome": outcome}); got != want {
			t.Errorf("mapsync_web_invitation_links_total{outcome=%q}: got %v, want %v", outcome, got, want)
		}
	}
	logs := e.logs.String()
	token := strings.TrimPrefix(link, "/join/")
	if strings.Contains(logs, token) || strings.Contains(logs, "msi_") {
		t.Errorf("the logs hold the invitation token:\n%s", logs)
	}
	if strings.Count(logs, `"/join/<token>"`) < 3 || !strings.Contains(logs, "buyer joined through an invitation link") {
		t.Errorf("the logs do not show the join requests and the join:\n%s", logs)
	}
}
