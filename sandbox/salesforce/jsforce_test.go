package salesforce_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mapsync/mapsync/sandbox/salesforce"
)

const jsforceInstall = "npm ci --prefix sandbox/salesforce/testdata/jsforce"

// requireJSForce returns the script path, or skips (fails under CI=true) when node or the
// installed jsforce is missing.
func requireJSForce(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("testdata/jsforce")
	if err != nil {
		t.Fatal(err)
	}
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not installed; install Node.js 20 or later, then run from the repository root: " + jsforceInstall
	} else if _, err := os.Stat(filepath.Join(dir, "node_modules", "jsforce", "package.json")); err != nil {
		missing = "jsforce is not installed; run from the repository root: " + jsforceInstall
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(missing)
		}
		t.Skip(missing)
	}
	return filepath.Join(dir, "script.mjs")
}

type jsforceOutput struct {
	Refreshed   int    `json:"refreshed"`
	InstanceURL string `json:"instanceUrl"`
	Login       *struct {
		UserID         string `json:"userId"`
		OrganizationID string `json:"organizationId"`
	} `json:"login"`
	Query struct {
		TotalSize int            `json:"totalSize"`
		Fetched   int            `json:"fetched"`
		Done      bool           `json:"done"`
		Distinct  int            `json:"distinct"`
		First     map[string]any `json:"first"`
	} `json:"query"`
	Identity struct {
		UserID         string `json:"userId"`
		OrganizationID string `json:"organizationId"`
		Username       string `json:"username"`
	} `json:"identity"`
	OpenCount       int `json:"openCount"`
	QueryAllDeleted int `json:"queryAllDeleted"`
	Describe        struct {
		Name   string `json:"name"`
		Fields int    `json:"fields"`
		Status struct {
			Type       string   `json:"type"`
			Restricted bool     `json:"restricted"`
			Values     []string `json:"values"`
		} `json:"status"`
	} `json:"describe"`
	Single struct {
		ID      string `json:"id"`
		Success bool   `json:"success"`
	} `json:"single"`
	Collection []struct {
		ID      string `json:"id"`
		Success bool   `json:"success"`
		Errors  []struct {
			StatusCode string `json:"statusCode"`
		} `json:"errors"`
	} `json:"collection"`
	SingleError struct {
		Name      string `json:"name"`
		ErrorCode string `json:"errorCode"`
	} `json:"singleError"`
	ReadSingle map[string]any   `json:"readSingle"`
	ReadMany   []map[string]any `json:"readMany"`
	Created    struct {
		ID      string `json:"id"`
		Success bool   `json:"success"`
	} `json:"created"`
	UpdatedIDs []string `json:"updatedIds"`
	DeletedIDs []string `json:"deletedIds"`
	LimitInfo  struct {
		APIUsage struct {
			Used  int `json:"used"`
			Limit int `json:"limit"`
		} `json:"apiUsage"`
	} `json:"limitInfo"`
}

