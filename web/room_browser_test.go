package web

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
	"github.com/mapsync/mapsync/web/webtest"
)

var update = flag.Bool("update", false, "write the README's screenshots of the room (docs/img/room-*.png)")

// The plan room in headless Chromium, on the API and pages as serve mounts them, on both
// databases. Each subtest makes its own plan, browser and session, so each passes alone; every
// wait is on a condition of the page.

// status navigates to path and returns the HTTP status of the document.
func status(t *testing.T, b *webtest.Browser, url string) int64 {
	t.Helper()
	res := webtest.Get(t, b, "open "+url, chromedp.NavigateResponse(url))
	if res == nil {
		t.Fatalf("open %s: no response", url)
	}
	return res.Status
}

// pageHTML returns the document as the browser holds it.
func pageHTML(t *testing.T, b *webtest.Browser) string {
	t.Helper()
	return webtest.Get(t, b, "read the page", chromedp.Evaluate[string](`document.documentElement.outerHTML`))
}

// joinAs opens link in b and joins the room.
func joinAs(t *testing.T, b *webtest.Browser, e *roomEnv, link string, planID string) {
	t.Helper()
	if st := status(t, b, e.base+link); st != 200 {
		t.Fatalf("join page: status %d", st)
	}
	b.Do(t, "join the room",
		chromedp.WaitVisible(chromedp.ID("join-room")),
		chromedp.Click(chromedp.ID("join-room")),
		chromedp.WaitVisible(chromedp.CSS(`#room[data-plan="`+planID+`"]`)),
	)
}

