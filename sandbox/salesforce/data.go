package salesforce

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mapsync/mapsync/sandbox/fakedata"
	"github.com/mapsync/mapsync/sandbox/wire"
)

// Key prefixes of the sObjects the sandbox serves.
const (
	prefixAccount     = "001"
	prefixContact     = "003"
	prefixUser        = "005"
	prefixOpportunity = "006"
	prefixOCR         = "00K"
	prefixOrg         = "00D"
	prefixNotify      = "04l"
	prefixAction      = "04k"
	prefixLocator     = "01g"
)

// idSeqStart makes generated ids look like real ones (0068c00001Qb3xA...).
const idSeqStart = 1_300_000_000

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// makeID builds an 18-character case-safe id: the 3-character key prefix, a 2-character pod, a
// reserved 0 and a 9-character base62 sequence, plus the 3-character checksum. Base62 in ASCII
// order makes ids sort in creation order.
func makeID(prefix string, seq uint64) string {
	var b [15]byte
	copy(b[:3], prefix)
	b[3], b[4], b[5] = '8', 'c', '0'
	for i := 14; i >= 6; i-- {
		b[i] = base62[seq%62]
		seq /= 62
	}
	return string(b[:]) + idChecksum(string(b[:]))
}

// idChecksum computes the 3-character suffix that turns a 15-character id into an 18-character one.
func idChecksum(id15 string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	var out [3]byte
	for chunk := range 3 {
		v := 0
		for i := range 5 {
			c := id15[chunk*5+i]
			if c >= 'A' && c <= 'Z' {
				v |= 1 << i
			}
		}
		out[chunk] = alphabet[v]
	}
	return string(out[:])
}

// normalizeID turns a 15- or 18-character id into its 18-character form; ok is false when s is not
// a well-formed id.
func normalizeID(s string) (string, bool) {
	if len(s) != 15 && len(s) != 18 {
		return "", false
	}
	for i := range len(s) {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return "", false
		}
	}
	if len(s) == 15 {
		return s + idChecksum(s), true
	}
	if idChecksum(s[:15]) != strings.ToUpper(s[15:]) && idChecksum(s[:15]) != s[15:] {
		return "", false
	}
	return s[:15] + idChecksum(s[:15]), true
}

// kind says what a value holds.
type kind uint8

const (
	kNull kind = iota
	kText
	kNum
	kBool
	kTime // date or datetime, Unix milliseconds UTC in n (exact below 2^53)
)

// value is one field value. It holds no pointer but the string's, so a large dataset is cheap for
// the garbage collector (an interface per field would be a heap object per field).
type value struct {
	s string
	n float64
	k kind
}

// val converts string, float64, bool, int64 (milliseconds), value or nil.
func val(x any) value {
	switch x := x.(type) {
	case nil:
		return value{}
	case value:
		return x
	case string:
		return value{s: x, k: kText}
	case float64:
		return value{n: x, k: kNum}
	case bool:
		if x {
			return value{n: 1, k: kBool}
		}
		return value{k: kBool}
	case int64:
		return value{n: float64(x), k: kTime}
	}
	panic(fmt.Sprintf("salesforce: unsupported value %T", x))
}

func (v value) null() bool { return v.k == kNull }
func (v value) ms() int64  { return int64(v.n) }

// record is one row of an sObject. vals is indexed by the object's field positions. Records are
// changed in place under the sandbox's write lock.
type record struct {
	id        string
	vals      []value
	stamp     int64 // SystemModstamp, duplicated for the stamp index
	deleted   bool
	deletedAt int64
	// enc is the record rendered once (see object.encode): head r.id, then segment i, the
	// value of field i as JSON. A query page is then `,"Name":` and the segment of each field
	// asked for: copies, instead of formatting and escaping every value again. (The names stay
	// out of enc: they would add a third to the dataset's memory for little speed.) Whatever
	// writes vals calls object.encode afterwards, holding s.mu for writing
	// (TestRenderCacheMatchesValues renders every record both ways after each kind of write);
	// "" (never encoded) renders the slow way.
	enc wire.Frags
}