// TestJSForce runs an unmodified jsforce 3.x against the sandbox: login (refresh after a 401, or
// the password grant), paging with autoFetch, describe, single and collection updates, read
// back, create and the updated/ endpoint.
func TestJSForce(t *testing.T) {
	t.Parallel()
	script := requireJSForce(t)
	for _, mode := range []string{"refresh", "password"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			sb := salesforce.New(salesforce.Options{Deals: 700, Seed: 11})
			srv := httptest.NewServer(sb)
			t.Cleanup(func() {
				srv.Close()
				sb.Close()
			})
			ids := sb.IDs("Opportunity")
			if err := sb.DeleteRecord("Opportunity", ids[len(ids)-1]); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "node", script, srv.URL, mode)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			stdout, err := cmd.Output()
			if err != nil {
				t.Fatalf("node script: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout)
			}
			var out jsforceOutput
			if err := json.Unmarshal(stdout, &out); err != nil {
				t.Fatalf("script output: %v\n%s", err, stdout)
			}
			if mode == "refresh" && out.Refreshed != 1 {
				t.Errorf("got %d token refreshes after the stale token, want 1", out.Refreshed)
			}
			if mode == "password" && (out.Login == nil || out.Login.UserID != sb.UserID() || out.Login.OrganizationID != sb.OrgID()) {
				t.Errorf("password login: got %+v", out.Login)
			}
			if out.Identity.UserID != sb.UserID() || out.Identity.OrganizationID != sb.OrgID() || out.Identity.Username == "" {
				t.Errorf("identity: got %+v", out.Identity)
			}
			if out.InstanceURL != srv.URL {
				t.Errorf("got instanceUrl %q, want %q", out.InstanceURL, srv.URL)
			}
			live := len(ids) - 1
			if q := out.Query; q.TotalSize != live || q.Fetched != live || q.Distinct != live || !q.Done {
				t.Errorf("autoFetch: got %+v, want %d records", q, live)
			}
			if n, want := sb.Requests("query.more"), int64((live+199)/200-1); n != want {
				t.Errorf("got %d queryMore calls, want %d (batchSize=200)", n, want)
			}
			if out.OpenCount == 0 || out.QueryAllDeleted != 1 {
				t.Errorf("count %d, queryAll deleted %d", out.OpenCount, out.QueryAllDeleted)
			}
			if d := out.Describe; d.Name != "Opportunity" || d.Fields < 20 || d.Status.Type != "picklist" || !d.Status.Restricted ||
				!slices.Equal(d.Status.Values, salesforce.MAPStatusValues) {
				t.Errorf("describe: got %+v", d)
			}
			first := out.Query.First["Id"].(string)
			if !out.Single.Success || out.Single.ID != first {
				t.Errorf("single update: got %+v", out.Single)
			}
			if len(out.Collection) != 2 || !out.Collection[0].Success || out.Collection[1].Success ||
				out.Collection[1].Errors[0].StatusCode != "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" {
				t.Errorf("collection update: got %+v", out.Collection)
			}
			if out.SingleError.ErrorCode != "STRING_TOO_LONG" {
				t.Errorf("single update error: got %+v", out.SingleError)
			}
			if out.ReadSingle["MAP_Status__c"] != "On Track" || out.ReadSingle["MAP_Progress__c"] != 40.0 {
				t.Errorf("read back: got %v", out.ReadSingle)
			}
			if len(out.ReadMany) != 3 || out.ReadMany[1]["MAP_Status__c"] != "At Risk" || out.ReadMany[1]["MAP_Next_Step__c"] != "Security review" ||
				out.ReadMany[2]["MAP_Status__c"] != nil {
				t.Errorf("read many: got %v", out.ReadMany)
			}
			if !out.Created.Success || len(out.Created.ID) != 18 {
				t.Errorf("create: got %+v", out.Created)
			}
			if !slices.Contains(out.UpdatedIDs, first) || !slices.Contains(out.UpdatedIDs, out.Created.ID) {
				t.Errorf("updated/: got %v, want %s and %s among them", out.UpdatedIDs, first, out.Created.ID)
			}
			if len(out.DeletedIDs) != 1 || out.DeletedIDs[0] != ids[len(ids)-1] {
				t.Errorf("deleted/: got %v, want [%s]", out.DeletedIDs, ids[len(ids)-1])
			}
			used, max := sb.APIUsage()
			if out.LimitInfo.APIUsage.Limit != int(max) || out.LimitInfo.APIUsage.Used == 0 || out.LimitInfo.APIUsage.Used > int(used) {
				t.Errorf("limit info: got %+v, sandbox %d/%d", out.LimitInfo, used, max)
			}
			rec, _ := sb.Record("Opportunity", first)
			if rec["MAP_Status__c"] != "On Track" {
				t.Errorf("sandbox state after jsforce update: %v", rec["MAP_Status__c"])
			}
		})
	}
}
