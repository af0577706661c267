package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mapsync/mapsync/config"
)

// sandboxObjects maps the object names of a connection's fields to each CRM's object.
var sandboxObjects = map[string]map[string]string{
	"salesforce": {"deal": "Opportunity", "contact": "Contact", "deal_contact": "OpportunityContactRole", "owner": "User"},
	"hubspot":    {"deal": "deals", "contact": "contacts"},
}

// TestSandboxCommandServesItsConfig starts `mapsync sandbox` with both addresses and checks that
// what it prints and the config it writes describe the sandboxes it serves: the URLs and
// credentials work, the config validates, and every custom field it names exists in the
// sandbox's describe or properties.
func TestSandboxCommandServesItsConfig(t *testing.T) {
	sfAddr, hsAddr := freeAddr(t), freeAddr(t)
	sfURL, hsURL := "http://"+sfAddr, "http://"+hsAddr
	cfgPath := filepath.Join(t.TempDir(), "sandbox.yaml")
	var out strings.Builder
	stop := startCLI(t, &syncWriter{b: &out}, "sandbox", "--salesforce-addr", sfAddr, "--hubspot-addr", hsAddr, "--deals", "25", "--seed", "9",
		"--write-config", cfgPath, "--token-ttl", "90s", "--salesforce-daily-limit", "5000",
		"--hubspot-burst-limit", "120", "--hubspot-daily-limit", "4000", "--hubspot-search-per-second", "3")
	waitGet(t, hsURL+"/crm/v3/owners", "sandbox-token")
	waitFile(t, cfgPath)

	// The written config validates and names both connections, pointing at the served addresses.
	if code, vout, verr := runCLI(t, "--config", cfgPath, "config", "validate"); code != 0 || strings.TrimSpace(vout) != "ok" {
		t.Fatalf("config validate: exit %d\n%s%s", code, vout, verr)
	}
	cfg, err := config.LoadFile(cfgPath)
	if err != nil {
		t.Fatalf("written config does not load: %v", err)
	}
	sfConn, ok1 := cfg.Connection("sandbox-salesforce")
	hsConn, ok2 := cfg.Connection("sandbox-hubspot")
	if !ok1 || !ok2 || len(cfg.Connections) != 2 || sfConn.Kind != "salesforce" || hsConn.Kind != "hubspot" {
		t.Fatalf("connections: got %+v, want sandbox-salesforce and sandbox-hubspot", cfg.Connections)
	}
	if sfConn.LoginURL != sfURL || hsConn.BaseURL != hsURL || !sfConn.Sandbox || !hsConn.Sandbox {
		t.Fatalf("addresses: login_url %s, base_url %s, want %s and %s", sfConn.LoginURL, hsConn.BaseURL, sfURL, hsURL)
	}

	// Salesforce: the configured credentials get a token whose instance_url is the served address;
	// a query works through it; the configured fields are in the describe.
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {sfConn.OAuth.ClientID},
		"client_secret": {sfConn.OAuth.ClientSecret.Reveal()}, "refresh_token": {sfConn.OAuth.RefreshToken.Reveal()}}
	resp, err := http.PostForm(sfConn.LoginURL+"/services/oauth2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		InstanceURL string `json:"instance_url"`
		ID          string `json:"id"`
	}
	decodeResp(t, resp, http.StatusOK, &tok)
	if tok.AccessToken == "" || tok.InstanceURL != sfURL || !strings.Contains(tok.ID, "/id/") {
		t.Fatalf("token grant: got %+v, want a token for instance %s", tok, sfURL)
	}
	var qr struct {
		TotalSize int              `json:"totalSize"`
		Done      bool             `json:"done"`
		Records   []map[string]any `json:"records"`
	}
	resp = getWith(t, tok.InstanceURL+"/services/data/v62.0/query?q="+url.QueryEscape("SELECT Id, Name, StageName, MAP_Status__c FROM Opportunity ORDER BY Id"), tok.AccessToken)
	if got := resp.Header.Get("Sforce-Limit-Info"); !strings.HasSuffix(got, "/5000") {
		t.Errorf("Sforce-Limit-Info %q, want the --salesforce-daily-limit of 5000", got)
	}
	decodeResp(t, resp, http.StatusOK, &qr)
	if qr.TotalSize != 25 || !qr.Done || len(qr.Records) != 25 || qr.Records[0]["Name"] == nil {
		t.Fatalf("query: got %d records (totalSize %d), want 25", len(qr.Records), qr.TotalSize)
	}
	for object, fields := range sfConn.Fields {
		sobject := sandboxObjects["salesforce"][object]
		var d struct {
			Fields []struct {
				Name   string `json:"name"`
				Custom bool   `json:"custom"`
			} `json:"fields"`
		}
		decodeResp(t, getWith(t, tok.InstanceURL+"/services/data/v62.0/sobjects/"+sobject+"/describe", tok.AccessToken), http.StatusOK, &d)
		have := map[string]bool{}
		for _, f := range d.Fields {
			have[f.Name] = true
		}
		for _, f := range fields {
			if !have[f] {
				t.Errorf("sandbox-salesforce names %s.%s, but the %s describe has no such field", object, f, sobject)
			}
		}
	}

	// HubSpot: every configured property exists; the limit flags show in the headers.
	if len(hsConn.Fields["deal"]) == 0 {
		t.Fatalf("sandbox-hubspot names no deal fields: %+v", hsConn.Fields)
	}
	for object, fields := range hsConn.Fields {
		for _, f := range fields {
			resp := getWith(t, hsConn.BaseURL+"/crm/v3/properties/"+sandboxObjects["hubspot"][object]+"/"+f, hsConn.PrivateAppToken.Reveal())
			var p struct {
				Name                 string         `json:"name"`
				ModificationMetadata map[string]any `json:"modificationMetadata"`
			}
			decodeResp(t, resp, http.StatusOK, &p)
			if p.Name != f || p.ModificationMetadata["readOnlyValue"] != false {
				t.Errorf("sandbox-hubspot names %s.%s: got property %+v, want a writable one", object, f, p)
			}
			if resp.Header.Get("X-HubSpot-RateLimit-Max") != "120" || resp.Header.Get("X-HubSpot-RateLimit-Daily") != "4000" {
				t.Errorf("rate-limit headers %v, want the flags' 120 and 4000", resp.Header)
			}
		}
	}
	var lim struct {
		BurstLimit, DailyLimit, SearchPerSecond int
	}
	decodeResp(t, getWith(t, hsURL+"/__sandbox/limits", ""), http.StatusOK, &lim)
	if lim.BurstLimit != 120 || lim.DailyLimit != 4000 || lim.SearchPerSecond != 3 {
		t.Errorf("HubSpot limits: got %+v", lim)
	}
	resp, err = http.PostForm(hsURL+"/oauth/v1/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"sandbox-client-id"},
		"client_secret": {"sandbox-client-secret"}, "refresh_token": {"sandbox-refresh-token"}})
	if err != nil {
		t.Fatal(err)
	}
	var hsTok struct {
		ExpiresIn int `json:"expires_in"`
	}
	decodeResp(t, resp, http.StatusOK, &hsTok)
	if hsTok.ExpiresIn != 90 {
		t.Errorf("HubSpot OAuth expires_in %d, want the --token-ttl of 90", hsTok.ExpiresIn)
	}

	// The unmodified @hubspot/api-client drives the command's sandbox too (it writes map_status).
	runHubSpotSDK(t, hsURL)

	if code := stop(); code != 0 {
		t.Fatalf("sandbox exited %d", code)
	}
	for _, want := range []string{
		"Salesforce sandbox: " + sfURL, "login URL " + sfURL, "client id sandbox-client-id", "client secret sandbox-client-secret",
		"refresh token sandbox-refresh-token", "password grant: sandbox@mapsync.example / sandbox-password",
		"HubSpot sandbox: " + hsURL, "private-app token sandbox-token",
		"Salesforce: tokens live 1m30s, 5000 requests/day", "HubSpot: OAuth tokens live 1m30s, 120 calls/10s, 4000 calls/day, 3 searches/s",
		"25 deals, seed 9", "wrote " + cfgPath,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestSandboxCommandLimitFlags: bad limit flags are usage errors; --no-limits is printed.
func TestSandboxCommandLimitFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--no-limits", "--hubspot-burst-limit", "10"},
		{"--no-limits", "--salesforce-daily-limit", "10"},
		{"--hubspot-daily-limit", "-1"},
		{"--token-ttl", "-5m"},
	} {
		code, _, errOut := runCLI(t, append([]string{"sandbox", "--hubspot-addr", "127.0.0.1:0", "--salesforce-addr", "127.0.0.1:0"}, args...)...)
		if code != 2 || !strings.Contains(errOut, "--") {
			t.Errorf("%v: got exit %d %q, want a usage error", args, code, errOut)
		}
	}
	sfAddr := freeAddr(t)
	var out strings.Builder
	stop := startCLI(t, &syncWriter{b: &out}, "sandbox", "--salesforce-addr", sfAddr, "--deals", "3", "--no-limits")
	waitGet(t, "http://"+sfAddr+"/services/data/", "")
	if code := stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out.String(), "Limits: Salesforce: tokens live 2h0m0s, no limits") || strings.Contains(out.String(), "HubSpot") {
		t.Errorf("output:\n%s", out.String())
	}
}

