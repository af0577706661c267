package main

import (
	"encoding/json"
	"strings"
	"testing"
)

type runSummary struct {
	Mode     string `json:"mode"`
	Status   string `json:"status"`
	APICalls int    `json:"api_calls"`
	Retries  *int   `json:"retries"`
	Took     string `json:"took"`
	Objects  []struct {
		Object    string `json:"object"`
		Read      int    `json:"read"`
		Pages     int    `json:"pages"`
		Inserted  int    `json:"inserted"`
		Updated   int    `json:"updated"`
		Unchanged int    `json:"unchanged"`
		Deleted   int    `json:"deleted"`
		Full      bool   `json:"full"`
		Took      string `json:"took"`
	} `json:"objects"`
}

func syncJSON(t *testing.T, args ...string) (runSummary, string) {
	t.Helper()
	code, out, errOut := runCLI(t, append(args, "--output", "json")...)
	if code != 0 {
		t.Fatalf("mapsync %s: exit %d\n%s\n%s", strings.Join(args, " "), code, out, errOut)
	}
	var s runSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("summary is not one JSON object: %v\n%s", err, out)
	}
	return s, errOut
}

// TestSyncRunSummaries: the first run reads every object whole; an incremental run sees one
// updated and one deleted Opportunity; --full reads everything again and finds nothing new. The
// JSON summary carries every count, and progress goes to stderr.
func TestSyncRunSummaries(t *testing.T) {
	cfg, sb := migratedSandbox(t, 120, nil)
	run := []string{"--config", cfg, "--log-level", "error", "sync", "run", "--connection", "sandbox-salesforce"}

	first, progress := syncJSON(t, run...)
	if first.Status != "succeeded" || first.APICalls == 0 || first.Retries == nil || *first.Retries != 0 || first.Took == "" {
		t.Fatalf("first run: %+v", first)
	}
	if !strings.Contains(progress, "deal") || !strings.Contains(progress, "records") {
		t.Errorf("no progress on stderr: %q", progress)
	}
	deal := func(s runSummary) (read, ins, upd, unch, del int, full bool) {
		for _, o := range s.Objects {
			if o.Object == "deal" {
				return o.Read, o.Inserted, o.Updated, o.Unchanged, o.Deleted, o.Full
			}
		}
		t.Fatalf("no deal object in %+v", s)
		return
	}
	if read, ins, _, _, _, full := deal(first); read != 120 || ins != 120 || !full {
		t.Fatalf("first run deals: read %d inserted %d full %v; want 120, 120, full", read, ins, full)
	}

	ids := sb.Salesforce.IDs("Opportunity")
	if err := sb.Salesforce.UpdateRecord("Opportunity", ids[0], map[string]any{"NextStep": "Security review"}); err != nil {
		t.Fatal(err)
	}
	if err := sb.Salesforce.DeleteRecord("Opportunity", ids[1]); err != nil {
		t.Fatal(err)
	}
	inc, _ := syncJSON(t, run...)
	if _, ins, upd, _, del, full := deal(inc); ins != 0 || upd != 2 || del != 1 || full {
		t.Fatalf("incremental deals: inserted %d updated %d deleted %d full %v; want 0, 2 (one of them deleted), 1, incremental\n%+v", ins, upd, del, full, inc)
	}
	if inc.APICalls >= first.APICalls+5 {
		t.Errorf("incremental run made %d API calls (first run %d)", inc.APICalls, first.APICalls)
	}

	full, _ := syncJSON(t, append(run, "--full")...)
	read, ins, upd, unch, del, isFull := deal(full)
	if full.Mode != "full" || !isFull || ins != 0 || upd != 0 || del != 0 || unch != read || read < 119 {
		t.Fatalf("full run deals: mode %s read %d inserted %d updated %d unchanged %d deleted %d; want everything unchanged\n%+v", full.Mode, read, ins, upd, unch, del, full)
	}
}
