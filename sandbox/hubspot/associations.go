package hubspot

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mapsync/mapsync/sandbox/fakedata"
)

// pairKey is a direction of association: from one object type to another (canonical names).
type pairKey struct{ from, to string }

// assocType is one association type (label) of a direction.
type assocType struct {
	category string
	typeID   int
	label    string // "" renders as null
	inverse  int    // the type id of the opposite direction
	// raw is the type's JSON (MarshalJSON's), rendered once by initAssociationTypes.
	raw string
}

// appendJSON appends t's JSON: the pre-rendered form when there is one.
func (t assocType) appendJSON(b []byte) []byte {
	if t.raw != "" {
		return append(b, t.raw...)
	}
	raw, _ := json.Marshal(t)
	return append(b, raw...)
}

func (t assocType) MarshalJSON() ([]byte, error) {
	var label any
	if t.label != "" {
		label = t.label
	}
	return json.Marshal(struct {
		Category string `json:"category"`
		TypeID   int    `json:"typeId"`
		Label    any    `json:"label"`
	}{t.category, t.typeID, label})
}

// assocEdge links one record to another record with one or more types.
type assocEdge struct {
	to    int64
	types []assocType
}

// Association type ids: HubSpot's defaults for deal<->contact, and user-defined labels for
// contact roles in pairs (deal->contact even, contact->deal the next odd id).
const (
	typeDealToContact = 3
	typeContactToDeal = 4
	firstLabelTypeID  = 28
	// PrimaryContactLabel is the user-defined label the sandbox gives a deal's primary contact;
	// HubSpot has no built-in primary type for deal-to-contact.
	PrimaryContactLabel = "Primary Contact"
)

var dealsContacts, contactsDeals = pairKey{"deals", "contacts"}, pairKey{"contacts", "deals"}

func (s *Sandbox) initAssociationTypes() {
	dc := []assocType{{category: "HUBSPOT_DEFINED", typeID: typeDealToContact, inverse: typeContactToDeal}}
	cd := []assocType{{category: "HUBSPOT_DEFINED", typeID: typeContactToDeal, inverse: typeDealToContact}}
	labels := append(append([]string(nil), fakedata.ContactRoles...), PrimaryContactLabel)
	for i, l := range labels {
		fwd, inv := firstLabelTypeID+2*i, firstLabelTypeID+2*i+1
		dc = append(dc, assocType{category: "USER_DEFINED", typeID: fwd, label: l, inverse: inv})
		cd = append(cd, assocType{category: "USER_DEFINED", typeID: inv, label: l, inverse: fwd})
	}
	for _, defs := range [][]assocType{dc, cd} {
		for i := range defs {
			raw, _ := json.Marshal(defs[i])
			defs[i].raw = string(raw)
		}
	}
	s.assocDefs = map[pairKey][]assocType{dealsContacts: dc, contactsDeals: cd}
	s.assocs = map[pairKey]map[int64][]assocEdge{dealsContacts: {}, contactsDeals: {}}
}

func (s *Sandbox) assocDef(p pairKey, typeID int) (assocType, bool) {
	for _, t := range s.assocDefs[p] {
		if t.typeID == typeID {
			return t, true
		}
	}
	return assocType{}, false
}

func (s *Sandbox) labelTypeID(p pairKey, label string) int {
	for _, t := range s.assocDefs[p] {
		if t.label == label {
			return t.typeID
		}
	}
	return 0
}

// associateRole links a deal and a contact with the unlabelled type, the role's label and, for
// the primary contact, the primary label; the caller holds s.mu for writing.
func (s *Sandbox) associateRole(dealID, contactID int64, role string, primary bool) {
	ids := []int{typeDealToContact}
	if t := s.labelTypeID(dealsContacts, role); t != 0 {
		ids = append(ids, t)
	}
	if primary {
		ids = append(ids, s.labelTypeID(dealsContacts, PrimaryContactLabel))
	}
	s.associate(dealsContacts, dealID, contactID, ids)
}

// associate adds types (ids of direction p) between from and to, in both directions.
func (s *Sandbox) associate(p pairKey, from, to int64, typeIDs []int) {
	inv := pairKey{p.to, p.from}
	for _, id := range typeIDs {
		t, ok := s.assocDef(p, id)
		if !ok {
			continue
		}
		it, _ := s.assocDef(inv, t.inverse)
		s.addEdgeType(p, from, to, t)
		s.addEdgeType(inv, to, from, it)
	}
}

