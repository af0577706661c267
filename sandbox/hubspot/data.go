package hubspot

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mapsync/mapsync/sandbox/fakedata"
	"github.com/mapsync/mapsync/sandbox/wire"
)

// record is one CRM object. vals is indexed like objectType.props; "" means no value (null).
type record struct {
	id        int64
	idStr     string
	vals      []string
	createdAt time.Time
	updatedAt time.Time
	archived  bool
	archAt    time.Time
	// visibleAt hides a record from every read until the clock reaches it (the late-visibility
	// trap); held hides it until released through the control API.
	visibleAt time.Time
	held      bool
	// late is a change of the record LateRecord holds back: reads serve the values above until
	// it is committed.
	late *lateChange
	// enc is the record's JSON rendered once (see wire.Frags): head `{"id":"…","properties":{`,
	// then segment i, value i as JSON (a quoted, escaped string, or null), then tail
	// `},"createdAt":"…","updatedAt":"…"`. A page is then the head, `"name":` and the segment of
	// each property asked for, and the tail: copies, instead of escaping every value again. (The
	// names stay out of enc: they would add a third to the dataset's memory for little speed.)
	// The values that need no escaping are substrings of enc, so the cache costs little memory.
	// Whatever writes vals calls objectType.encode afterwards, holding s.mu for writing
	// (TestRenderCacheMatchesValues renders every record both ways).
	enc wire.Frags
}

func (rec *record) get(i int) string {
	if i < 0 || i >= len(rec.vals) {
		return ""
	}
	return rec.vals[i]
}

// objectType holds one object type's property definitions and records, kept sorted by id.
type objectType struct {
	name       string // "deals"
	id         string // "0-3"
	singular   string // "deal"
	upper      string // "DEAL" in error messages
	stampProp  string // hs_lastmodifieddate or lastmodifieddate
	props      []*Property
	keys       []string // `"name":` of each property, rendered once
	propIdx    map[string]int
	defaults   []int // properties returned when none are requested
	always     []int // properties always returned (hs_object_id, createdate, stamp)
	searchable []int // properties the free-text query looks at
	propsStamp time.Time

	records []*record // sorted by id
	byID    map[int64]*record
	nextID  int64

	iObjectID, iCreate, iStamp int
	// seeding defers encode while seed fills the type; seed renders every record at its end.
	seeding bool
}

func newObjectType(name, id, singular, stampProp string, firstID int64, props []*Property, now time.Time) *objectType {
	ot := &objectType{name: name, id: id, singular: singular, upper: strings.ToUpper(singular), stampProp: stampProp,
		propIdx: map[string]int{}, byID: map[int64]*record{}, nextID: firstID, propsStamp: now.AddDate(-3, 0, 0)}
	for _, p := range props {
		ot.addProperty(p)
	}
	ot.iObjectID, ot.iCreate, ot.iStamp = ot.propIdx["hs_object_id"], ot.propIdx["createdate"], ot.propIdx[stampProp]
	ot.always = []int{ot.iCreate, ot.iStamp, ot.iObjectID}
	return ot
}

func (ot *objectType) addProperty(p *Property) {
	if p.FieldType == "" {
		p.FieldType = defaultFieldType(p.Type)
	}
	if _, ok := ot.propIdx[p.Name]; ok {
		ot.props[ot.propIdx[p.Name]] = p
		return
	}
	ot.propIdx[p.Name] = len(ot.props)
	ot.props = append(ot.props, p)
	ot.keys = append(ot.keys, string(append(appendString(nil, p.Name), ':')))
}

func (ot *objectType) indexes(names ...string) []int {
	out := make([]int, 0, len(names))
	for _, n := range names {
		if i, ok := ot.propIdx[n]; ok {
			out = append(out, i)
		}
	}
	return out
}

// insert adds a new record with the next id; vals must be sized to len(props).
func (ot *objectType) insert(vals []string, created, updated time.Time) *record {
	id := ot.nextID
	ot.nextID++
	rec := &record{id: id, idStr: strconv.FormatInt(id, 10), vals: vals, createdAt: created, updatedAt: updated}
	rec.vals[ot.iObjectID] = rec.idStr
	rec.vals[ot.iCreate] = created.Format(isoMillis)
	rec.vals[ot.iStamp] = updated.Format(isoMillis)
	ot.records = append(ot.records, rec)
	ot.byID[id] = rec
	ot.encode(rec)
	return rec
}

// touch bumps the modification stamp of rec to t.
func (ot *objectType) touch(rec *record, t time.Time) {
	rec.updatedAt = t
	rec.vals[ot.iStamp] = t.Format(isoMillis)
	ot.encode(rec)
}