// waitJS waits until the JavaScript expression is true, across page loads (a form's submit
// navigates while the condition is read: an evaluation that fails then is tried again).
func waitJS(t *testing.T, b *webtest.Browser, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](`(() => { try { return !!(`+expr+`); } catch (e) { return false; } })()`))
		if err == nil && ok {
			return
		}
		last = err
		select {
		case <-b.Ctx.Done():
			t.Fatalf("%s: %v", what, b.Ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	url, _ := chromedp.Run(b.Ctx, chromedp.Location())
	status, _ := chromedp.Run(b.Ctx, chromedp.Evaluate[string](`document.getElementById("room-status")?.textContent || ""`))
	t.Fatalf("%s: not true after 20s (last error %v; page %s; room status %q)", what, last, url, status)
}

func TestRoomBrowser(t *testing.T) {
	for _, backend := range storetest.Backends {
		t.Run(string(backend), func(t *testing.T) {
			t.Run("buyer_link_shows_no_internal", func(t *testing.T) {
				e := newRoomEnv(t, backend)
				b := webtest.New(t, 90*time.Second)
				_, link := e.invite(e.plan, 0)
				joinAs(t, b, e, link, e.plan.ID)
				forecast := e.plan.ActionByKey("forecast").ID
				room := pageHTML(t, b)
				if !strings.Contains(room, "Review the proposal") || !strings.Contains(room, `data-view="buyer"`) {
					t.Fatalf("the buyer's room does not show the plan")
				}
				for _, secret := range []string{internalTitle, forecast, internalComment} {
					if strings.Contains(room, secret) {
						t.Errorf("the buyer's room HTML contains %q", secret)
					}
				}
				b.Screenshot(t, *update, "room-buyer.png")
				n := webtest.Get(t, b, "count actions", chromedp.Evaluate[int](`document.querySelectorAll("li.action").length`))
				if want := len(plans.BuyerView(e.plan).Actions()); n != want {
					t.Errorf("actions in the buyer's DOM: got %d, want %d (the shared ones)", n, want)
				}
				review := e.plan.ActionByKey("review").ID
				if st := status(t, b, e.base+"/room/"+e.plan.ID+"/actions/"+review); st != 200 {
					t.Fatalf("action page: status %d", st)
				}
				b.Do(t, "wait for the conversation", chromedp.WaitVisible(chromedp.CSS("ol.comments")))
				page := pageHTML(t, b)
				if strings.Contains(page, internalComment) || !strings.Contains(page, "Here is the proposal") {
					t.Errorf("buyer's action page: internal comment shown %v, shared comment shown %v; want false, true",
						strings.Contains(page, internalComment), strings.Contains(page, "Here is the proposal"))
				}
				if st := status(t, b, e.base+"/room/"+e.plan.ID+"/actions/"+forecast); st != 404 {
					t.Errorf("the internal action's page: status %d, want 404", st)
				}
				if st := status(t, b, e.base+"/room/"+e.other.ID); st != 403 {
					t.Errorf("another plan's room: status %d, want 403", st)
				}
				if strings.Contains(pageHTML(t, b), e.other.Name) {
					t.Errorf("the refusal shows the other plan's name")
				}
			})

			t.Run("completing_an_action_moves_progress", func(t *testing.T) {
				e := newRoomEnv(t, backend)
				b := webtest.New(t, 90*time.Second)
				b.SignIn(t, e.base, e.token)
				kickoff := e.plan.ActionByKey("kickoff").ID
				if st := status(t, b, e.base+"/room/"+e.plan.ID); st != 200 {
					t.Fatalf("room: status %d", st)
				}
				before := webtest.Get(t, b, "read progress", chromedp.AttributeValue(chromedp.ID("progress"), "data-percent"))
				if before.Value != "0" {
					t.Fatalf("progress before: got %q, want 0", before.Value)
				}
				b.Do(t, "mark the kickoff done",
					chromedp.SetValue(chromedp.ID("status-"+kickoff), "done"),
					chromedp.Click(chromedp.CSS(`#a-`+kickoff+` .status-form button`)),
				)
				waitJS(t, b, "progress moves", `document.getElementById("progress")?.dataset.percent !== "0"`)
				want := e.fresh(e.plan.ID).Progress(e.clock.Now()).PercentComplete
				if want == 0 {
					t.Fatalf("stored progress did not move: the kickoff is %s", e.fresh(e.plan.ID).ActionByKey("kickoff").Status)
				}
				shown := webtest.Get(t, b, "read progress", chromedp.AttributeValue(chromedp.ID("progress"), "data-percent"))
				if shown.Value != fmt.Sprint(want) {
					t.Errorf("progress shown: got %q, want the stored %d", shown.Value, want)
				}
				got := webtest.Get(t, b, "read the status", chromedp.TextContent(chromedp.CSS(`#a-`+kickoff+` .badge.status`)))
				if got != "Done" {
					t.Errorf("kickoff's status badge: got %q, want Done", got)
				}
				b.Screenshot(t, *update, "room-seller.png")
			})

			t.Run("drag_to_another_phase_persists", func(t *testing.T) {
				e := newRoomEnv(t, backend)
				b := webtest.New(t, 90*time.Second)
				b.SignIn(t, e.base, e.token)
				kickoff := e.plan.ActionByKey("kickoff").ID
				decide := e.plan.Phases[1].ID
				if st := status(t, b, e.base+"/room/"+e.plan.ID); st != 200 {
					t.Fatalf("room: status %d", st)
				}
				// A real drag: the mouse presses the handle, moves over the last action of
				// Decide, below its middle, and releases (native HTML5 drag and drop).
				b.Do(t, "drag the kickoff to Decide",
					// A drag does not scroll: a tall window holds both ends.
					chromedp.EmulateViewport(1280, 2400),
					chromedp.WaitVisible(chromedp.CSS(`#a-`+kickoff+` .drag-handle`)),
					chromedp.Action[chromedp.Void](func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
						from, err := chromedp.Dimensions(chromedp.CSS(`#a-`+kickoff+` .drag-handle`))(ctx, tg)
						if err != nil {
							return chromedp.Void{}, err
						}
						to, err := chromedp.Dimensions(chromedp.CSS(`ol[data-phase="`+decide+`"] > li.action:last-child`))(ctx, tg)
						if err != nil {
							return chromedp.Void{}, err
						}
						fx, fy := center(from.Content)
						tx, _ := center(to.Content)
						ty := to.Content[5] - 4 // just above its bottom edge: after it
						return chromedp.DragAndDropXY(fx, fy, tx, ty, 20)(ctx, tg)
					}),
				)
				waitJS(t, b, "the page shows the kickoff in Decide", `!!document.querySelector('ol[data-phase="`+decide+`"] > #a-`+kickoff+`')`)
				b.Do(t, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("room")))
				ids := webtest.Get(t, b, "read Decide", chromedp.Evaluate[[]string](`[...document.querySelectorAll('ol[data-phase="`+decide+`"] > li.action')].map(li => li.dataset.action)`))
				if len(ids) != 3 || ids[2] != kickoff {
					t.Errorf("Decide after reload: got %v, want the kickoff last of 3", ids)
				}
				p := e.fresh(e.plan.ID)
				if ph := p.Phases[1]; len(ph.Actions) != 3 || ph.Actions[2].ID != kickoff {
					t.Errorf("stored: kickoff is not the last action of Decide")
				}
			})

			t.Run("move_with_the_keyboard_persists", func(t *testing.T) {
				e := newRoomEnv(t, backend)
				b := webtest.New(t, 90*time.Second)
				b.SignIn(t, e.base, e.token)
				sign := e.plan.ActionByKey("sign").ID
				discover := e.plan.Phases[0].ID
				kickoff := e.plan.ActionByKey("kickoff").ID
				if st := status(t, b, e.base+"/room/"+e.plan.ID); st != 200 {
					t.Fatalf("room: status %d", st)
				}
				// The alternative to dragging, by keyboard: open the details, choose in the
				// select, press Enter on the Move button.
				b.Do(t, "move the signature before the kickoff",
					chromedp.Focus(chromedp.CSS(`#a-`+sign+` details.more summary`)),
					chromedp.KeyEvent("\r"),
					chromedp.WaitVisible(chromedp.ID("move-"+sign)),
					chromedp.SetValue(chromedp.ID("move-"+sign), discover+"|"+kickoff),
					chromedp.Focus(chromedp.CSS(`#a-`+sign+` .move-form button`)),
					chromedp.KeyEvent("\r"),
				)
				waitJS(t, b, "the signature shows first in Discover", `document.querySelector('ol[data-phase="`+discover+`"] > li.action')?.dataset.action === "`+sign+`"`)
				b.Do(t, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("room")))
				first := webtest.Get(t, b, "read Discover", chromedp.Evaluate[string](`document.querySelector('ol[data-phase="`+discover+`"] > li.action').dataset.action`))
				if first != sign || e.fresh(e.plan.ID).Phases[0].Actions[0].ID != sign {
					t.Errorf("after reload: first of Discover is %s, want the signature %s", first, sign)
				}
			})

			t.Run("stale_edit_is_reported", func(t *testing.T) {
				e := newRoomEnv(t, backend)
				b := webtest.New(t, 90*time.Second)
				b.SignIn(t, e.base, e.token)
				review := e.plan.ActionByKey("review")
				if st := status(t, b, e.base+"/room/"+e.plan.ID+"/actions/"+review.ID); st != 200 {
					t.Fatalf("action page: status %d", st)
				}
				b.Do(t, "read the page", chromedp.WaitVisible(chromedp.ID("edit-form")))
				// Someone else changes the action after the page was read.
				st := plans.StatusInProgress
				if _, _, err := e.api.Service().Change(context.Background(), e.plan.ID, plans.Actor{ID: "other", Name: "Other seller", Side: plans.SideSeller},
					func(p *plans.Plan, c plans.Change) ([]plans.Event, error) {
						return p.UpdateAction(c, review.ID, plans.ActionPatch{Version: review.Version, Status: &st})
					}); err != nil {
					t.Fatal(err)
				}
				b.Do(t, "edit the stale page",
					chromedp.SetValue(chromedp.ID("edit-title"), "Review the revised proposal"),
					chromedp.SetValue(chromedp.ID("edit-due"), "2027-01-15"),
					chromedp.Click(chromedp.CSS(`#edit-form button[type=submit]`)),
					chromedp.WaitVisible(chromedp.CSS(`#problem[data-stale="true"]`)),
				)
				msg := webtest.Get(t, b, "read the problem", chromedp.TextContent(chromedp.ID("problem")))
				if !strings.Contains(msg, "Stale edit") || !strings.Contains(msg, "not saved") {
					t.Errorf("problem: got %q, want a stale edit that was not saved", msg)
				}
				title := webtest.Get(t, b, "read the title field", chromedp.Value(chromedp.ID("edit-title")))
				due := webtest.Get(t, b, "read the due field", chromedp.Value(chromedp.ID("edit-due")))
				if title != "Review the revised proposal" || due != "2027-01-15" {
					t.Errorf("the input was lost: title %q, due %q", title, due)
				}
				if got := e.fresh(e.plan.ID).ActionByKey("review"); got.Title != review.Title || got.Status != plans.StatusInProgress {
					t.Errorf("stored: title %q, status %s; want the other person's change only", got.Title, got.Status)
				}
				// Submitting again (the form now carries the current version) saves it.
				b.Do(t, "submit again",
					chromedp.Click(chromedp.CSS(`#edit-form button[type=submit]`)),
					chromedp.WaitVisible(chromedp.CSS(`p.flash-ok`)),
				)
				if got := e.fresh(e.plan.ID).ActionByKey("review"); got.Title != "Review the revised proposal" || got.Due.String() != "2027-01-15" {
					t.Errorf("after resubmitting: title %q due %s", got.Title, got.Due)
				}
			})

			t.Run("phone_width_and_labels", func(t *testing.T) {
				e := newRoomEnv(t, backend)
				seller := webtest.New(t, 90*time.Second)
				seller.SignIn(t, e.base, e.token)
				buyer := webtest.New(t, 90*time.Second)
				_, link := e.invite(e.plan, 0)
				joinAs(t, buyer, e, link, e.plan.ID)
				review := e.plan.ActionByKey("review").ID
				q := e.plan.ActionByKey("questionnaire").ID
				for name, b := range map[string]*webtest.Browser{"seller": seller, "buyer": buyer} {
					for _, path := range []string{"/room/" + e.plan.ID, "/room/" + e.plan.ID + "/actions/" + review, "/room/" + e.plan.ID + "/actions/" + q} {
						b.Do(t, "phone viewport", chromedp.EmulateViewport(390, 844))
						if st := status(t, b, e.base+path); st != 200 {
							t.Fatalf("%s %s: status %d", name, path, st)
						}
						wide := webtest.Get(t, b, "measure", chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
						if wide > 0 {
							t.Errorf("%s %s at 390px: %dpx wider than the screen", name, path, wide)
						}
						unlabelled := webtest.Get(t, b, "find unlabelled controls", chromedp.Evaluate[[]string](
							`[...document.querySelectorAll("input:not([type=hidden]), select, textarea, button")].filter(el =>
								el.tagName === "BUTTON" ? !el.textContent.trim() && !el.getAttribute("aria-label")
								: !(el.labels && el.labels.length) && !el.getAttribute("aria-label")).map(el => el.outerHTML.slice(0, 80))`))
						if len(unlabelled) > 0 {
							t.Errorf("%s %s: controls without a label: %v", name, path, unlabelled)
						}
					}
				}
			})

			t.Run("expired_and_revoked_links_are_refused", func(t *testing.T) {
				e := newRoomEnv(t, backend)
				b := webtest.New(t, 90*time.Second)
				revoked, revokedLink := e.invite(e.plan, 0)
				// A buyer in the room loses it when the link is revoked.
				joinAs(t, b, e, revokedLink, e.plan.ID)
				if _, err := e.store.RevokeInvitation(context.Background(), e.plan.ID, revoked.ID, plans.Actor{ID: "token:seller", Name: "seller", Side: plans.SideSeller}); err != nil {
					t.Fatal(err)
				}
				if st := status(t, b, e.base+"/room/"+e.plan.ID); st != 410 {
					t.Errorf("room after revocation: status %d, want 410", st)
				}
				if st := status(t, b, e.base+revokedLink); st != 410 {
					t.Errorf("revoked link: status %d, want 410", st)
				}
				msg := webtest.Get(t, b, "read the refusal", chromedp.TextContent(chromedp.ID("link-refused")))
				if !strings.Contains(msg, "revoked") || strings.Contains(pageHTML(t, b), e.plan.Name) {
					t.Errorf("revoked link page: %q (plan name shown: %v)", msg, strings.Contains(pageHTML(t, b), e.plan.Name))
				}

				_, expiring := e.invite(e.plan, 1)
				e.clock.Advance(25 * time.Hour)
				if st := status(t, b, e.base+expiring); st != 410 {
					t.Errorf("expired link: status %d, want 410", st)
				}
				msg = webtest.Get(t, b, "read the refusal", chromedp.TextContent(chromedp.ID("link-refused")))
				if !strings.Contains(msg, "expired") || strings.Contains(pageHTML(t, b), e.plan.Name) {
					t.Errorf("expired link page: %q", msg)
				}
				if st := status(t, b, e.base+"/join/"+store.InvitationTokenPrefix+"unknown"); st != 404 {
					t.Errorf("unknown link: status %d, want 404", st)
				}
			})
		})
	}
}

// center returns the middle of a box quad (x1 y1 x2 y2 x3 y3 x4 y4).
func center(q []float64) (float64, float64) {
	return (q[0] + q[2] + q[4] + q[6]) / 4, (q[1] + q[3] + q[5] + q[7]) / 4
}
