package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mapsync/mapsync/plans"
)

// TestErrorMessages checks that errors name the field at fault and what was not found, in JSON
// terms, never Go's.
func TestErrorMessages(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		kickoff := b.actionPath("kickoff")
		plan := "/api/v1/plans/" + b.plan.ID
		var m struct {
			ID string `json:"id"`
		}
		b.do("POST", plan+"/members", map[string]any{"role": "se", "email": "eve@vendor.test"}).ok(t, http.StatusCreated, &m)
		b.do("DELETE", plan+"/members/"+m.ID, nil).ok(t, http.StatusNoContent, nil)
		tests := []struct {
			name, method, path string
			body               any
			status             int
			code, field, msg   string
		}{
			{"bad date", "PATCH", kickoff, map[string]any{"version": 1, "due": "tomorrow"}, 400, "bad_request", "due",
				`due must be a date "YYYY-MM-DD" or null, got "tomorrow"`},
			{"date of the wrong type", "PATCH", kickoff, `{"version": 1, "due": 20260305}`, 400, "bad_request", "due",
				`due must be a date "YYYY-MM-DD" or null, got 20260305`},
			{"status of the wrong type", "PATCH", kickoff, map[string]any{"version": 1, "status": 3}, 400, "bad_request", "status",
				"status must be a string, got a number"},
			{"version of the wrong type", "PATCH", kickoff, map[string]any{"version": "1"}, 400, "bad_request", "version",
				"version must be an integer, got a string"},
			{"fractional version", "PATCH", kickoff, `{"version": 1.5}`, 400, "bad_request", "version",
				"version must be an integer, got 1.5"},
			{"done of the wrong type", "PATCH", kickoff + "/subtasks/x", map[string]any{"done": "yes"}, 400, "bad_request", "done",
				"done must be true or false, got a string"},
			{"responses of the wrong type", "POST", kickoff + "/responses", map[string]any{"responses": []int{1}}, 400, "bad_request", "responses",
				"responses must be an object, got an array"},
			{"unknown plan", "GET", "/api/v1/plans/123", nil, 404, "not_found", "plan", `plan "123" not found`},
			{"unknown plan of an action", "PATCH", "/api/v1/plans/123/actions/nope", map[string]any{"version": 1}, 404, "not_found", "plan", `plan "123" not found`},
			{"unknown plan's events", "GET", "/api/v1/plans/123/events", nil, 404, "not_found", "plan", `plan "123" not found`},
			{"unknown action", "GET", plan + "/actions/nope", nil, 404, "not_found", "action", `action "nope" not found`},
			{"unknown sub-task", "DELETE", kickoff + "/subtasks/nope", nil, 404, "not_found", "subtask", `sub-task "nope" not found`},
			{"unknown member", "DELETE", plan + "/members/" + m.ID, nil, 404, "not_found", "member", `member "` + m.ID + `" not found`},
			{"unknown attachment", "DELETE", plan + "/attachments/nope", nil, 404, "not_found", "attachment", `attachment "nope" not found`},
			{"unknown template", "GET", "/api/v1/templates/nope", nil, 404, "not_found", "key", `template "nope" not found`},
			{"unknown template version", "GET", "/api/v1/templates/api-test?version=9", nil, 404, "not_found", "version",
				`template "api-test" has no version 9 (the latest is 1)`},
			{"unknown plan saved as template", "POST", "/api/v1/plans/123/save-as-template", map[string]any{"key": "x", "name": "x"}, 404, "not_found", "plan", `plan "123" not found`},
			{"existing template key", "POST", plan + "/save-as-template", map[string]any{"key": "api-test", "name": "x"}, 409, "conflict", "key",
				`template "api-test" already exists; choose another key`},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := b.do(tc.method, tc.path, tc.body).wantError(t, tc.status, tc.code, tc.field)
				if e.Message != tc.msg {
					t.Errorf("message: got %q, want %q", e.Message, tc.msg)
				}
				for _, goName := range []string{"plans.", "Go ", "int", "*", "struct", "json:"} {
					if strings.Contains(e.Message, goName) && !strings.Contains(tc.msg, goName) {
						t.Errorf("message %q speaks Go (%q)", e.Message, goName)
					}
				}
			})
		}
	})
}