// encode renders rec into rec.enc (see record.enc); it is called after every write of
// rec.vals, by a caller holding s.mu for writing (or before rec is reachable).
func (ot *objectType) encode(rec *record) {
	if ot.seeding {
		return
	}
	fb := wire.NewFragsBuilder(len(rec.vals))
	fb.B = append(fb.B, `{"id":`...)
	fb.B = appendString(fb.B, rec.idStr)
	fb.B = append(fb.B, `,"properties":{`...)
	for i, v := range rec.vals {
		fb.Mark(i)
		if v == "" {
			fb.B = append(fb.B, "null"...)
		} else {
			fb.B = appendString(fb.B, v)
		}
	}
	fb.Mark(len(rec.vals))
	fb.B = append(fb.B, `},"createdAt":"`...)
	fb.B = append(fb.B, rec.vals[ot.iCreate]...)
	fb.B = append(fb.B, `","updatedAt":"`...)
	fb.B = append(fb.B, rec.vals[ot.iStamp]...)
	fb.B = append(fb.B, '"')
	enc := fb.Done()
	for i, v := range rec.vals {
		// A value whose JSON is just itself in quotes (escaping only ever lengthens a value)
		// shares enc's bytes.
		seg := enc.Span(i, i+1)
		if lo, hi := 1, len(seg)-1; v != "" && hi-lo == len(v) && seg[lo:hi] == v {
			rec.vals[i] = seg[lo:hi]
		}
	}
	rec.enc = enc
}

func (ot *objectType) newVals() []string { return make([]string, len(ot.props)) }

// stageInfo describes one deal stage of a pipeline.
type stageInfo struct {
	id, label, pipeline string
	order               int
	probability         float64 // 0..1
	closed, won         bool
}

type pipelineInfo struct {
	id, label string
	stages    []stageInfo
}

// salesPipeline is the deal pipeline of a fresh HubSpot portal: id "default", label "Sales
// Pipeline", and HubSpot's own internal stage ids, labels, display order, probabilities and closed
// flags (HubSpot's "Set up and customize your deal pipelines and deal stages"; the pipelines API
// reports them with metadata.probability "0.2" and metadata.isClosed "false"). An integration
// written against a real portal sends these ids.
var salesPipeline = []stageInfo{
	{id: "appointmentscheduled", label: "Appointment Scheduled", probability: 0.2},
	{id: "qualifiedtobuy", label: "Qualified To Buy", probability: 0.4},
	{id: "presentationscheduled", label: "Presentation Scheduled", probability: 0.6},
	{id: "decisionmakerboughtin", label: "Decision Maker Bought-In", probability: 0.8},
	{id: "contractsent", label: "Contract Sent", probability: 0.9},
	{id: "closedwon", label: "Closed Won", probability: 1, closed: true, won: true},
	{id: "closedlost", label: "Closed Lost", probability: 0, closed: true},
}

// salesStageOf maps fakedata's default-pipeline stages (Salesforce's standard opportunity stages)
// onto the Sales Pipeline's, so that generated deals fill every stage.
var salesStageOf = map[string]string{
	"Prospecting":          "appointmentscheduled",
	"Qualification":        "qualifiedtobuy",
	"Needs Analysis":       "presentationscheduled",
	"Value Proposition":    "decisionmakerboughtin",
	"Proposal/Price Quote": "decisionmakerboughtin",
	"Negotiation/Review":   "contractsent",
	"Closed Won":           "closedwon",
	"Closed Lost":          "closedlost",
}

// pipelines returns the sandbox's deal pipelines: the Sales Pipeline of a fresh portal, then
// "renewals" (label Renewals) with fakedata's renewal stages, whose ids are the slugified names
// ("renewaldue", "renewalnegotiation", "renewed", "churned"). A real portal gives the pipelines
// and stages it creates generated numeric ids; the sandbox keeps readable ones so that the example
// templates can name the pipeline.
func pipelines() []pipelineInfo {
	out := []pipelineInfo{{id: "default", label: "Sales Pipeline"}}
	for i, st := range salesPipeline {
		st.pipeline, st.order = "default", i
		out[0].stages = append(out[0].stages, st)
	}
	ren := pipelineInfo{id: "renewals", label: "Renewals"}
	for i, st := range fakedata.Pipelines["renewals"] {
		ren.stages = append(ren.stages, stageInfo{id: stageID(st.Name), label: st.Name, pipeline: ren.id, order: i,
			probability: st.Probability / 100, closed: st.Closed, won: st.Won})
	}
	return append(out, ren)
}

// dealStage returns the stage id of a generated deal.
func dealStage(d fakedata.Deal) string {
	name := fakedata.Pipelines[d.Pipeline][d.Stage].Name
	if d.Pipeline == "default" {
		return salesStageOf[name]
	}
	return stageID(name)
}

