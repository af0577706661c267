package salesforce_test

import (
	"fmt"

	"github.com/mapsync/mapsync/connectors/salesforce"
)

func ExampleQuote() {
	name := `O'Brien \ "Q3"` + "\n"
	fmt.Println("SELECT Id FROM Opportunity WHERE Name = " + salesforce.Quote(name))
	fmt.Println(salesforce.ValidID("006Dn000004ABCdIAO"), salesforce.ValidID("006' OR Id != '"))
	// Output:
	// SELECT Id FROM Opportunity WHERE Name = 'O\'Brien \\ \"Q3\"\n'
	// true false
}
