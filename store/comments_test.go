package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// addComment adds a comment on action key of the stored plan p as the service does: load, apply,
// store with the compare-and-swap. It returns the comment and the plan as stored.
func addComment(t testing.TB, s *store.Store, planID, key, body string, internal bool, at time.Time) (plans.Comment, *plans.Plan) {
	t.Helper()
	p, err := s.Plan(t.Context(), planID)
	if err != nil {
		t.Fatal(err)
	}
	base := p.Version
	c := plans.Change{By: plans.Actor{ID: "u1", Name: "Sam Seller", Side: plans.SideSeller}, At: at}
	cm, events, err := p.AddComment(c, p.ActionByKey(key).ID, body, internal)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddComment(t.Context(), p, base, cm, events); err != nil {
		t.Fatal(err)
	}
	return cm, p
}

// planBodyLength is the length of the stored plan document.
func planBodyLength(t testing.TB, s *store.Store, id string) int {
	t.Helper()
	var n int
	if err := s.DB().GetContext(t.Context(), &n, s.DB().Rebind(`SELECT length(body) FROM plans WHERE id = ?`), id); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestComments(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := newSmallPlan(t, s)
		call, sign := p.ActionByKey("call").ID, p.ActionByKey("sign").ID
		var want []string // ids of the call's comments, in order
		for i := range 7 {
			cm, _ := addComment(t, s, p.ID, "call", fmt.Sprintf("note %d", i), i%3 == 0, planStart.Add(time.Duration(i)*time.Minute))
			want = append(want, cm.ID)
		}
		addComment(t, s, p.ID, "sign", "on the other action", false, planStart)

		page := func(t *testing.T, f plans.CommentFilter) ([]string, string) {
			t.Helper()
			got, next, err := s.Comments(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range got {
				if c.PlanID != p.ID || c.Body == "" || c.Author.ID != "u1" || c.CreatedAt.IsZero() {
					t.Errorf("comment %+v: want plan, body, author and time", c)
				}
				if !f.Internal && c.Internal {
					t.Errorf("internal comment %s listed without Internal", c.ID)
				}
				if f.ActionID != "" && c.ActionID != f.ActionID {
					t.Errorf("comment %s on action %s, want %s", c.ID, c.ActionID, f.ActionID)
				}
				ids = append(ids, c.ID)
			}
			return ids, next
		}

		t.Run("pages", func(t *testing.T) {
			var all []string
			f := plans.CommentFilter{PlanID: p.ID, ActionID: call, Internal: true, Limit: 3}
			for pages := 0; ; pages++ {
				ids, next := page(t, f)
				all = append(all, ids...)
				if next == "" {
					if pages != 2 {
						t.Errorf("pages: got %d, want 3", pages+1)
					}
					break
				}
				if next != ids[len(ids)-1] {
					t.Errorf("next: got %s, want the page's last id %s", next, ids[len(ids)-1])
				}
				f.After = next
			}
			if strings.Join(all, ",") != strings.Join(want, ",") {
				t.Errorf("comments: got %v, want %v", all, want)
			}
		})
		t.Run("buyer view", func(t *testing.T) {
			ids, _ := page(t, plans.CommentFilter{PlanID: p.ID, ActionID: call})
			if len(ids) != 4 { // 7 less notes 0, 3 and 6
				t.Errorf("shared comments: got %d, want 4", len(ids))
			}
		})
		t.Run("whole plan", func(t *testing.T) {
			ids, next := page(t, plans.CommentFilter{PlanID: p.ID, Internal: true})
			if len(ids) != 8 || next != "" {
				t.Errorf("plan comments: got %d (next %q), want 8", len(ids), next)
			}
			ids, _ = page(t, plans.CommentFilter{PlanID: p.ID, ActionID: sign, Internal: true})
			if len(ids) != 1 {
				t.Errorf("sign comments: got %d, want 1", len(ids))
			}
		})
		t.Run("not found", func(t *testing.T) {
			if _, _, err := s.Comments(ctx, plans.CommentFilter{PlanID: "nope"}); !errors.Is(err, plans.ErrNotFound) {
				t.Errorf("unknown plan: got %v, want ErrNotFound", err)
			}
			if _, _, err := s.Comments(ctx, plans.CommentFilter{PlanID: p.ID, After: "nope"}); !errors.Is(err, plans.ErrNotFound) {
				t.Errorf("unknown cursor: got %v, want ErrNotFound", err)
			}
			ids, _ := page(t, plans.CommentFilter{PlanID: p.ID, ActionID: p.ActionByKey("redlines").ID})
			if len(ids) != 0 {
				t.Errorf("action without comments: got %v", ids)
			}
		})
		t.Run("compare and swap", func(t *testing.T) {
			stale, err := s.Plan(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			base := stale.Version
			addComment(t, s, p.ID, "call", "first in", false, planStart)
			c := plans.Change{By: plans.System(), At: planStart}
			cm, events, err := stale.AddComment(c, call, "lost the race", false)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.AddComment(ctx, stale, base, cm, events); !errors.Is(err, plans.ErrConflict) {
				t.Fatalf("stale base: got %v, want ErrConflict", err)
			}
			all, _, err := s.Comments(ctx, plans.CommentFilter{PlanID: p.ID, Internal: true, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range all {
				if c.ID == cm.ID {
					t.Errorf("comment of the refused change was stored")
				}
			}
		})
	})
}

// TestCommentsDoNotGrowThePlan: the plan document, read and written on every change, stays the
// same size however many comments its actions get, so reading a plan does not slow down with
// its conversation.
func TestCommentsDoNotGrowThePlan(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		p := newSmallPlan(t, s)
		addComment(t, s, p.ID, "call", "warm-up", false, planStart) // sets last activity once
		before := planBodyLength(t, s, p.ID)
		big := strings.Repeat("x", plans.MaxComment)
		for range 50 {
			addComment(t, s, p.ID, "call", big, false, planStart)
		}
		if after := planBodyLength(t, s, p.ID); after > before+10 {
			t.Errorf("plan document: %d bytes before 50 comments of %d characters, %d after; want the same", before, len(big), after)
		}
		got, _, err := s.Comments(t.Context(), plans.CommentFilter{PlanID: p.ID, Limit: 100})
		if err != nil || len(got) != 51 || len(got[1].Body) != len(big) {
			t.Fatalf("comments: got %d, %v; want 51 with their bodies whole", len(got), err)
		}
	})
}

// migrateTo migrates s down to schema version v.
func migrateTo(t *testing.T, s *store.Store, v int64) {
	t.Helper()
	for {
		current, _, err := s.SchemaVersions(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if current <= v {
			return
		}
		if _, err := s.MigrateDown(t.Context()); err != nil {
			t.Fatalf("migrate down from %d: %v", current, err)
		}
	}
}

// TestCommentsMigration stores a plan as migration 00002 left them, comments inside the
// document, and checks that 00003 moves them to rows in order and strips the document, and that
// going down puts them back.
func TestCommentsMigration(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		migrateTo(t, s, 2)
		p := newSmallPlan(t, s)
		call, redlines := p.ActionByKey("call").ID, p.ActionByKey("redlines").ID
		seller := plans.Actor{ID: "u1", Name: "Sam Seller", Side: plans.SideSeller}
		old := map[string][]map[string]any{
			call: {
				{"id": "c1", "author": seller, "body": "first", "created_at": planStart},
				{"id": "c2", "author": seller, "body": "second, internal", "internal": true, "created_at": planStart.Add(time.Hour)},
			},
			redlines: {{"id": "c3", "author": seller, "body": "third", "created_at": planStart.Add(30 * time.Minute)}},
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(mustJSON(t, p)), &doc); err != nil {
			t.Fatal(err)
		}
		for _, ph := range doc["phases"].([]any) {
			for _, a := range ph.(map[string]any)["actions"].([]any) {
				a := a.(map[string]any)
				if cs, ok := old[a["id"].(string)]; ok {
					a["comments"] = cs
				}
			}
		}
		if _, err := s.DB().ExecContext(ctx, s.DB().Rebind(`UPDATE plans SET body = ? WHERE id = ?`), mustJSON(t, doc), p.ID); err != nil {
			t.Fatal(err)
		}

		if _, err := s.MigrateUp(ctx); err != nil {
			t.Fatalf("migrate up: %v", err)
		}
		var body string
		if err := s.DB().GetContext(ctx, &body, s.DB().Rebind(`SELECT body FROM plans WHERE id = ?`), p.ID); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(body, `"comments"`) {
			t.Errorf("plan document still holds comments: %s", body)
		}
		got, err := s.Plan(ctx, p.ID)
		if err != nil || len(got.Actions()) != 3 || got.ActionByKey("call").Title != "Discovery call" || got.Version != p.Version {
			t.Fatalf("plan after migration: got %+v, %v", got, err)
		}
		list, _, err := s.Comments(ctx, plans.CommentFilter{PlanID: p.ID, Internal: true})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range list {
			ids = append(ids, c.ID+"@"+c.ActionID[:4])
			if c.PlanID != p.ID || c.Author != seller || c.CreatedAt.IsZero() {
				t.Errorf("migrated comment %+v: want plan id, author and time", c)
			}
		}
		if want := []string{"c1@" + call[:4], "c3@" + redlines[:4], "c2@" + call[:4]}; strings.Join(ids, ",") != strings.Join(want, ",") {
			t.Errorf("migrated comments: got %v, want %v (oldest first)", ids, want)
		}
		shared, _, err := s.Comments(ctx, plans.CommentFilter{PlanID: p.ID, ActionID: call})
		if err != nil || len(shared) != 1 || shared[0].Body != "first" {
			t.Errorf("buyer view of migrated comments: got %+v, %v; want the shared one", shared, err)
		}

		migrateTo(t, s, 2)
		if err := s.DB().GetContext(ctx, &body, s.DB().Rebind(`SELECT body FROM plans WHERE id = ?`), p.ID); err != nil {
			t.Fatal(err)
		}
		var back struct {
			Phases []struct {
				Actions []struct {
					ID       string          `json:"id"`
					Comments []plans.Comment `json:"comments"`
				} `json:"actions"`
			} `json:"phases"`
		}
		if err := json.Unmarshal([]byte(body), &back); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ph := range back.Phases {
			for _, a := range ph.Actions {
				for i, c := range a.Comments {
					n++
					if c.ID != old[a.ID][i]["id"] || c.Body != old[a.ID][i]["body"] {
						t.Errorf("comment %d of %s after down: got %+v", i, a.ID, c)
					}
				}
			}
		}
		if n != 3 {
			t.Errorf("comments back in the document after down: got %d, want 3", n)
		}
	})
}

// newSmallPlan stores the small template's plan for deal 006A.
func newSmallPlan(t testing.TB, s *store.Store) *plans.Plan {
	t.Helper()
	p, events := instantiate(t, parseTemplate(t, planTemplateDoc), planDeal("sf", "006A", "005O"))
	return createPlan(t, s, p, events)
}