// encode renders r into r.enc; it is called after every write of r.vals, by a caller holding
// s.mu for writing (or before r is reachable).
func (o *object) encode(r *record) {
	fb := wire.NewFragsBuilder(len(r.vals))
	fb.B = append(fb.B, r.id...)
	for i, v := range r.vals {
		f := o.fields[i]
		fb.Mark(i)
		fb.B = appendValue(fb.B, f, v)
	}
	fb.Mark(len(r.vals))
	r.enc = fb.Done()
	for i, v := range r.vals {
		// A text value whose JSON is just itself in quotes (escaping only ever lengthens a
		// value) shares enc's bytes, so the rendering costs little memory beyond the non-text
		// values' text.
		if seg := r.enc.Span(i, i+1); v.k == kText && v.s != "" && len(seg) == len(v.s)+2 && seg[1:len(seg)-1] == v.s {
			r.vals[i].s = seg[1 : len(seg)-1]
		}
	}
	o.version++
}

// sortedBy returns every record of o (deleted ones too) stably sorted by c's ORDER BY, from the
// cache while no record changed. Callers hold s.mu for reading and must not modify the result.
func (o *object) sortedBy(c *compiledQuery) []*record {
	var kb strings.Builder
	for _, k := range c.order {
		fmt.Fprintf(&kb, "%d/%t/%t,", k.f.idx, k.desc, k.nullsLast)
	}
	key := kb.String()
	o.sortMu.Lock()
	e, ok := o.sorted[key]
	o.sortMu.Unlock()
	if ok && e.version == o.version {
		return e.recs
	}
	recs := slices.Clone(o.recs)
	slices.SortStableFunc(recs, c.compareRecords)
	o.sortMu.Lock()
	defer o.sortMu.Unlock()
	if o.sorted == nil || len(o.sorted) >= 4 {
		o.sorted = map[string]sortedRecs{}
	}
	o.sorted[key] = sortedRecs{version: o.version, recs: recs}
	return recs
}

// sortedRecs is an object's records in one order, as of a version of the object.
type sortedRecs struct {
	version uint64
	recs    []*record
}

// object is one sObject type with its schema, rows and indexes.
type object struct {
	name      string
	label     string
	plural    string
	keyPrefix string
	fields    []*fieldDef
	byName    map[string]*fieldDef // lower-case name
	describe  []byte               // cached describe JSON
	seq       uint64

	recs    []*record          // in id order (ids grow with creation), append-only
	byID    map[string]*record // 18-character id
	byStamp []*record          // in (SystemModstamp, Id) order
	// byParent indexes OpportunityContactRole rows by OpportunityId.
	byParent map[string][]*record
	// deletions is the delete log in deletion order.
	deletions []*record
	// version counts the writes of the object's records (encode bumps it), so that sorted,
	// computed under s.mu held for reading, knows when it is stale.
	version uint64
	// sorted caches all records sorted by an ORDER BY no index serves (keyed by the ORDER BY), so
	// that a query walking them again (a full pull of contact roles in OpportunityId order) does
	// not sort the object each time; sortMu guards it.
	sortMu sync.Mutex
	sorted map[string]sortedRecs

	// positions of the audit fields, -1 when the object has none
	iID, iCreated, iCreatedBy, iModified, iModifiedBy, iStamp, iDeleted int
}

func (o *object) field(name string) *fieldDef { return o.byName[strings.ToLower(name)] }

func (o *object) newID() string {
	o.seq++
	return makeID(o.keyPrefix, o.seq)
}

// stampLess orders records by (SystemModstamp, Id).
func stampLess(a, b *record) int {
	if a.stamp != b.stamp {
		if a.stamp < b.stamp {
			return -1
		}
		return 1
	}
	return strings.Compare(a.id, b.id)
}

// stampSearch returns the first position in byStamp whose key is >= (stamp, id).
func (o *object) stampSearch(stamp int64, id string) int {
	i, _ := slices.BinarySearchFunc(o.byStamp, struct {
		s  int64
		id string
	}{stamp, id}, func(r *record, k struct {
		s  int64
		id string
	}) int {
		if r.stamp != k.s {
			if r.stamp < k.s {
				return -1
			}
			return 1
		}
		return strings.Compare(r.id, k.id)
	})
	return i
}

// load adds a generated record: ids arrive in order, and the stamp index is sorted once after
// loading.
func (o *object) load(r *record) {
	o.recs = append(o.recs, r)
	o.byID[r.id] = r
	o.byStamp = append(o.byStamp, r)
	if o.byParent != nil {
		p := r.vals[o.field("OpportunityId").idx].s
		o.byParent[p] = append(o.byParent[p], r)
	}
}

