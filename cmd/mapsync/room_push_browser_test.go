package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mapsync/mapsync/web/webtest"
)

// TestRoomPushesToCRM, on both databases: a seller completes an action in the plan room, in
// headless Chromium, against the serve binary; the room's progress moves and, through the push
// pipeline, the HubSpot sandbox deal's mapped fields show the new progress.
func TestRoomPushesToCRM(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			e := newPushE2E(t, backend, 4)
			e.serve = startServe(t, e.cfg)
			mustRun(t, "--config", e.cfg, "--log-level", "warn", "sync", "run", "--connection", "sandbox-hubspot")
			p := e.mainPlan("sandbox-hubspot")
			waitFor(t, 30*time.Second, "deal shows the plan as created", e.hubspotShows(p))

			var actionID string
			for _, ph := range p.Phases {
				for _, a := range ph.Actions {
					if actionID == "" && a.Status != "done" && a.Status != "skipped" {
						actionID = a.ID
					}
				}
			}
			if actionID == "" {
				t.Fatalf("plan %s has no open action", p.ID)
			}
			b := webtest.New(t, 90*time.Second)
			b.SignIn(t, e.serve.base, e.token)
			b.Do(t, "open the room and complete the action",
				chromedp.Navigate(e.serve.base+"/room/"+p.ID),
				chromedp.WaitVisible(chromedp.ID("status-"+actionID)),
				chromedp.SetValue(chromedp.ID("status-"+actionID), "done"),
				chromedp.Click(chromedp.CSS(`#a-`+actionID+` .status-form button`)),
				chromedp.WaitVisible(chromedp.CSS(`#a-`+actionID+` .badge.status[data-status="done"]`)),
			)
			var after apiPlan
			e.api(http.MethodGet, "/api/v1/plans/"+p.ID, nil, &after)
			if after.Progress.PercentComplete <= p.Progress.PercentComplete {
				t.Fatalf("progress after completing in the room: %d, before %d", after.Progress.PercentComplete, p.Progress.PercentComplete)
			}
			shown := webtest.Get(t, b, "read the room's progress", chromedp.AttributeValue(chromedp.ID("progress"), "data-percent"))
			if shown.Value != fmt.Sprint(after.Progress.PercentComplete) {
				t.Errorf("room shows %q%%, the API %d%%", shown.Value, after.Progress.PercentComplete)
			}
			waitFor(t, 30*time.Second, "the HubSpot deal shows the room's change", e.hubspotShows(after))
		})
	}
}
