package hubspot

import (
	"net/http"
	"strconv"
	"strings"
)

type ownerWire struct {
	ID                      string     `json:"id"`
	Email                   string     `json:"email"`
	Type                    string     `json:"type"`
	FirstName               string     `json:"firstName"`
	LastName                string     `json:"lastName"`
	UserID                  int64      `json:"userId"`
	UserIDIncludingInactive int64      `json:"userIdIncludingInactive"`
	CreatedAt               string     `json:"createdAt"`
	UpdatedAt               string     `json:"updatedAt"`
	Archived                bool       `json:"archived"`
	Teams                   []teamWire `json:"teams"`
}

type teamWire struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Primary bool   `json:"primary"`
}

func (o *owner) wire() ownerWire {
	return ownerWire{ID: strconv.FormatInt(o.id, 10), Email: o.email, Type: "PERSON", FirstName: o.first, LastName: o.last,
		UserID: o.userID, UserIDIncludingInactive: o.userID, CreatedAt: o.createdAt.Format(isoMillis),
		UpdatedAt: o.updAt.Format(isoMillis), Archived: o.archived,
		Teams: []teamWire{{ID: "1001", Name: "Sales", Primary: true}}}
}

// handleOwners serves GET /crm/v3/owners and /crm/v3/owners/ (limit default 100, max 500).
func (s *Sandbox) handleOwners(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := listLimit(w, q.Get("limit"), 100, 500)
	if !ok {
		return
	}
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	email := strings.ToLower(q.Get("email"))
	archived := q.Get("archived") == "true"
	results := []ownerWire{}
	next := ""
	s.mu.RLock()
	for _, o := range s.owners {
		if o.id < after || o.archived != archived || (email != "" && strings.ToLower(o.email) != email) {
			continue
		}
		if len(results) == limit {
			next = strconv.FormatInt(o.id, 10)
			break
		}
		results = append(results, o.wire())
	}
	s.mu.RUnlock()
	out := map[string]any{"results": results}
	if next != "" {
		out["paging"] = map[string]any{"next": map[string]string{"after": next, "link": nextLink(r.URL, next)}}
	}
	writeJSON(w, http.StatusOK, out)
}

// handleOwner serves GET /crm/v3/owners/{ownerId}?idProperty=id|userId.
func (s *Sandbox) handleOwner(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("ownerId"), 10, 64)
	byUser := r.URL.Query().Get("idProperty") == "userId"
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, o := range s.owners {
		if (!byUser && o.id == id) || (byUser && o.userID == id) {
			writeJSON(w, http.StatusOK, o.wire())
			return
		}
	}
	writeError(w, http.StatusNotFound, catNotFound, "Owner not found: "+r.PathValue("ownerId"))
}

// handlePipelines serves GET /crm/v3/pipelines/deals: pipelines with their stages.
func (s *Sandbox) handlePipelines(w http.ResponseWriter, r *http.Request) {
	ot := s.objectTypeOf(w, r, "objectType")
	if ot == nil {
		return
	}
	results := []map[string]any{}
	if ot.name == "deals" {
		stamp := ot.propsStamp.Format(isoMillis)
		for i, p := range s.pipelines {
			var stages []map[string]any
			for _, st := range p.stages {
				stages = append(stages, map[string]any{"id": st.id, "label": st.label, "displayOrder": st.order,
					"metadata":  map[string]string{"isClosed": strconv.FormatBool(st.closed), "probability": strconv.FormatFloat(st.probability, 'f', -1, 64)},
					"createdAt": stamp, "updatedAt": stamp, "archived": false, "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT"})
			}
			results = append(results, map[string]any{"id": p.id, "label": p.label, "displayOrder": i, "stages": stages,
				"createdAt": stamp, "updatedAt": stamp, "archived": false})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}
