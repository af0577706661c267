package salesforce_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/mapsync/mapsync/sandbox/salesforce"
)

// Serve a sandbox, log in with the refresh token and run a query, as a connector would.
func Example() {
	sb := salesforce.New(salesforce.Options{Deals: 50, Seed: 1})
	defer sb.Close()
	srv := httptest.NewServer(sb)
	defer srv.Close()

	resp, err := http.PostForm(srv.URL+"/services/oauth2/token", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {salesforce.ClientID},
		"client_secret": {salesforce.ClientSecret}, "refresh_token": {salesforce.RefreshToken},
	})
	if err != nil {
		panic(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		InstanceURL string `json:"instance_url"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	soql := "SELECT Id, Name FROM Opportunity WHERE StageName = 'Closed Won' ORDER BY Name LIMIT 3"
	req, _ := http.NewRequest("GET", tok.InstanceURL+"/services/data/v62.0/query?q="+url.QueryEscape(soql), nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var page struct {
		TotalSize int  `json:"totalSize"`
		Done      bool `json:"done"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&page)
	fmt.Println(resp.StatusCode, page.TotalSize, page.Done, strings.HasPrefix(resp.Header.Get("Sforce-Limit-Info"), "api-usage="))
	// Output: 200 3 true true
}

// Reproduce the shared-stamp trap: a mass update gives many records one SystemModstamp.
func ExampleSandbox_MassUpdate() {
	now := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	sb := salesforce.New(salesforce.Options{Deals: 100, Seed: 1, Now: func() time.Time { return now }})
	defer sb.Close()
	res, err := sb.MassUpdate("Opportunity", 0, map[string]any{"MAP_Status__c": "On Track"})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Updated, res.SystemModstamp)
	// Output: 100 2026-11-23T09:30:00.000+0000
}