func (s *Sandbox) addEdgeType(p pairKey, from, to int64, t assocType) {
	m := s.assocs[p]
	if m == nil {
		return
	}
	edges := m[from]
	for i := range edges {
		if edges[i].to == to {
			for _, have := range edges[i].types {
				if have.typeID == t.typeID {
					return
				}
			}
			edges[i].types = append(edges[i].types, t)
			return
		}
	}
	m[from] = append(edges, assocEdge{to: to, types: []assocType{t}})
}

// associateInputs applies the associations of a create request; the caller holds s.mu.
func (s *Sandbox) associateInputs(ot *objectType, rec *record, specs []associationSpec) {
	for _, a := range specs {
		to, err := strconv.ParseInt(a.To.ID.String(), 10, 64)
		if err != nil {
			continue
		}
		for _, t := range a.Types {
			for p := range s.assocs {
				if p.from != ot.name {
					continue
				}
				if _, ok := s.assocDef(p, t.TypeID); ok && s.types[p.to].byID[to] != nil {
					s.associate(p, rec.id, to, []int{t.TypeID})
				}
			}
		}
	}
}

// visibleEdges returns the edges of from in direction p whose target is readable at now.
func (s *Sandbox) visibleEdges(p pairKey, from int64, now time.Time) []assocEdge {
	return s.appendVisibleEdges(nil, p, from, now)
}

// appendVisibleEdges appends the edges visibleEdges returns to out.
func (s *Sandbox) appendVisibleEdges(out []assocEdge, p pairKey, from int64, now time.Time) []assocEdge {
	return appendVisible(out, s.assocs[p][from], s.types[p.to], now)
}

// appendVisible appends the edges whose target (a record of target) is readable at now.
func appendVisible(out, edges []assocEdge, target *objectType, now time.Time) []assocEdge {
	for _, e := range edges {
		if rec := target.byID[e.to]; rec != nil && !rec.archived && visible(rec, now) {
			out = append(out, e)
		}
	}
	return out
}

// assocTargets reads the v3 associations parameter into canonical object-type names.
func (s *Sandbox) assocTargets(ot *objectType, values []string) []string {
	var out []string
	for _, v := range values {
		for _, n := range strings.Split(v, ",") {
			if t, ok := s.typeByAlias[strings.ToLower(strings.TrimSpace(n))]; ok {
				if _, ok := s.assocs[pairKey{ot.name, t.name}]; ok {
					out = append(out, t.name)
				}
			}
		}
	}
	return out
}

// v3Associations renders the "associations" member of a v3 object; the caller holds s.mu.
func (s *Sandbox) v3Associations(ot *objectType, rec *record, targets []string) func([]byte) []byte {
	if len(targets) == 0 {
		return nil
	}
	now := s.now()
	return func(b []byte) []byte {
		first := true
		for _, to := range targets {
			edges := s.visibleEdges(pairKey{ot.name, to}, rec.id, now)
			if len(edges) == 0 {
				continue
			}
			if first {
				b = append(b, `,"associations":{`...)
			} else {
				b = append(b, ',')
			}
			first = false
			b = appendString(b, to)
			b = append(b, `:{"results":[`...)
			k := 0
			for _, e := range edges {
				for _, t := range e.types {
					if k > 0 {
						b = append(b, ',')
					}
					k++
					b = append(b, `{"id":`...)
					b = appendString(b, strconv.FormatInt(e.to, 10))
					b = append(b, `,"type":`...)
					b = appendString(b, v3TypeName(ot, to, t))
					b = append(b, '}')
				}
			}
			b = append(b, `]}`...)
		}
		if !first {
			b = append(b, '}')
		}
		return b
	}
}

func v3TypeName(ot *objectType, to string, t assocType) string {
	if t.label == "" {
		return ot.singular + "_to_" + strings.TrimSuffix(to, "s")
	}
	return strings.ReplaceAll(strings.ToLower(t.label), " ", "_")
}

// multiAssociation is one target of a v4 read.
type multiAssociation struct {
	ToObjectID       int64       `json:"toObjectId"`
	AssociationTypes []assocType `json:"associationTypes"`
}

func edgesToWire(edges []assocEdge) []multiAssociation {
	out := make([]multiAssociation, 0, len(edges))
	for _, e := range edges {
		out = append(out, multiAssociation{ToObjectID: e.to, AssociationTypes: e.types})
	}
	return out
}

