// Package fakedata generates a deterministic, realistic CRM dataset (owners, companies, contacts,
// deals with contact roles, modification stamps spread over past months) that both CRM sandboxes
// translate into their own wire shapes. The same seed gives the same data on every machine.
package fakedata

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Owner is a seller-side CRM user.
type Owner struct {
	Index     int
	FirstName string
	LastName  string
	Email     string
	Title     string
	CreatedAt time.Time
}

// Company is a buyer organisation (Salesforce Account, HubSpot company).
type Company struct {
	Index    int
	Name     string
	Domain   string
	Industry string
}

// Contact is a buyer-side person.
type Contact struct {
	Index     int
	Company   int // index into Dataset.Companies
	FirstName string
	LastName  string
	Email     string
	Phone     string
	Title     string
	// Owner is the seller who owns the contact (index into Dataset.Owners): the owner of the
	// deal it was generated for.
	Owner      int
	CreatedAt  time.Time
	ModifiedAt time.Time
}

// Role is a contact's role on a deal.
type Role struct {
	Contact int // index into Dataset.Contacts
	Role    string
	Primary bool
}

// Deal is an opportunity.
type Deal struct {
	Index    int
	Name     string
	Company  int // index into Dataset.Companies
	Owner    int // index into Dataset.Owners
	Pipeline string
	Stage    int // index into the pipeline's stages (see Stages)
	Amount   float64
	// Quantity is the number of units sold (seats, licences); 0 means none recorded. It may have
	// decimals (e.g. 4.8 units of a package priced per 1,250).
	Quantity    float64
	CloseDate   time.Time // a date (midnight UTC)
	Type        string
	NextStep    string
	Description string
	CreatedAt   time.Time
	ModifiedAt  time.Time
	Roles       []Role
}

// Stage is one step of a sales pipeline.
type Stage struct {
	Name        string
	Probability float64 // percent, 0..100
	Closed      bool
	Won         bool
}

// Pipelines names the sales pipelines and their stages, in order. Every generated deal belongs to
// one. The default pipeline's stages are Salesforce's standard opportunity stages, which the
// Salesforce sandbox uses as they are; the HubSpot sandbox maps them onto a fresh portal's Sales
// Pipeline (appointmentscheduled ... closedlost) and keeps the renewals stages in a pipeline of
// their own.
var Pipelines = map[string][]Stage{
	"default": {
		{Name: "Prospecting", Probability: 10},
		{Name: "Qualification", Probability: 20},
		{Name: "Needs Analysis", Probability: 30},
		{Name: "Value Proposition", Probability: 50},
		{Name: "Proposal/Price Quote", Probability: 75},
		{Name: "Negotiation/Review", Probability: 90},
		{Name: "Closed Won", Probability: 100, Closed: true, Won: true},
		{Name: "Closed Lost", Probability: 0, Closed: true},
	},
	"renewals": {
		{Name: "Renewal Due", Probability: 60},
		{Name: "Renewal Negotiation", Probability: 80},
		{Name: "Renewed", Probability: 100, Closed: true, Won: true},
		{Name: "Churned", Probability: 0, Closed: true},
	},
}

// ContactRoles are the contact roles a deal's contacts carry (Salesforce OpportunityContactRole
// picklist values, HubSpot association labels).
var ContactRoles = []string{
	"Decision Maker", "Economic Buyer", "Champion", "Technical Buyer", "Evaluator", "Influencer",
	"Business User", "Executive Sponsor",
}

// DealTypes are the Opportunity Type values.
var DealTypes = []string{"New Business", "Existing Business", "Renewal"}

// Dataset is a generated CRM.
type Dataset struct {
	Owners    []Owner
	Companies []Company
	Contacts  []Contact
	Deals     []Deal
}

