package instantiate

import (
	"strconv"
	"strings"
	"time"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
)

// view reads one CRM's standard fields. Salesforce stage names are labels; HubSpot's dealstage
// is the stage's internal value (HubSpot's own ids for the default pipeline, e.g.
// "closedwon"), which rules compare against.
type view struct {
	ownerField                                                      string
	name, stage, pipeline, dealType, amount, closeDate, closed, won string
	contactFirst, contactLast, contactEmail                         string
	contactCompany                                                  string
	ownerFirst, ownerLast, ownerName, ownerEmail                    string
	defaultPipeline                                                 string
}

var views = map[string]view{
	"salesforce": {
		ownerField: "OwnerId", name: "Name", stage: "StageName", dealType: "Type", amount: "Amount",
		closeDate: "CloseDate", closed: "IsClosed", won: "IsWon",
		contactFirst: "FirstName", contactLast: "LastName", contactEmail: "Email",
		ownerFirst: "FirstName", ownerLast: "LastName", ownerName: "Name", ownerEmail: "Email",
		// Opportunities have no pipeline; a renewal record type is the usual split. The sandbox
		// and many orgs mark renewals by Type, which rules read as deal.type.
		defaultPipeline: "default",
	},
	"hubspot": {
		ownerField: "hubspot_owner_id", name: "dealname", stage: "dealstage", pipeline: "pipeline",
		dealType: "dealtype", amount: "amount", closeDate: "closedate", closed: "hs_is_closed", won: "hs_is_closed_won",
		contactFirst: "firstname", contactLast: "lastname", contactEmail: "email",
		// HubSpot contacts carry their company's name (deal.account); Salesforce contacts only
		// an AccountId, so a Salesforce deal's account stays empty.
		contactCompany: "company",
		ownerFirst:     "firstName", ownerLast: "lastName", ownerEmail: "email",
		defaultPipeline: "default",
	},
}

func (v view) deal(connection, kind string, b *store.DealBundle) plans.Deal {
	f := b.Deal.Fields
	d := plans.Deal{
		ConnectionName: connection, CRM: kind, ID: b.Deal.ID, Fields: f,
		Name:     str(f[v.name]),
		Stage:    str(f[v.stage]),
		Pipeline: str(f[v.pipeline]),
		Type:     str(f[v.dealType]),
		Amount:   num(f[v.amount]),
		IsClosed: boolean(f[v.closed]),
		IsWon:    boolean(f[v.won]),
		OwnerID:  str(f[v.ownerField]),
	}
	if d.Pipeline == "" {
		d.Pipeline = v.defaultPipeline
		if kind == "salesforce" && d.Type == "Renewal" {
			d.Pipeline = "renewals"
		}
	}
	if cd := str(f[v.closeDate]); cd != "" {
		if t, ok := parseDate(cd); ok {
			d.CloseDate = plans.DateOf(t, time.UTC)
		}
	}
	if b.Owner != nil {
		of := b.Owner.Fields
		name := str(of[v.ownerName])
		if name == "" {
			name = strings.TrimSpace(str(of[v.ownerFirst]) + " " + str(of[v.ownerLast]))
		}
		d.Owner = &plans.Person{ID: b.Owner.ID, Name: name, Email: str(of[v.ownerEmail])}
	}
	for _, r := range b.Roles {
		c := plans.DealContact{ContactID: r.ContactID, Role: r.Role, Primary: r.Primary}
		if rec, ok := b.Contacts[r.ContactID]; ok && !rec.Deleted {
			c.Name = strings.TrimSpace(str(rec.Fields[v.contactFirst]) + " " + str(rec.Fields[v.contactLast]))
			c.Email = str(rec.Fields[v.contactEmail])
			if company := str(rec.Fields[v.contactCompany]); v.contactCompany != "" && company != "" && (d.Account == "" || r.Primary) {
				d.Account = company // the buyer's company: the primary contact's, else the first known
			}
		}
		d.Contacts = append(d.Contacts, c)
	}
	return d
}

// parseDate reads a date as CRMs send it: YYYY-MM-DD, ISO 8601, or epoch milliseconds.
func parseDate(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02", time.RFC3339Nano, "2006-01-02T15:04:05.000-0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), true
	}
	return time.Time{}, false
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case string:
		f, _ := strconv.ParseFloat(x, 64)
		return f
	}
	return 0
}

func boolean(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "true")
	}
	return false
}

// Fields lists, per object, the CRM fields a deal's plan is built from; pulls must fetch them
// on top of what the connector always reads.
func Fields(kind string) map[string][]string {
	v, ok := views[kind]
	if !ok {
		return nil
	}
	deal := []string{v.name, v.stage, v.dealType, v.amount, v.closeDate, v.closed, v.won, v.ownerField}
	if v.pipeline != "" {
		deal = append(deal, v.pipeline)
	}
	owner := []string{v.ownerEmail}
	if v.ownerName != "" {
		owner = append(owner, v.ownerName)
	}
	contact := []string{v.contactFirst, v.contactLast, v.contactEmail}
	if v.contactCompany != "" {
		contact = append(contact, v.contactCompany)
	}
	return map[string][]string{
		"deal":    deal,
		"contact": contact,
		"owner":   append(owner, v.ownerFirst, v.ownerLast),
	}
}
