package hubspot

import (
	"encoding/json"
	"testing"

	"github.com/mapsync/mapsync/connectors"
)

// Every reply type the connector decodes with a required array refuses JSON without it, and
// takes HubSpot's empty form.
func TestRepliesCheckTheirShape(t *testing.T) {
	t.Parallel()
	for name, newReply := range map[string]func() connectors.Shaped{
		"list":             func() connectors.Shaped { return &listPage{} },
		"search":           func() connectors.Shaped { return &searchPage{} },
		"association read": func() connectors.Shaped { return &associationBatchReply{} },
		"labels":           func() connectors.Shaped { return &labelsReply{} },
		"owners":           func() connectors.Shaped { return &ownersPage{} },
		"properties":       func() connectors.Shaped { return &propertiesReply{} },
		"batch":            func() connectors.Shaped { return &batchReply{} },
	} {
		wrong, empty := newReply(), newReply()
		if err := json.Unmarshal([]byte(`{"message":"ok"}`), wrong); err != nil || wrong.CheckShape() == nil {
			t.Errorf("%s: a reply without results passed (%v)", name, err)
		}
		if err := json.Unmarshal([]byte(`{"results":[]}`), empty); err != nil || empty.CheckShape() != nil {
			t.Errorf("%s: an empty reply was refused (%v)", name, err)
		}
	}
}