// pairOf resolves the {fromObjectType} and {toObjectType} wildcards; writes a 400 when unknown.
func (s *Sandbox) pairOf(w http.ResponseWriter, r *http.Request) (pairKey, bool) {
	from := s.objectTypeOf(w, r, "fromObjectType")
	if from == nil {
		return pairKey{}, false
	}
	to := s.objectTypeOf(w, r, "toObjectType")
	if to == nil {
		return pairKey{}, false
	}
	p := pairKey{from.name, to.name}
	if _, ok := s.assocDefs[p]; !ok {
		writeError(w, http.StatusBadRequest, catValidation, fmt.Sprintf("No associations are defined from %s to %s", from.name, to.name))
		return pairKey{}, false
	}
	return p, true
}

// handleAssociations serves GET /crm/v4/objects/{from}/{id}/associations/{to} (limit default 500).
func (s *Sandbox) handleAssociations(w http.ResponseWriter, r *http.Request) {
	p, ok := s.pairOf(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	limit, ok := listLimit(w, q.Get("limit"), 500, 500)
	if !ok {
		return
	}
	offset, _ := strconv.Atoi(q.Get("after"))
	from, _ := strconv.ParseInt(r.PathValue("objectId"), 10, 64)
	now := s.now()
	s.mu.RLock()
	var edges []assocEdge
	if rec := s.types[p.from].lookup(r.PathValue("objectId"), now); rec != nil && !rec.archived {
		edges = s.visibleEdges(p, from, now)
	}
	results := edgesToWire(page(edges, offset, limit))
	s.mu.RUnlock()
	out := map[string]any{"results": results}
	if offset+limit < len(edges) {
		next := strconv.Itoa(offset + limit)
		out["paging"] = map[string]any{"next": map[string]string{"after": next, "link": nextLink(r.URL, next)}}
	}
	writeJSON(w, http.StatusOK, out)
}

func page[T any](s []T, offset, limit int) []T {
	if offset < 0 || offset >= len(s) {
		return nil
	}
	return s[offset:min(len(s), offset+limit)]
}

// handleAssociationsBatchRead serves POST /crm/v4/associations/{from}/{to}/batch/read.
func (s *Sandbox) handleAssociationsBatchRead(w http.ResponseWriter, r *http.Request) {
	p, ok := s.pairOf(w, r)
	if !ok {
		return
	}
	var in struct {
		Inputs []struct {
			ID    json.Number `json:"id"`
			After string      `json:"after"`
		} `json:"inputs"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if len(in.Inputs) > 1000 {
		writeError(w, http.StatusBadRequest, catValidation, fmt.Sprintf("Too many inputs: %d; the limit is 1000", len(in.Inputs)))
		return
	}
	started := s.now()
	var errs []apiError
	bp := getBuf()
	defer putBuf(bp)
	b := append((*bp)[:0], `{"status":"COMPLETE","results":[`...)
	n := 0
	var edges []assocEdge
	s.mu.RLock()
	fromType, toType, all := s.types[p.from], s.types[p.to], s.assocs[p]
	for _, input := range in.Inputs {
		id := input.ID.String()
		edges = edges[:0]
		if rec := fromType.lookup(id, started); rec != nil && !rec.archived {
			edges = appendVisible(edges, all[rec.id], toType, started)
		}
		if len(edges) == 0 {
			errs = append(errs, apiError{Status: "error", Category: catNotFound, SubCategory: "crm.associations.NO_ASSOCIATIONS_FOUND",
				Message: fmt.Sprintf("No %s is associated with %s %s.", toType.singular, fromType.singular, id),
				Context: map[string][]string{"fromObjectId": {id}}})
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		offset, _ := strconv.Atoi(input.After)
		b = append(b, `{"from":{"id":`...)
		b = appendString(b, id)
		b = append(b, `},"to":`...)
		b = appendMultiAssociations(b, page(edges, offset, 500))
		if offset+500 < len(edges) {
			b = append(b, `,"paging":{"next":{"after":"`...)
			b = strconv.AppendInt(b, int64(offset+500), 10)
			b = append(b, `"}}`...)
		}
		b = append(b, '}')
	}
	s.mu.RUnlock()
	b = append(b, ']')
	code := http.StatusOK
	if len(errs) > 0 {
		code = http.StatusMultiStatus
		list, err := json.Marshal(errs)
		if err != nil {
			writeRaw(w, http.StatusInternalServerError, []byte(`{"status":"error","message":"internal error","category":"INTERNAL_ERROR"}`))
			return
		}
		b = append(b, `,"numErrors":`...)
		b = strconv.AppendInt(b, int64(len(errs)), 10)
		b = append(b, `,"errors":`...)
		b = append(b, list...)
	}
	b = append(b, `,"startedAt":"`...)
	b = started.AppendFormat(b, isoMillis)
	b = append(b, `","completedAt":"`...)
	b = s.now().AppendFormat(b, isoMillis)
	b = append(b, `"}`...)
	*bp = b
	writeRaw(w, code, b)
}

// appendMultiAssociations renders edges as the "to" list of a v4 read, byte for byte what
// encoding/json makes of edgesToWire(edges), from the pre-rendered association types: a 1,000-deal
// batch read of a full pull then costs a few appends per edge instead of reflection and a
// MarshalJSON call per type.
func appendMultiAssociations(b []byte, edges []assocEdge) []byte {
	b = append(b, '[')
	for k, e := range edges {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"toObjectId":`...)
		b = strconv.AppendInt(b, e.to, 10)
		b = append(b, `,"associationTypes":`...)
		if e.types == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for j, t := range e.types {
				if j > 0 {
					b = append(b, ',')
				}
				b = t.appendJSON(b)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// handleLabels serves GET .../associations/{from}/{to}/labels (both v4 paths).
func (s *Sandbox) handleLabels(w http.ResponseWriter, r *http.Request) {
	p, ok := s.pairOf(w, r)
	if !ok {
		return
	}
	s.mu.RLock()
	defs := append([]assocType(nil), s.assocDefs[p]...)
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, map[string]any{"results": defs})
}

// handleAssociateDefault serves PUT .../associations/default/{to}/{toId} (200).
func (s *Sandbox) handleAssociateDefault(w http.ResponseWriter, r *http.Request) {
	p, ok := s.pairOf(w, r)
	if !ok {
		return
	}
	fromID, toID := r.PathValue("objectId"), r.PathValue("toObjectId")
	now := s.now()
	s.mu.Lock()
	from, to := s.types[p.from].lookup(fromID, now), s.types[p.to].lookup(toID, now)
	if from == nil || to == nil {
		s.mu.Unlock()
		writeNotFound(w, fromID)
		return
	}
	def := s.assocDefs[p][0]
	s.associate(p, from.id, to.id, []int{def.typeID})
	s.mu.Unlock()
	spec := map[string]any{"associationCategory": def.category, "associationTypeId": def.typeID}
	writeJSON(w, http.StatusOK, map[string]any{"status": "COMPLETE", "startedAt": now.Format(isoMillis), "completedAt": s.now().Format(isoMillis),
		"results": []any{map[string]any{"from": map[string]string{"id": fromID}, "to": map[string]string{"id": toID}, "associationSpec": spec}}})
}

// handleAssociateLabelled serves PUT .../associations/{to}/{toId} with a body of types (201).
func (s *Sandbox) handleAssociateLabelled(w http.ResponseWriter, r *http.Request) {
	p, ok := s.pairOf(w, r)
	if !ok {
		return
	}
	var specs []struct {
		Category string `json:"associationCategory"`
		TypeID   int    `json:"associationTypeId"`
	}
	if !decodeBody(w, r, &specs) {
		return
	}
	fromID, toID := r.PathValue("objectId"), r.PathValue("toObjectId")
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	from, to := s.types[p.from].lookup(fromID, now), s.types[p.to].lookup(toID, now)
	if from == nil || to == nil {
		writeNotFound(w, fromID)
		return
	}
	labels := []string{}
	for _, sp := range specs {
		t, ok := s.assocDef(p, sp.TypeID)
		if !ok || t.category != sp.Category {
			writeError(w, http.StatusBadRequest, catValidation, fmt.Sprintf("Invalid association type %s/%d", sp.Category, sp.TypeID))
			return
		}
		s.associate(p, from.id, to.id, []int{t.typeID})
		if t.label != "" {
			labels = append(labels, t.label)
		}
	}
	writeJSON(w, http.StatusCreated, map[string]any{"fromObjectTypeId": s.types[p.from].id, "fromObjectId": from.id,
		"toObjectTypeId": s.types[p.to].id, "toObjectId": to.id, "labels": labels})
}
