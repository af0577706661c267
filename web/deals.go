package web

import (
	"errors"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/server"
	"github.com/mapsync/mapsync/sync/instantiate"
)

// dealsPageSize is how many deals a page of the Deals list shows.
const dealsPageSize = 50

type dealsData struct {
	Connections []string
	Connection  string
	Query       url.Values
	Q, Stage    string
	Owner       string
	HasPlan     string
	MinAmount   string
	MaxAmount   string
	Deals       []instantiate.Listing
	Next        string
	After       string
}

// connectionNames returns the configured connections' names, sorted.
func (h *Handler) connectionNames(r *http.Request) ([]string, error) {
	ids, err := h.console.ConnectionIDs(r.Context())
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(ids)), nil
}

// dealsPage lists the pulled deals of a connection with the API's filters (GET /api/v1/deals):
// name contains, stage, owner id, has a plan or not; one page at a time, by cursor.
func (h *Handler) dealsPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	if h.console == nil {
		return errNoConsole
	}
	q := r.URL.Query()
	names, err := h.connectionNames(r)
	if err != nil {
		return err
	}
	d := dealsData{Connections: names, Query: q, Connection: q.Get("connection"), Q: q.Get("q"), Stage: q.Get("stage"),
		Owner: q.Get("owner"), HasPlan: q.Get("has_plan"), After: q.Get("after")}
	if d.Connection == "" && len(names) > 0 {
		d.Connection = names[0]
		d.Query.Set("connection", d.Connection)
	}
	lq := instantiate.ListQuery{Query: d.Q, Stage: d.Stage, Owner: d.Owner, After: d.After, Limit: dealsPageSize}
	for _, b := range []struct {
		name string
		dst  **float64
		src  *string
	}{{"min_amount", &lq.MinAmount, &d.MinAmount}, {"max_amount", &lq.MaxAmount, &d.MaxAmount}} {
		v := strings.TrimSpace(q.Get(b.name))
		*b.src = v
		if v == "" {
			continue
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(v, ",", ""), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return &UserError{Status: http.StatusBadRequest, Message: b.name + ": want a number, got " + strconv.Quote(v)}
		}
		*b.dst = &f
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return &UserError{Status: http.StatusBadRequest, Message: "limit: want a number from 1 to 500, got " + strconv.Quote(v)}
		}
		lq.Limit = n
	}
	switch d.HasPlan {
	case "":
	case "true", "false":
		b := d.HasPlan == "true"
		lq.HasPlan = &b
	default:
		return &UserError{Status: http.StatusBadRequest, Message: "has_plan: want true, false or nothing, got " + strconv.Quote(d.HasPlan)}
	}
	if d.Connection != "" {
		d.Deals, d.Next, err = h.console.Deals(r.Context(), d.Connection, lq)
		if err != nil {
			return asUserError(err, http.StatusBadRequest)
		}
	}
	h.render(w, r, http.StatusOK, "deals", &Page{Title: "Deals", Nav: "deals", Data: d})
	return nil
}

// roleFill is one role of the chosen template as the create-plan page shows it: who the rule
// fills it with, or the deal's contacts to pick from for a manual role.
type roleFill struct {
	plans.RoleTemplate
	// Rule says how the role is filled at creation ("" for manual).
	Rule string
	// Filled are the people the rule fills the role with.
	Filled []string
	// Manual is true when a person picks who fills the buyer role from the deal's contacts.
	Manual bool
	// Later is true for a seller role left manual: someone is invited to it from the room.
	Later bool
	// Chosen is the contact picked for a manual role.
	Chosen  string
	Problem string
}

type newPlanData struct {
	Connection string
	Deal       plans.Deal
	Templates  []*plans.Template
	// Template is the chosen template; Suggested the one the selection rules choose.
	Template  *plans.Template
	Suggested string
	Roles     []roleFill
	// Name, Description and Welcome are what the person typed ("" keeps the template's).
	Name, Description, Welcome string
	// Problems are input problems by field (name, description, welcome_message, template).
	Problems map[string]string
	Existing []plans.PlanSummary
}

// newPlanData gathers the create-plan page of a deal for the template key ("" for the one the
// rules suggest).
func (h *Handler) newPlanData(r *http.Request, key string) (*newPlanData, error) {
	if h.console == nil {
		return nil, errNoConsole
	}
	conn, dealID := r.PathValue("connection"), r.PathValue("deal")
	deal, _, err := h.console.Deal(r.Context(), conn, dealID)
	if err != nil {
		return nil, err
	}
	ts, err := h.store.Templates(r.Context())
	if err != nil {
		return nil, err
	}
	d := &newPlanData{Connection: conn, Deal: deal, Templates: ts, Problems: map[string]string{}}
	if sel, err := plans.NewSelector(ts); err == nil {
		if chosen, err := sel.Choose(deal, h.now()); err == nil && len(chosen) > 0 {
			d.Suggested = chosen[0].Key
		}
	}
	key = cmpOr(key, d.Suggested)
	for _, t := range ts {
		if t.Key == key {
			d.Template = t
		}
	}
	if key != "" && d.Template == nil {
		d.Problems["template"] = "There is no template " + strconv.Quote(key) + "."
	}
	if d.Template != nil {
		d.Roles = fills(d.Template, deal)
	}
	existing, _, err := h.store.ListPlans(r.Context(), plans.PlanFilter{Connection: conn, DealID: dealID, Limit: 20, Now: h.now()})
	if err != nil {
		return nil, err
	}
	d.Existing = existing
	return d, nil
}