// Options tune Generate.
type Options struct {
	// Deals is how many deals to generate; contacts are about two per deal.
	Deals int
	// Seed makes the data deterministic.
	Seed uint64
	// Now anchors every date: stamps fall in the months before it and close dates around it.
	// Zero means 2026-11-01T00:00:00Z, so that the default dataset is the same everywhere.
	Now time.Time
}

var (
	firstNames = []string{"Ava", "Liam", "Maya", "Noah", "Zoe", "Ethan", "Priya", "Lucas", "Chloe", "Mateo",
		"Hana", "Oliver", "Amara", "Leo", "Ines", "Kai", "Sofia", "Arjun", "Elena", "Tomas", "Yuki", "Grace",
		"Omar", "Freya", "Daniel", "Lena", "Samuel", "Nora", "Isaac", "Mila"}
	lastNames = []string{"Patel", "Nguyen", "Schmidt", "Okafor", "Garcia", "Kowalski", "Rossi", "Tanaka",
		"Andersson", "Dubois", "Murphy", "Silva", "Cohen", "Novak", "Haddad", "Fischer", "Kim", "Larsen",
		"Moreau", "Reyes", "Walsh", "Ivanova", "Costa", "Berg", "Mensah", "Sato", "Bauer", "Khan", "Lopez", "Quinn"}
	companyStems = []string{"Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay",
		"Soylent", "Cyberdyne", "Tyrell", "Wonka", "Aperture", "Massive", "Gringotts", "Oscorp", "Pied Piper",
		"Nakatomi", "Dunder", "Monarch", "Blue Sun", "Virtucon", "Bluth", "Prestige", "Sterling", "Octan",
		"Zorg", "Buy n Large", "Rekall", "Weyland"}
	companySuffixes = []string{"Corp", "Industries", "Labs", "Systems", "Group", "Holdings", "Health",
		"Logistics", "Financial", "Energy"}
	industries = []string{"Technology", "Healthcare", "Finance", "Manufacturing", "Retail", "Energy",
		"Logistics", "Education"}
	products = []string{"Platform", "Analytics Suite", "Security Add-on", "Data Migration", "Enterprise Plan",
		"Team Plan", "Premium Support", "Onboarding Package", "API Access", "Expansion"}
	titles = []string{"VP Sales", "CFO", "CTO", "Head of Procurement", "IT Director", "Operations Manager",
		"CEO", "Legal Counsel", "Product Lead", "Security Architect"}
	nextSteps = []string{"Send proposal", "Schedule security review", "Legal redlines", "Demo for IT",
		"Confirm budget", "Executive sync", "Pricing call", "Sign order form", ""}
)

