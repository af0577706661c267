package hubspot

import (
	"context"
	"fmt"
	"net/http"

	"github.com/mapsync/mapsync/connectors"
)

// Describe returns the field metadata of deals or contacts from GET /crm/v3/properties/{type}, in
// HubSpot's order, leaving out archived properties. See fieldMeta for the mapping.
func (c *Connector) Describe(ctx context.Context, object connectors.Object) ([]connectors.FieldMeta, error) {
	spec, err := specFor(object)
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", object, &connectors.Error{Kind: connectors.KindPermanent, Message: err.Error()})
	}
	var pr propertiesReply
	if _, err := c.do(ctx, call{op: "describe", method: http.MethodGet, path: "crm/v3/properties/" + spec.typ}, &pr); err != nil {
		return nil, fmt.Errorf("describe %s: %w", object, err)
	}
	out := make([]connectors.FieldMeta, 0, len(pr.Results))
	for _, p := range pr.Results {
		if p.Archived || p.Name == "" {
			continue
		}
		out = append(out, fieldMeta(p))
	}
	return out, nil
}