// fills says, for each role of t, who creating the plan fills it with, as plans.CreatePlanFor
// does by the role's fill rule.
func fills(t *plans.Template, deal plans.Deal) []roleFill {
	out := make([]roleFill, 0, len(t.Roles))
	for _, role := range t.Roles {
		f := roleFill{RoleTemplate: role}
		switch role.Fill.From {
		case plans.FillDealOwner:
			f.Rule = "the deal's owner"
			if deal.Owner != nil {
				f.Filled = append(f.Filled, deal.Owner.Name)
			}
		case plans.FillPrimaryContact:
			f.Rule = "the deal's primary contact"
			for _, c := range deal.Contacts {
				if c.Primary {
					f.Filled = append(f.Filled, c.Name)
				}
			}
			if len(f.Filled) == 0 && len(deal.Contacts) > 0 {
				f.Filled = append(f.Filled, deal.Contacts[0].Name)
			}
		case plans.FillContactRoles:
			f.Rule = "the contacts whose role is " + strings.Join(role.Fill.Roles, " or ")
			for _, c := range deal.Contacts {
				if slices.Contains(role.Fill.Roles, c.Role) {
					f.Filled = append(f.Filled, c.Name)
				}
			}
		default:
			// A buyer role is filled from the deal's contacts here; seller roles are invited from
			// the room.
			f.Manual = role.Side == plans.SideBuyer
			f.Later = !f.Manual
		}
		out = append(out, f)
	}
	return out
}

func (h *Handler) newPlanPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	d, err := h.newPlanData(r, r.URL.Query().Get("template"))
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "newplan", &Page{Title: "New plan for " + d.Deal.Name, Nav: "deals", Data: d})
	return nil
}

// createPlan is the create-plan form: the plan is made as POST /api/v1/plans makes it, then
// each manual role given a contact gets that contact as a member, as POST
// /api/v1/plans/{plan}/members does.
func (h *Handler) createPlan(w http.ResponseWriter, r *http.Request, s *Session) error {
	if h.creator == nil {
		return &UserError{Status: http.StatusNotImplemented, Message: "This server cannot create plans (no deal source)."}
	}
	d, err := h.newPlanData(r, r.PostFormValue("template"))
	if err != nil {
		return err
	}
	d.Name, d.Description, d.Welcome = strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("description"), r.PostFormValue("welcome_message")
	if d.Template == nil && d.Problems["template"] == "" {
		d.Problems["template"] = "Pick a template: the selection rules match none for this deal."
	}
	contacts := map[string]plans.DealContact{}
	for _, c := range d.Deal.Contacts {
		contacts[c.ContactID] = c
	}
	for i := range d.Roles {
		if !d.Roles[i].Manual {
			continue
		}
		id := r.PostFormValue("role_" + d.Roles[i].Key)
		if _, ok := contacts[id]; id != "" && !ok {
			d.Roles[i].Problem = "This contact is not on the deal."
			d.Problems["role_"+d.Roles[i].Key] = d.Roles[i].Problem
		}
		d.Roles[i].Chosen = id
	}
	if len(d.Problems) > 0 {
		h.render(w, r, http.StatusUnprocessableEntity, "newplan", &Page{Title: "New plan for " + d.Deal.Name, Nav: "deals", Data: d})
		return nil
	}
	req := server.CreatePlanRequest{Connection: d.Connection, DealID: d.Deal.ID, Template: d.Template.Key}
	if d.Name != "" {
		req.Name = &d.Name
	}
	if strings.TrimSpace(d.Description) != "" {
		req.Description = &d.Description
	}
	if strings.TrimSpace(d.Welcome) != "" {
		req.WelcomeMessage = &d.Welcome
	}
	p, created, err := h.creator.CreatePlan(r.Context(), s.Actor, req)
	var ie *plans.InputError
	if errors.As(err, &ie) {
		d.Problems[ie.Field] = ie.Message
		h.render(w, r, http.StatusUnprocessableEntity, "newplan", &Page{Title: "New plan for " + d.Deal.Name, Nav: "deals", Data: d})
		return nil
	}
	if err != nil {
		return err
	}
	to := "/console/plans?connection=" + url.QueryEscape(d.Connection) + "&deal=" + url.QueryEscape(d.Deal.ID)
	if !created {
		h.redirectFlash(w, r, to, "error", "This deal already has a plan from "+d.Template.Name+": "+p.Name+". Nothing was changed.")
		return nil
	}
	invited := 0
	for _, f := range d.Roles {
		c, ok := contacts[f.Chosen]
		if !f.Manual || !ok {
			continue
		}
		_, _, err := h.svc.Change(r.Context(), p.ID, s.Actor, func(p *plans.Plan, ch plans.Change) ([]plans.Event, error) {
			_, ev, err := p.InviteMember(ch, plans.Member{Role: f.Key, Name: c.Name, Email: c.Email, CRMID: c.ContactID})
			return ev, err
		})
		if err != nil {
			h.redirectFlash(w, r, to, "error", "The plan "+p.Name+" was created, but "+c.Name+" could not be added as "+f.Label+": "+err.Error())
			return nil
		}
		invited++
	}
	msg := "The plan " + p.Name + " was created."
	if invited > 0 {
		msg += " " + strconv.Itoa(invited) + " role(s) filled from the deal's contacts."
	}
	h.log.Info().Str("plan_id", p.ID).Str("connection", d.Connection).Str("deal", d.Deal.ID).Str("actor", s.Actor.ID).Msg("web plan created")
	h.redirectFlash(w, r, to, "ok", msg)
	return nil
}