// runHubSpotSDK runs sandbox/hubspot/testdata/sdk/script.mjs (the unmodified @hubspot/api-client)
// against baseURL when node and the client are installed (scripts/test.sh installs them).
func runHubSpotSDK(t *testing.T, baseURL string) {
	t.Helper()
	dir := filepath.Join("..", "..", "sandbox", "hubspot", "testdata", "sdk")
	node, err := exec.LookPath("node")
	_, statErr := os.Stat(filepath.Join(dir, "node_modules", "@hubspot", "api-client", "package.json"))
	if err != nil || statErr != nil {
		msg := "node or @hubspot/api-client is not installed (scripts/test.sh installs it)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Log("skipping the @hubspot/api-client run: " + msg)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "script.mjs", baseURL)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("@hubspot/api-client against the command's sandbox: %v\nstderr: %s", err, stderr.String())
	}
	var res struct {
		AllCount         int      `json:"allCount"`
		MapStatusOptions []string `json:"mapStatusOptions"`
		ReadBack         []struct {
			MapStatus string `json:"map_status"`
		} `json:"readBack"`
		InvalidUpdate any `json:"invalidUpdate"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("script output: %v\n%s", err, stdout.String())
	}
	if res.AllCount != 25 || len(res.MapStatusOptions) == 0 || len(res.ReadBack) != 3 || res.ReadBack[0].MapStatus != "at_risk" || res.InvalidUpdate != float64(400) {
		t.Fatalf("@hubspot/api-client observations: %s", stdout.String())
	}
}

func getWith(t *testing.T, u, token string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func decodeResp(t *testing.T, resp *http.Response, status int, v any) {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != status {
		t.Fatalf("%s %s: got %d %s, want %d", resp.Request.Method, resp.Request.URL, resp.StatusCode, body, status)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%s: %v: %s", resp.Request.URL, err, body)
	}
}

// waitFile waits until path exists and is not empty.
func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s was not written", path)
}
