package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/mapsync/mapsync/plans"
)

// plansPageSize is how many plans a page of the Plans list shows.
const plansPageSize = 50

// planStatuses are the values of the Plans page's status filter, as GET /api/v1/plans?status=
// takes them: lifecycle statuses and progress statuses.
var planStatuses = []string{"active", "closed", "cancelled", "on_track", "at_risk", "off_track", "completed"}

type plansData struct {
	Connections []string
	Statuses    []string
	Query       url.Values
	Connection  string
	Deal        string
	Owner       string
	Status      string
	After       string
	Next        string
	Plans       []plans.PlanSummary
}

// plansPage lists plans with the API's filters (GET /api/v1/plans): connection, deal, owner,
// status (lifecycle or progress: "which deals are at risk?"), by cursor.
func (h *Handler) plansPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	q := r.URL.Query()
	d := plansData{Statuses: planStatuses, Query: q, Connection: q.Get("connection"), Deal: q.Get("deal"),
		Owner: q.Get("owner"), Status: q.Get("status"), After: q.Get("after")}
	if h.console != nil {
		names, err := h.connectionNames(r)
		if err != nil {
			return err
		}
		d.Connections = names
	}
	f := plans.PlanFilter{Connection: d.Connection, DealID: d.Deal, Owner: d.Owner, After: d.After, Limit: plansPageSize, Now: h.now()}
	switch st := d.Status; {
	case st == "":
	case slices.Contains([]plans.PlanStatus{plans.PlanActive, plans.PlanClosed, plans.PlanCancelled}, plans.PlanStatus(st)):
		f.Status = plans.PlanStatus(st)
	case slices.Contains(planStatuses, st):
		f.Progress = plans.ProgressStatus(st)
	default:
		return &UserError{Status: http.StatusBadRequest, Message: "status: want one of the listed statuses, got " + strconv.Quote(st)}
	}
	list, next, err := h.store.ListPlans(r.Context(), f)
	if err != nil {
		return err
	}
	d.Plans, d.Next = list, next
	h.render(w, r, http.StatusOK, "plans", &Page{Title: "Plans", Nav: "plans", Data: d})
	return nil
}