// insert adds a new record to every index.
func (o *object) insert(r *record) {
	o.encode(r)
	if n := len(o.recs); n > 0 && o.recs[n-1].id > r.id {
		i, _ := slices.BinarySearchFunc(o.recs, r.id, func(x *record, id string) int { return strings.Compare(x.id, id) })
		o.recs = slices.Insert(o.recs, i, r)
	} else {
		o.recs = append(o.recs, r)
	}
	o.byID[r.id] = r
	o.byStamp = slices.Insert(o.byStamp, o.stampSearch(r.stamp, r.id), r)
	if o.byParent != nil {
		if v := r.vals[o.field("OpportunityId").idx]; v.k == kText {
			o.byParent[v.s] = append(o.byParent[v.s], r)
		}
	}
}

// setStamp moves r to its new place in the stamp index and stores the stamp in its fields. Every
// API write of an existing record (update, delete, a primary flag cleared) ends here, which
// renders the record again.
func (o *object) setStamp(r *record, stamp int64) {
	if i := o.stampSearch(r.stamp, r.id); i < len(o.byStamp) && o.byStamp[i] == r {
		o.byStamp = slices.Delete(o.byStamp, i, i+1)
	}
	r.stamp = stamp
	r.vals[o.iStamp] = val(stamp)
	o.encode(r)
	o.byStamp = slices.Insert(o.byStamp, o.stampSearch(stamp, r.id), r)
}

// dataset builds the objects from a fakedata dataset.
func buildObjects(ds *fakedata.Dataset, anchor time.Time, custom []Field) (map[string]*object, error) {
	objs := map[string]*object{}
	for _, spec := range standardSchemas() {
		o := &object{name: spec.name, label: spec.label, plural: spec.plural, keyPrefix: spec.prefix,
			byName: map[string]*fieldDef{}, byID: map[string]*record{}, seq: idSeqStart}
		for _, f := range spec.fields {
			if err := o.addField(f); err != nil {
				return nil, err
			}
		}
		objs[strings.ToLower(o.name)] = o
	}
	for _, f := range custom {
		o := objs[strings.ToLower(f.Object)]
		if o == nil {
			return nil, fmt.Errorf("custom field %s: unknown object %q", f.Name, f.Object)
		}
		f.Custom = true
		if f.Type == "id" {
			return nil, fmt.Errorf("custom field %s.%s: type id is reserved for Id", f.Object, f.Name)
		}
		if f.Type == "reference" && objs[strings.ToLower(f.ReferenceTo)] == nil {
			return nil, fmt.Errorf("custom field %s.%s: reference to unknown object %q", f.Object, f.Name, f.ReferenceTo)
		}
		if err := o.addField(f); err != nil {
			return nil, err
		}
	}
	for _, o := range objs {
		o.iID, o.iCreated, o.iCreatedBy = o.pos("Id"), o.pos("CreatedDate"), o.pos("CreatedById")
		o.iModified, o.iModifiedBy, o.iStamp, o.iDeleted = o.pos("LastModifiedDate"), o.pos("LastModifiedById"), o.pos("SystemModstamp"), o.pos("IsDeleted")
		o.describe = describeJSON(o)
	}
	objs["opportunitycontactrole"].byParent = map[string][]*record{}
	loadDataset(objs, ds, anchor)
	for _, o := range objs {
		slices.SortFunc(o.byStamp, stampLess)
		// Render the records in the order a full pull reads them: (SystemModstamp, Id), or for
		// contact roles their loading order (by opportunity). Their JSON then lies in memory
		// roughly in that order, and a page's walk reads it with fewer cache misses.
		order := o.byStamp
		if o.byParent != nil {
			order = o.recs
		}
		for _, r := range order {
			o.encode(r)
		}
	}
	return objs, nil
}

func (o *object) pos(name string) int {
	if f := o.field(name); f != nil {
		return f.idx
	}
	return -1
}

