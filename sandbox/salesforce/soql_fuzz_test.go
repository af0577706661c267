package salesforce

import (
	"strings"
	"testing"

	"github.com/mapsync/mapsync/sandbox/fakedata"
)

// FuzzSOQL feeds arbitrary text to the parser and compiler: they must answer or refuse, never
// panic, and every refusal must carry a code and a message.
func FuzzSOQL(f *testing.F) {
	for _, q := range []string{
		"SELECT Id, Name FROM Opportunity WHERE SystemModstamp > 2024-01-15T10:20:30Z ORDER BY SystemModstamp ASC, Id ASC LIMIT 2000",
		"SELECT Id FROM OpportunityContactRole WHERE OpportunityId IN ('0068c00001QbE6sAAF','0068c00001QbE6t')",
		"SELECT COUNT() FROM Contact WHERE Name LIKE 'a\\_b%' AND (Email = null OR Email != 'x@y.z')",
		"SELECT Id FROM Opportunity WHERE NOT Amount <= -5.5 OFFSET 3",
		"select id from opportunity where closedate >= 2024-01-01 order by amount desc nulls last",
		"SELECT Id FROM Opportunity WHERE Name = 'it\\'s \\u00e9'",
	} {
		f.Add(q)
	}
	objs, err := buildObjects(fakedata.Generate(fakedata.Options{Deals: 3, Seed: 1}), defaultAnchor(), DefaultCustomFields())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, q string) {
		parsed, perr := parseSOQL(q)
		if perr != nil {
			if perr.code == "" || strings.TrimSpace(perr.message(q)) == "" {
				t.Fatalf("refusal without code or message: %+v", perr)
			}
			return
		}
		c, cerr := compileQuery(objs, parsed, true)
		if cerr != nil {
			if cerr.code == "" || cerr.msg == "" {
				t.Fatalf("refusal without code or message: %+v", cerr)
			}
			return
		}
		for _, r := range c.obj.recs { // evaluation must not panic either
			c.match(r)
			c.compareRecords(r, c.obj.recs[0])
		}
	})
}