// Generate builds a dataset from opts.
func Generate(opts Options) *Dataset {
	now := opts.Now
	if now.IsZero() {
		now = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	}
	now = now.UTC()
	r := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	past := func(maxDays int) time.Time {
		return now.Add(-time.Duration(r.Float64() * float64(maxDays) * float64(24*time.Hour))).Truncate(time.Second)
	}

	ds := &Dataset{}
	nOwners := max(3, min(50, opts.Deals/40+3))
	for i := range nOwners {
		fn, ln := firstNames[(i*7)%len(firstNames)], lastNames[(i*11+3)%len(lastNames)]
		ds.Owners = append(ds.Owners, Owner{
			Index: i, FirstName: fn, LastName: ln,
			Email:     fmt.Sprintf("%s.%s%d@seller.example.com", lower(fn), lower(ln), i),
			Title:     "Account Executive",
			CreatedAt: now.AddDate(-2, 0, -i),
		})
	}
	nCompanies := max(1, opts.Deals/3+1)
	for i := range nCompanies {
		stem := companyStems[i%len(companyStems)]
		suffix := companySuffixes[(i/len(companyStems))%len(companySuffixes)]
		name := stem + " " + suffix
		if n := i / (len(companyStems) * len(companySuffixes)); n > 0 {
			name = fmt.Sprintf("%s %d", name, n+1)
		}
		ds.Companies = append(ds.Companies, Company{
			Index: i, Name: name, Domain: fmt.Sprintf("%s%d.example.com", lower(stem), i), Industry: pick(industries),
		})
	}
	newContact := func(company, owner int) int {
		i := len(ds.Contacts)
		fn, ln := pick(firstNames), pick(lastNames)
		created := past(400)
		ds.Contacts = append(ds.Contacts, Contact{
			Index: i, Company: company, FirstName: fn, LastName: ln,
			Email:      fmt.Sprintf("%s.%s%d@%s", lower(fn), lower(ln), i, ds.Companies[company].Domain),
			Phone:      fmt.Sprintf("+1 555 %03d %04d", r.IntN(1000), r.IntN(10000)),
			Title:      pick(titles),
			Owner:      owner,
			CreatedAt:  created,
			ModifiedAt: laterThan(r, created, now),
		})
		return i
	}
	for i := range opts.Deals {
		company := r.IntN(nCompanies)
		pipeline := "default"
		if r.IntN(5) == 0 {
			pipeline = "renewals"
		}
		stages := Pipelines[pipeline]
		stage := r.IntN(len(stages))
		dealType := DealTypes[r.IntN(2)]
		if pipeline == "renewals" {
			dealType = "Renewal"
		}
		created := past(240)
		// Closed deals closed in the past; open ones are expected to close in the coming months.
		closeDate := now.AddDate(0, 0, 7+r.IntN(150)).Truncate(24 * time.Hour)
		if stages[stage].Closed {
			closeDate = created.Add(now.Sub(created) / 2).Truncate(24 * time.Hour)
		}
		amount := float64(5+r.IntN(400)) * 1000
		if r.IntN(10) == 0 {
			amount *= 5
		}
		d := Deal{
			Index: i, Company: company, Owner: r.IntN(nOwners), Pipeline: pipeline, Stage: stage,
			Name:        fmt.Sprintf("%s - %s", ds.Companies[company].Name, pick(products)),
			Amount:      amount,
			Quantity:    quantity(i, amount),
			CloseDate:   closeDate,
			Type:        dealType,
			NextStep:    pick(nextSteps),
			Description: fmt.Sprintf("%s opportunity for %s (%s).", dealType, ds.Companies[company].Name, ds.Companies[company].Industry),
			CreatedAt:   created,
			ModifiedAt:  laterThan(r, created, now),
		}
		nRoles := 1 + r.IntN(3) // 1..3, about two on average
		used := map[string]bool{}
		for k := range nRoles {
			role := ContactRoles[r.IntN(len(ContactRoles))]
			if used[role] {
				role = ContactRoles[(r.IntN(len(ContactRoles))+k)%len(ContactRoles)]
			}
			used[role] = true
			d.Roles = append(d.Roles, Role{Contact: newContact(company, d.Owner), Role: role, Primary: k == 0})
		}
		ds.Deals = append(ds.Deals, d)
	}
	return ds
}

// unitPrices are the list prices per unit that quantities derive from; 0 leaves the quantity
// unset (a deal without line items).
var unitPrices = []float64{500, 1250, 0, 1000, 250, 0, 2000}

// quantity derives a deal's unit count from its index and amount without drawing a random
// number, so adding it did not change any other generated value.
func quantity(i int, amount float64) float64 {
	p := unitPrices[i%len(unitPrices)]
	if p == 0 {
		return 0
	}
	return amount / p
}

// laterThan returns a time between t and now. It draws exactly one number whatever the span, so
// the anchor never shifts the random sequence: the same seed gives the same records (names,
// contacts, roles) whatever day the data is anchored at.
func laterThan(r *rand.Rand, t, now time.Time) time.Time {
	f := r.Float64()
	span := now.Sub(t)
	if span <= 0 {
		return t
	}
	return t.Add(time.Duration(f * float64(span))).Truncate(time.Second)
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
		if c == ' ' {
			b[i] = '-'
		}
	}
	return string(b)
}