func (o *object) addField(f Field) error {
	if f.Name == "" {
		return fmt.Errorf("field without a name on %s", o.name)
	}
	if o.field(f.Name) != nil {
		return fmt.Errorf("field %s.%s declared twice", o.name, f.Name)
	}
	if f.Custom && !strings.HasSuffix(f.Name, "__c") {
		return fmt.Errorf("custom field %s.%s: name must end in __c", o.name, f.Name)
	}
	if !knownTypes[f.Type] {
		return fmt.Errorf("field %s.%s: unsupported type %q", o.name, f.Name, f.Type)
	}
	d := &fieldDef{Field: f, idx: len(o.fields), key: `,"` + f.Name + `":`}
	if d.Label == "" {
		d.Label = strings.ReplaceAll(strings.TrimSuffix(f.Name, "__c"), "_", " ")
	}
	if (d.Type == "string" || d.Type == "url" || d.Type == "email" || d.Type == "phone" || d.Type == "textarea" || d.Type == "picklist") && d.Length == 0 {
		d.Length = 255
	}
	if (d.Type == "percent" || d.Type == "double" || d.Type == "currency") && d.Precision == 0 {
		d.Precision, d.Scale = 18, 2
	}
	if d.Type == "int" && d.Precision == 0 {
		d.Precision = 9
	}
	d.picks = map[string]string{}
	for _, v := range f.Picklist {
		d.picks[strings.ToLower(v)] = v
	}
	o.fields = append(o.fields, d)
	o.byName[strings.ToLower(f.Name)] = d
	return nil
}

// loadDataset turns the generated CRM into records. Stamps come from the generator; creators and
// modifiers are the record's owner.
func loadDataset(objs map[string]*object, ds *fakedata.Dataset, anchor time.Time) {
	users, accounts, contacts := objs["user"], objs["account"], objs["contact"]
	opps, ocrs := objs["opportunity"], objs["opportunitycontactrole"]
	ms := func(t time.Time) int64 { return t.UTC().UnixMilli() }
	userIDs := make([]string, len(ds.Owners))
	for i, ow := range ds.Owners {
		r := users.blank(users.newID())
		users.set(r, map[string]any{
			"Username": ow.Email, "FirstName": ow.FirstName, "LastName": ow.LastName,
			"Name": ow.FirstName + " " + ow.LastName, "Email": ow.Email, "IsActive": true, "Title": ow.Title,
		})
		users.audit(r, ms(ow.CreatedAt), ms(ow.CreatedAt), r.id)
		users.load(r)
		userIDs[i] = r.id
	}
	adminID := userIDs[0]
	accountIDs := make([]string, len(ds.Companies))
	for i, c := range ds.Companies {
		r := accounts.blank(accounts.newID())
		created := ms(anchor) - int64(400+i%300)*86400000
		accounts.set(r, map[string]any{
			"Name": c.Name, "Industry": c.Industry, "Website": "https://" + c.Domain, "Type": "Customer",
			"OwnerId": userIDs[i%len(userIDs)],
		})
		accounts.audit(r, created, created, adminID)
		accounts.load(r)
		accountIDs[i] = r.id
	}
	contactIDs := make([]string, len(ds.Contacts))
	for i, c := range ds.Contacts {
		r := contacts.blank(contacts.newID())
		owner := userIDs[c.Owner]
		contacts.set(r, map[string]any{
			"AccountId": accountIDs[c.Company], "FirstName": c.FirstName, "LastName": c.LastName,
			"Name": c.FirstName + " " + c.LastName, "Email": c.Email, "Phone": c.Phone, "Title": c.Title,
			"OwnerId": owner,
		})
		contacts.audit(r, ms(c.CreatedAt), ms(c.ModifiedAt), owner)
		contacts.load(r)
		contactIDs[i] = r.id
	}
	for _, d := range ds.Deals {
		st := fakedata.Pipelines[d.Pipeline][d.Stage]
		r := opps.blank(opps.newID())
		owner := userIDs[d.Owner]
		vals := map[string]any{
			"AccountId": accountIDs[d.Company], "Name": d.Name, "Description": d.Description,
			"StageName": st.Name, "Amount": d.Amount, "Probability": st.Probability,
			"CloseDate": ms(d.CloseDate), "Type": d.Type, "IsClosed": st.Closed, "IsWon": st.Won,
			"ForecastCategoryName": forecastCategory(st), "OwnerId": owner,
		}
		if d.NextStep != "" {
			vals["NextStep"] = d.NextStep
		}
		if d.Quantity != 0 {
			vals["TotalOpportunityQuantity"] = roundTo(d.Quantity, 2)
		}
		opps.set(r, vals)
		opps.audit(r, ms(d.CreatedAt), ms(d.ModifiedAt), owner)
		opps.load(r)
		for _, role := range d.Roles {
			cr := ocrs.blank(ocrs.newID())
			ocrs.set(cr, map[string]any{
				"OpportunityId": r.id, "ContactId": contactIDs[role.Contact], "Role": role.Role, "IsPrimary": role.Primary,
			})
			ocrs.audit(cr, ms(d.CreatedAt), ms(d.CreatedAt), owner)
			ocrs.load(cr)
		}
	}
}