// stageID slugifies a stage name: "Renewal Due" -> "renewaldue".
func stageID(name string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(name) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// dealTypeValue turns fakedata deal types into HubSpot's dealtype values.
func dealTypeValue(t string) string {
	switch t {
	case "New Business":
		return "newbusiness"
	case "Existing Business":
		return "existingbusiness"
	}
	return strings.ToLower(strings.ReplaceAll(t, " ", ""))
}

func dealProperties(pls []pipelineInfo, owners []Option) []*Property {
	var stageOpts, pipeOpts []Option
	for pi, p := range pls {
		pipeOpts = append(pipeOpts, Option{Label: p.label, Value: p.id, DisplayOrder: pi})
		for _, st := range p.stages {
			stageOpts = append(stageOpts, Option{Label: st.label, Value: st.id, DisplayOrder: st.order,
				Description: fmt.Sprintf("%s pipeline stage", p.label)})
		}
	}
	typeOpts := []Option{{Label: "New Business", Value: "newbusiness"}, {Label: "Existing Business", Value: "existingbusiness", DisplayOrder: 1},
		{Label: "Renewal", Value: "renewal", DisplayOrder: 2}}
	std := func(name, label, typ, fieldType string) *Property {
		return &Property{ObjectType: "deals", Name: name, Label: label, Type: typ, FieldType: fieldType, HubSpotDefined: true}
	}
	ro := func(p *Property) *Property { p.ReadOnly = true; return p }
	calc := func(p *Property) *Property { p.ReadOnly, p.Calculated = true, true; return p }
	owner := std("hubspot_owner_id", "Deal owner", "enumeration", "select")
	owner.Options, owner.ReferencedObjectType = owners, "OWNER"
	stage := std("dealstage", "Deal Stage", "enumeration", "radio")
	stage.Options = stageOpts
	pipe := std("pipeline", "Pipeline", "enumeration", "select")
	pipe.Options = pipeOpts
	dt := std("dealtype", "Deal Type", "enumeration", "radio")
	dt.Options = typeOpts
	return []*Property{
		std("dealname", "Deal Name", "string", "text"),
		std("amount", "Amount", "number", "number"),
		stage, pipe,
		std("closedate", "Close Date", "datetime", "date"),
		std("createdate", "Create Date", "datetime", "date"),
		ro(std("hs_lastmodifieddate", "Last Modified Date", "datetime", "date")),
		ro(std("hs_object_id", "Record ID", "number", "number")),
		owner, dt,
		std("description", "Deal Description", "string", "textarea"),
		std("hs_next_step", "Next step", "string", "textarea"),
		calc(std("hs_deal_stage_probability", "Deal Stage Probability", "number", "calculation_equation")),
		calc(std("hs_is_closed", "Is Deal Closed?", "bool", "booleancheckbox")),
		calc(std("hs_is_closed_won", "Is Closed Won", "bool", "booleancheckbox")),
		std("num_associated_contacts", "Number of Associated Contacts", "number", "number"),
	}
}

func contactProperties(owners []Option) []*Property {
	std := func(name, label, typ, fieldType string) *Property {
		return &Property{ObjectType: "contacts", Name: name, Label: label, Type: typ, FieldType: fieldType, HubSpotDefined: true}
	}
	owner := std("hubspot_owner_id", "Contact owner", "enumeration", "select")
	owner.Options, owner.ReferencedObjectType = owners, "OWNER"
	stamp := std("lastmodifieddate", "Last Modified Date", "datetime", "date")
	stamp.ReadOnly = true
	id := std("hs_object_id", "Record ID", "number", "number")
	id.ReadOnly = true
	return []*Property{
		std("email", "Email", "string", "text"),
		std("firstname", "First Name", "string", "text"),
		std("lastname", "Last Name", "string", "text"),
		std("phone", "Phone Number", "string", "phonenumber"),
		std("jobtitle", "Job Title", "string", "text"),
		std("company", "Company Name", "string", "text"),
		std("createdate", "Create Date", "datetime", "date"),
		stamp, id, owner,
	}
}

// owner is a HubSpot owner (a user who can own records).
type owner struct {
	id, userID       int64
	email            string
	first, last      string
	createdAt, updAt time.Time
	archived         bool
}

const (
	firstDealID    = 10_000_000_001
	firstContactID = 20_000_000_001
	firstOwnerID   = 70_000_001
	firstUserID    = 9_000_001
)

// seed fills the sandbox from a fakedata dataset.
func (s *Sandbox) seed(opts Options) {
	now := s.now()
	// With a clock of the caller's, the generated dates lie in the months before it (open deals
	// close after it); without one they are anchored at fakedata's default day, the same everywhere.
	var anchor time.Time
	if opts.Now != nil {
		anchor = now
	}
	ds := fakedata.Generate(fakedata.Options{Deals: opts.Deals, Seed: opts.Seed, Now: anchor})
	pls := pipelines()
	s.pipelines = pls
	s.stages = map[string]stageInfo{}
	for _, p := range pls {
		for _, st := range p.stages {
			s.stages[st.id] = st
		}
	}
	var ownerOpts []Option
	for i, o := range ds.Owners {
		ow := &owner{id: firstOwnerID + int64(i), userID: firstUserID + int64(i), email: o.Email, first: o.FirstName,
			last: o.LastName, createdAt: o.CreatedAt, updAt: o.CreatedAt.AddDate(0, 1, 0)}
		s.owners = append(s.owners, ow)
		ownerOpts = append(ownerOpts, Option{Label: o.FirstName + " " + o.LastName + " (" + o.Email + ")",
			Value: strconv.FormatInt(ow.id, 10), DisplayOrder: -1})
	}
	deals := newObjectType("deals", "0-3", "deal", "hs_lastmodifieddate", firstDealID, dealProperties(pls, ownerOpts), now)
	contacts := newObjectType("contacts", "0-1", "contact", "lastmodifieddate", firstContactID, contactProperties(ownerOpts), now)
	deals.seeding, contacts.seeding = true, true
	for _, p := range opts.CustomProperties {
		p := p
		switch p.ObjectType {
		case "deals", "0-3", "deal":
			deals.addProperty(&p)
		case "contacts", "0-1", "contact":
			contacts.addProperty(&p)
		}
	}
	deals.defaults = deals.indexes("dealname", "amount", "dealstage", "pipeline", "closedate", "createdate", "hs_lastmodifieddate", "hs_object_id")
	deals.searchable = deals.indexes("dealname", "description")
	contacts.defaults = contacts.indexes("email", "firstname", "lastname", "createdate", "lastmodifieddate", "hs_object_id")
	contacts.searchable = contacts.indexes("email", "firstname", "lastname", "phone", "company")
	s.types = map[string]*objectType{"deals": deals, "contacts": contacts}
	s.typeByAlias = map[string]*objectType{"deals": deals, "deal": deals, "0-3": deals, "contacts": contacts, "contact": contacts, "0-1": contacts}
	s.initAssociationTypes()

	ci := func(name string) int { return contacts.propIdx[name] }
	contactIDs := make([]int64, len(ds.Contacts))
	for i, c := range ds.Contacts {
		v := contacts.newVals()
		v[ci("email")], v[ci("firstname")], v[ci("lastname")] = c.Email, c.FirstName, c.LastName
		v[ci("phone")], v[ci("jobtitle")], v[ci("company")] = c.Phone, c.Title, ds.Companies[c.Company].Name
		v[ci("hubspot_owner_id")] = strconv.FormatInt(s.owners[c.Owner].id, 10)
		rec := contacts.insert(v, c.CreatedAt, c.ModifiedAt)
		contactIDs[i] = rec.id
	}
	di := func(name string) int { return deals.propIdx[name] }
	for _, d := range ds.Deals {
		v := deals.newVals()
		st := s.stages[dealStage(d)]
		v[di("dealname")] = d.Name
		v[di("amount")] = strconv.FormatFloat(d.Amount, 'f', -1, 64)
		v[di("dealstage")], v[di("pipeline")] = st.id, d.Pipeline
		v[di("closedate")] = d.CloseDate.UTC().Format(isoMillis)
		v[di("hubspot_owner_id")] = strconv.FormatInt(s.owners[d.Owner].id, 10)
		v[di("dealtype")] = dealTypeValue(d.Type)
		v[di("description")], v[di("hs_next_step")] = d.Description, d.NextStep
		v[di("num_associated_contacts")] = strconv.Itoa(len(d.Roles))
		rec := deals.insert(v, d.CreatedAt, d.ModifiedAt)
		s.deriveDeal(rec)
		for _, role := range d.Roles {
			s.associateRole(rec.id, contactIDs[role.Contact], role.Role, role.Primary)
		}
	}
	// Render every record now, in id order (the order lists page through them), with nothing
	// else allocated in between: a page's JSON then lies in memory roughly in page order, and
	// serving it misses the cache less.
	for _, ot := range []*objectType{contacts, deals} {
		ot.seeding = false
		for _, rec := range ot.records {
			ot.encode(rec)
		}
	}
}

// deriveDeal recomputes the calculated deal properties from the stage.
func (s *Sandbox) deriveDeal(rec *record) {
	deals := s.types["deals"]
	st, ok := s.stages[rec.get(deals.propIdx["dealstage"])]
	if !ok {
		return
	}
	rec.vals[deals.propIdx["hs_deal_stage_probability"]] = strconv.FormatFloat(st.probability, 'f', -1, 64)
	rec.vals[deals.propIdx["hs_is_closed"]] = strconv.FormatBool(st.closed)
	rec.vals[deals.propIdx["hs_is_closed_won"]] = strconv.FormatBool(st.won)
	deals.encode(rec)
}