// TestUnknownQueryParameters checks that every endpoint refuses query parameters it does not
// take (a misspelt filter must not list everything) and parameters given twice.
func TestUnknownQueryParameters(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		b.createPlan("006B")
		plan := "/api/v1/plans/" + b.plan.ID
		tests := []struct{ method, path, field string }{
			{"GET", "/api/v1/plans?connectoin=x", "connectoin"},
			{"GET", "/api/v1/plans?connection=sf&stauts=active", "stauts"},
			{"GET", "/api/v1/plans?status=active&status=closed", "status"},
			{"GET", plan + "/events?limt=2", "limt"},
			{"GET", "/api/v1/templates?key=api-test", "key"},
			{"GET", plan + "?audiance=buyer", "audiance"},
			{"GET", plan + "/actions/x?verbose=1", "verbose"},
			{"GET", "/api/v1/templates/api-test?versoin=1", "versoin"},
			{"POST", plan + "/close?force=1", "force"},
			{"PATCH", b.actionPath("kickoff") + "?audience=buyer", "audience"},
		}
		for _, tc := range tests {
			t.Run(tc.method+" "+tc.path, func(t *testing.T) {
				e := b.do(tc.method, tc.path, nil).wantError(t, http.StatusBadRequest, "bad_request", tc.field)
				if !strings.Contains(e.Message, `"`+tc.field+`"`) {
					t.Errorf("message %q does not name the parameter", e.Message)
				}
			})
		}
		// The parameters each endpoint takes still work.
		var list PlanList
		b.do("GET", "/api/v1/plans?connection=sf&deal=006B&status=active&owner=005O&limit=10&after=", nil).ok(t, http.StatusOK, &list)
		if len(list.Plans) != 1 || list.Plans[0].DealID != "006B" {
			t.Errorf("filtered list: got %+v, want deal 006B", list.Plans)
		}
		b.do("GET", "/api/v1/plans/"+b.plan.ID+"/events?limit=1&audience=buyer", nil).ok(t, http.StatusOK, nil)
		b.do("GET", "/api/v1/templates/api-test?version=1", nil).ok(t, http.StatusOK, nil)
		b.do("GET", b.actionPath("kickoff")+"?audience=buyer", nil).ok(t, http.StatusOK, nil)
		b.do("GET", "/api/v1/templates", nil).ok(t, http.StatusOK, nil)
	})
}

// TestDecodeErrors covers decode's messages for values whose own decoder refuses them, at the
// top level and inside an array, and for a time.
func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	type body struct {
		At    time.Time `json:"at"`
		Items []struct {
			Due plans.Date `json:"due"`
		} `json:"items"`
		Name string `json:"name"`
	}
	tests := []struct{ in, field, msg string }{
		{`{"at": "noon"}`, "at", `at must be a time "YYYY-MM-DDTHH:MM:SSZ" (RFC 3339), got "noon"`},
		{`{"name": "x", "items": [{"due": "2026-01-01"}, {"due": "soon"}]}`, "items", "items: parse date"},
		{`{"name": ["x"]}`, "name", "name must be a string, got an array"},
		{`{"name": true}`, "name", "name must be a string, got a boolean"},
	}
	for _, tc := range tests {
		r := httptest.NewRequest("POST", "/", strings.NewReader(tc.in))
		var v body
		err := decode(httptest.NewRecorder(), r, &v, false)
		status, e := classify(err)
		if status != http.StatusBadRequest || e.Field != tc.field || !strings.HasPrefix(e.Message, tc.msg) {
			t.Errorf("%s: got %d field %q message %q; want 400, %q, %q...", tc.in, status, e.Field, e.Message, tc.field, tc.msg)
		}
	}
}
