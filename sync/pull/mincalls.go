package pull

import "github.com/mapsync/mapsync/connectors"

// MinCalls is the fewest API requests a full pull of a CRM holding the given records can make by
// the cheapest route each CRM documents; benchmarks hold a pull's calls against it. records counts
// what the CRM holds per object (ObjectDealContact: Salesforce's contact roles; HubSpot's are read
// per deal and need no count).
//
//   - Salesforce ("salesforce"): every object, contact roles included, is one SOQL query read
//     2,000 records a page (the REST query batch maximum).
//   - HubSpot ("hubspot"): deals, contacts and owners listed 100 a page (the v3 list maximum),
//     one archived listing each of deals, contacts and owners (a reconcile sees deletions and
//     deactivated owners there), the association labels once, and the deal-to-contact
//     associations read 1,000 deals a v4 batch call (the documented batch maximum) for the deals
//     the deal listing delivered, without walking the deals again.
func MinCalls(kind string, records map[connectors.Object]int) int {
	pages := func(n, size int) int { return (n + size - 1) / size }
	switch kind {
	case "salesforce":
		n := 0
		for _, o := range connectors.Objects {
			n += pages(records[o], 2000)
		}
		return n
	case "hubspot":
		n := 0
		for _, o := range []connectors.Object{connectors.ObjectOwner, connectors.ObjectContact, connectors.ObjectDeal} {
			n += max(1, pages(records[o], 100))
		}
		return n + 3 + 1 + pages(records[connectors.ObjectDeal], 1000)
	}
	return 0
}
