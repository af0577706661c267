package hubspot_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/connectors/hubspot"
	sandbox "github.com/mapsync/mapsync/sandbox/hubspot"
)

// Pull the deals changed since a cursor, page by page, from a sandbox standing in for HubSpot.
func Example() {
	sb := sandbox.New(sandbox.Options{Deals: 300, Seed: 1})
	defer sb.Close()
	srv := httptest.NewServer(sb)
	defer srv.Close()

	c, err := hubspot.New(hubspot.Options{
		Connection: "acme",
		BaseURL:    srv.URL, // default https://api.hubapi.com
		Auth:       connectors.NewStaticToken(sandbox.PrivateAppToken),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var deals, pages int
	err = c.Pull(context.Background(), connectors.PullRequest{Object: connectors.ObjectDeal}, func(p connectors.Page) error {
		// Store p.Records and p.Cursor in one transaction here.
		deals += len(p.Records)
		pages++
		return nil
	})
	fmt.Println(deals, "deals in", pages, "pages, error:", err)
	// Output: 300 deals in 2 pages, error: <nil>
}