// blank makes a record with every field null except Id and IsDeleted.
func (o *object) blank(id string) *record {
	r := &record{id: id, vals: make([]value, len(o.fields))}
	r.vals[o.iID] = val(id)
	for _, f := range o.fields {
		if f.Type == "boolean" {
			r.vals[f.idx] = val(false)
		}
	}
	return r
}

func (o *object) set(r *record, vals map[string]any) {
	for k, v := range vals {
		r.vals[o.field(k).idx] = val(v)
	}
}

func (o *object) audit(r *record, created, modified int64, by string) {
	r.vals[o.iCreated], r.vals[o.iModified], r.vals[o.iStamp] = val(created), val(modified), val(modified)
	r.vals[o.iCreatedBy], r.vals[o.iModifiedBy] = val(by), val(by)
	r.stamp = modified
}

// stageInfo finds a stage by name in any pipeline.
func stageInfo(name string) (fakedata.Stage, bool) {
	for _, p := range []string{"default", "renewals"} {
		for _, st := range fakedata.Pipelines[p] {
			if strings.EqualFold(st.Name, name) {
				return st, true
			}
		}
	}
	return fakedata.Stage{}, false
}

func forecastCategory(st fakedata.Stage) string {
	switch {
	case st.Closed && st.Won:
		return "Closed"
	case st.Closed:
		return "Omitted"
	case st.Probability >= 90:
		return "Commit"
	case st.Probability >= 60:
		return "Best Case"
	default:
		return "Pipeline"
	}
}

// stageNames lists every stage of every pipeline, default pipeline first.
func stageNames() []string {
	var out []string
	for _, p := range []string{"default", "renewals"} {
		for _, st := range fakedata.Pipelines[p] {
			out = append(out, st.Name)
		}
	}
	return out
}

// Time formats on the wire.
const (
	layoutDateTime = "2006-01-02T15:04:05.000-0700"
	layoutDate     = "2006-01-02"
)

func fmtDateTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000+0000")
}

// appendDateTime appends ms as 2006-01-02T15:04:05.000+0000 (UTC). It writes the digits itself,
// which costs a fraction of AppendFormat's layout walk (rendering a dataset formats millions),
// and leaves years outside 0..9999 to AppendFormat.
func appendDateTime(b []byte, ms int64) []byte {
	t := time.UnixMilli(ms).UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, "2006-01-02T15:04:05.000+0000")
	}
	h, mi, sec := t.Clock()
	b = appendYMD(b, y, int(mo), d)
	b = append(b, 'T', byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':', byte('0'+sec/10), byte('0'+sec%10))
	milli := t.Nanosecond() / 1e6
	return append(b, '.', byte('0'+milli/100), byte('0'+milli/10%10), byte('0'+milli%10), '+', '0', '0', '0', '0')
}

// appendDate appends ms's UTC day as 2006-01-02, like appendDateTime.
func appendDate(b []byte, ms int64) []byte {
	t := time.UnixMilli(ms).UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, layoutDate)
	}
	return appendYMD(b, y, int(mo), d)
}

func appendYMD(b []byte, y, mo, d int) []byte {
	return append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+mo/10), byte('0'+mo%10), '-', byte('0'+d/10), byte('0'+d%10))
}

// parseDateTime accepts the datetime forms clients send: with or without milliseconds, with Z,
// +hh:mm or +hhmm offsets.
func parseDateTime(s string) (int64, bool) {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700", "2006-01-02T15:04:05.000Z0700"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UnixMilli(), true
		}
	}
	return 0, false
}

func parseDate(s string) (int64, bool) {
	t, err := time.Parse(layoutDate, s)
	if err != nil {
		return 0, false
	}
	return t.UnixMilli(), true
}

// roundTo rounds v to scale decimals, as Salesforce stores numbers.
func roundTo(v float64, scale int) float64 {
	p := math.Pow(10, float64(scale))
	return math.Round(v*p) / p
}
