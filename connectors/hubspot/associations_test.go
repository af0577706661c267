package hubspot

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/mapsync/mapsync/connectors"
)

func TestLabelSetDealContacts(t *testing.T) {
	t.Parallel()
	labels := newLabelSet([]associationLabel{
		{Category: "HUBSPOT_DEFINED", TypeID: 3, Label: nil},
		{Category: "USER_DEFINED", TypeID: 28, Label: ptr("Decision Maker")},
		{Category: "USER_DEFINED", TypeID: 29, Label: ptr("Champion")},
		{Category: "USER_DEFINED", TypeID: 30, Label: ptr("Primary Contact")},
	}, nil)
	// toObjectId as number and as string; a label given inline and one resolved through its type id.
	in := `[
	  {"toObjectId":202,"associationTypes":[{"category":"HUBSPOT_DEFINED","typeId":3,"label":null},{"category":"USER_DEFINED","typeId":29,"label":null}]},
	  {"toObjectId":"201","associationTypes":[{"category":"HUBSPOT_DEFINED","typeId":3,"label":null},{"category":"USER_DEFINED","typeId":28,"label":"Decision Maker"},{"category":"USER_DEFINED","typeId":30,"label":null}]},
	  {"toObjectId":1000,"associationTypes":[{"category":"HUBSPOT_DEFINED","typeId":3,"label":null}]}
	]`
	var to []associationTo
	if err := json.Unmarshal([]byte(in), &to); err != nil {
		t.Fatal(err)
	}
	got := labels.dealContacts("512", to)
	want := []connectors.DealContact{
		{DealID: "512", ContactID: "201", Role: "Decision Maker", Primary: true},
		{DealID: "512", ContactID: "202", Role: "Champion"},
		{DealID: "512", ContactID: "1000"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func ptr[T any](v T) *T { return &v }
