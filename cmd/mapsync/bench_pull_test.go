package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/mapsync/mapsync/store/storetest"
)

// TestBenchPull runs the pull scenario the way a person does, from the built binary (it runs
// `mapsync sync run` as its own child), on a tiny dataset: every figure the issue names is there
// and positive, the Salesforce pull makes exactly the minimum calls, the peak RSS is the child's
// (far below the parent's sandbox), and no schema is left behind. On the embedded database there
// is no COPY limit to hold the pull against.
func TestBenchPull(t *testing.T) {
	pg := storetest.NewSchema(t)
	bin := mapsyncBinary(t)
	for _, db := range []struct{ name, flag, value string }{{"postgres", "--database-url", pg}, {"embedded", "--db", "embedded"}} {
		t.Run(db.name, func(t *testing.T) {
			cmd := exec.Command(bin, "bench", "pull", "--json", "--scale", "0.002", db.flag, db.value)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("bench pull: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
			}
			var got map[string]map[string]float64
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("stdout is not JSON: %v\n%s", err, out)
			}
			figs := got["pull"]
			keys := []string{"records_per_s", "api_calls", "min_api_calls", "peak_rss_mb", "salesforce_records_per_s", "hubspot_records_per_s"}
			if db.name == "postgres" {
				keys = append(keys, "copy_limit_records_per_s", "salesforce_copy_limit_records_per_s", "hubspot_copy_limit_records_per_s")
			} else if _, ok := figs["copy_limit_records_per_s"]; ok {
				t.Errorf("a COPY limit on the embedded database: %v", figs)
			}
			for _, k := range keys {
				if figs[k] <= 0 {
					t.Errorf("pull.%s: got %v, want a positive number (figures %v)", k, figs[k], figs)
				}
			}
			if figs["salesforce_api_calls"] != figs["salesforce_min_api_calls"] {
				t.Errorf("Salesforce: %v calls, want its minimum %v (one query page per 2,000 records)", figs["salesforce_api_calls"], figs["salesforce_min_api_calls"])
			}
			if figs["hubspot_api_calls"] < figs["hubspot_min_api_calls"] || figs["api_calls"] != figs["salesforce_api_calls"]+figs["hubspot_api_calls"] {
				t.Errorf("HubSpot: %v calls against a minimum of %v; total %v", figs["hubspot_api_calls"], figs["hubspot_min_api_calls"], figs["api_calls"])
			}
			if figs["peak_rss_mb"] >= 200 {
				t.Errorf("peak RSS of a 200-deal pull: %.0f MB, want the child's own (well under 200 MB)", figs["peak_rss_mb"])
			}
			if _, left := leftSchemas(t, pg, stderr.String()); len(left) > 0 {
				t.Errorf("schemas left behind after the run: %v", left)
			}
		})
	}
}
