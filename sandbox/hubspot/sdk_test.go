package hubspot

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// sdkResult is what testdata/sdk/script.mjs prints.
type sdkResult struct {
	PageSize         int      `json:"pageSize"`
	PageNextAfter    *string  `json:"pageNextAfter"`
	PagePropertyKeys []string `json:"pagePropertyKeys"`
	AllCount         int      `json:"allCount"`
	AllUniqueIDs     int      `json:"allUniqueIds"`
	CreatedAtIsDate  bool     `json:"createdAtIsDate"`
	GetByIDOwner     string   `json:"getByIdOwner"`
	SearchTotal      int      `json:"searchTotal"`
	SearchStages     []string `json:"searchStages"`
	SearchSorted     bool     `json:"searchSorted"`
	UpdateStatus     string   `json:"updateStatus"`
	UpdateCount      int      `json:"updateCount"`
	ReadBack         []struct {
		ID          string `json:"id"`
		MapStatus   string `json:"map_status"`
		MapProgress string `json:"map_progress"`
	} `json:"readBack"`
	PartialNumErrors  int      `json:"partialNumErrors"`
	InvalidUpdate     any      `json:"invalidUpdate"`
	MapStatusOptions  []string `json:"mapStatusOptions"`
	MapStatusReadOnly bool     `json:"mapStatusReadOnly"`
	AssocTypeIDs      []int    `json:"assocTypeIds"`
	AssocCategories   []string `json:"assocCategories"`
	BatchAssocFrom    string   `json:"batchAssocFrom"`
	Labels            []string `json:"labels"`
	OwnerCount        int      `json:"ownerCount"`
	CreatedArchived   bool     `json:"createdArchived"`
	NotFound          any      `json:"notFound"`
	OAuthExpiresIn    int      `json:"oauthExpiresIn"`
	OAuthContacts     int      `json:"oauthContacts"`
}

const sdkInstall = "npm ci --prefix sandbox/hubspot/testdata/sdk"

// TestSDKCompatibility runs the unmodified @hubspot/api-client 14.x against the sandbox.
func TestSDKCompatibility(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("testdata", "sdk")
	node, err := exec.LookPath("node")
	missing := ""
	switch {
	case err != nil:
		missing = "node is not installed"
	default:
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "@hubspot", "api-client", "package.json")); err != nil {
			missing = "@hubspot/api-client is not installed"
		}
	}
	if missing != "" {
		msg := missing + "; install it with: " + sdkInstall
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	b := setup(t, Options{Deals: 250, CustomProperties: DefaultCustomProperties()})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "script.mjs", b.srv.URL)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node script.mjs: %v\nstderr:\n%s", err, stderr.String())
	}
	var got sdkResult
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("decode script output %q: %v", stdout.String(), err)
	}

	deals := b.sb.IDs("deals")
	checks := []struct {
		name      string
		got, want any
	}{
		{"getPage size", got.PageSize, 100},
		{"getPage has next", got.PageNextAfter != nil, true},
		{"getPage properties", got.PagePropertyKeys, []string{"createdate", "dealname", "dealstage", "hs_lastmodifieddate", "hs_object_id", "map_status"}},
		{"getAll count", got.AllCount, 250},
		{"getAll unique", got.AllUniqueIDs, 250},
		{"createdAt is a Date", got.CreatedAtIsDate, true},
		{"getById owner set", got.GetByIDOwner != "", true},
		{"search stages", got.SearchStages, []string{"closedlost", "closedwon"}},
		{"search sorted", got.SearchSorted, true},
		{"search total > 0", got.SearchTotal > 0, true},
		{"batch update status", got.UpdateStatus, "COMPLETE"},
		{"batch update count", got.UpdateCount, 3},
		{"read back count", len(got.ReadBack), 3},
		{"partial read errors", got.PartialNumErrors, 1},
		{"invalid update rejected", got.InvalidUpdate, float64(400)},
		{"map_status options", got.MapStatusOptions, []string{"not_started", "on_track", "at_risk", "off_track", "completed", "cancelled"}},
		{"map_status writable", got.MapStatusReadOnly, false},
		{"association categories", got.AssocCategories, []string{"HUBSPOT_DEFINED", "USER_DEFINED"}},
		{"association type 3 first", len(got.AssocTypeIDs) > 1 && got.AssocTypeIDs[0] == 3, true},
		{"batch association from", got.BatchAssocFrom, deals[0]},
		{"labels", len(got.Labels), 9},
		{"owners", got.OwnerCount, 9},
		{"create/update/archive", got.CreatedArchived, true},
		{"not found code", got.NotFound, float64(404)},
		{"oauth expires_in", got.OAuthExpiresIn, 1800},
		{"oauth contacts", got.OAuthContacts, 5},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	for _, r := range got.ReadBack {
		if r.MapStatus != "at_risk" || r.MapProgress != "55" {
			t.Errorf("read back %+v, want at_risk and 55", r)
		}
	}
	if n := b.sb.Requests(""); n < 15 {
		t.Errorf("got %d requests counted, want the script's calls", n)
	}
}
