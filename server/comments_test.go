package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/mapsync/mapsync/plans"
)

func TestCommentPages(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		review := b.actionPath("review")
		var want []string
		for i := range 5 {
			var cm plans.Comment
			b.do("POST", review+"/comments", map[string]any{"body": fmt.Sprintf("note %d", i), "internal": i == 1}).ok(t, http.StatusCreated, &cm)
			if cm.ID == "" || cm.ActionID != b.plan.ActionByKey("review").ID || cm.PlanID != b.plan.ID || cm.Author.ID != "token:ci" {
				t.Fatalf("created comment: got %+v", cm)
			}
			want = append(want, cm.ID)
		}
		if v := b.get(); v.Version != b.plan.Version+5 || v.LastActivityAt == nil {
			t.Errorf("plan after 5 comments: got version %d, last activity %v; want %d and set", v.Version, v.LastActivityAt, b.plan.Version+5)
		}

		t.Run("pages", func(t *testing.T) {
			var got []string
			path := review + "/comments?limit=2"
			for pages := 1; ; pages++ {
				var page CommentList
				b.do("GET", path, nil).ok(t, http.StatusOK, &page)
				for _, c := range page.Comments {
					got = append(got, c.ID)
				}
				if page.Next == "" {
					if pages != 3 {
						t.Errorf("pages: got %d, want 3", pages)
					}
					break
				}
				path = review + "/comments?limit=2&after=" + page.Next
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("comments: got %v, want %v", got, want)
			}
		})
		t.Run("buyer sees shared comments only", func(t *testing.T) {
			var page CommentList
			b.do("GET", review+"/comments", nil, HeaderSide, "buyer").ok(t, http.StatusOK, &page)
			if len(page.Comments) != 4 {
				t.Errorf("buyer comments: got %d, want 4", len(page.Comments))
			}
			for _, c := range page.Comments {
				if c.Internal {
					t.Errorf("buyer sees internal comment %+v", c)
				}
			}
		})
		t.Run("bad requests", func(t *testing.T) {
			b.do("GET", review+"/comments?after=nope", nil).wantError(t, http.StatusBadRequest, "bad_request", "after")
			b.do("GET", review+"/comments?limit=0", nil).wantError(t, http.StatusBadRequest, "bad_request", "limit")
			b.do("GET", "/api/v1/plans/nope/actions/x/comments", nil).wantError(t, http.StatusNotFound, "not_found", "plan")
			b.do("GET", "/api/v1/plans/"+b.plan.ID+"/actions/nope/comments", nil).wantError(t, http.StatusNotFound, "not_found", "action")
		})
	})
}

// TestPlanCaps sends values over each cap through the API: each is a 422 naming the field and
// the limit, and the plan does not change.
func TestPlanCaps(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		kickoff, form := b.actionPath("kickoff"), b.actionPath("questionnaire")
		plan := "/api/v1/plans/" + b.plan.ID
		long := func(n int) string { return strings.Repeat("a", n+1) }
		tests := []struct {
			name, method, path string
			body               any
			field              string
			limit              int
		}{
			{"comment", "POST", kickoff + "/comments", map[string]any{"body": long(plans.MaxComment)}, "body", plans.MaxComment},
			{"title", "PATCH", kickoff, map[string]any{"version": 1, "title": long(plans.MaxTitle)}, "title", plans.MaxTitle},
			{"description", "PATCH", kickoff, map[string]any{"version": 1, "description": long(plans.MaxDescription)}, "description", plans.MaxDescription},
			{"sub-task", "POST", kickoff + "/subtasks", map[string]any{"title": long(plans.MaxTitle)}, "title", plans.MaxTitle},
			{"attachment name", "POST", plan + "/attachments", map[string]any{"name": long(plans.MaxName), "url": "https://x.test/"}, "name", plans.MaxName},
			{"attachment url", "POST", kickoff + "/attachments", map[string]any{"name": "deck", "url": "https://x.test/" + long(plans.MaxURL)}, "url", plans.MaxURL},
			{"member name", "POST", plan + "/members", map[string]any{"role": "legal", "name": long(plans.MaxName), "email": "lee@acme.test"}, "name", plans.MaxName},
			{"question", "PUT", form + "/questions", map[string]any{"version": 1, "questions": []map[string]any{{"key": "q", "text": long(plans.MaxQuestion), "kind": "text"}}}, "questions[0].text", plans.MaxQuestion},
			{"reason", "POST", plan + "/close", map[string]any{"reason": long(plans.MaxReason)}, "reason", plans.MaxReason},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := b.get().Version
				e := b.do(tt.method, tt.path, tt.body).wantError(t, http.StatusUnprocessableEntity, "invalid", tt.field)
				if !strings.Contains(e.Message, fmt.Sprintf("at most %d bytes", tt.limit)) {
					t.Errorf("message %q does not name the limit %d", e.Message, tt.limit)
				}
				if after := b.get().Version; after != before {
					t.Errorf("plan version moved from %d to %d on a refused change", before, after)
				}
			})
		}
		t.Run("body over 1 MiB", func(t *testing.T) {
			b.do("POST", kickoff+"/comments", map[string]any{"body": long(MaxBodyBytes)}).wantError(t, http.StatusRequestEntityTooLarge, "too_large", "")
		})
	})
}
