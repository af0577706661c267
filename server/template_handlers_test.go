package server

import (
	"net/http"
	"os"
	"strings"
	"testing"
)

func TestTemplates(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		doc, err := os.ReadFile("../examples/templates/default.yaml")
		if err != nil {
			t.Fatal(err)
		}
		var got TemplateCreated
		res := b.do("POST", "/api/v1/templates", string(doc), "Content-Type", "application/yaml")
		res.ok(t, http.StatusCreated, &got)
		if got.Key != "default" || got.Version != 1 || !got.Created || res.header.Get("Location") != "/api/v1/templates/default" {
			t.Fatalf("import: got %+v", got)
		}
		b.do("POST", "/api/v1/templates", string(doc)).ok(t, http.StatusOK, &got)
		if got.Version != 1 || got.Created {
			t.Errorf("same again: got v%d created %v, want v1, not created", got.Version, got.Created)
		}
		changed := strings.Replace(string(doc), "name: Standard deal plan", "name: Standard plan", 1)
		b.do("POST", "/api/v1/templates", changed).ok(t, http.StatusCreated, &got)
		if got.Version != 2 {
			t.Errorf("changed: got v%d, want v2", got.Version)
		}
		json := `{"key": "json-one", "name": "JSON", "roles": [{"key": "o", "label": "Owner", "side": "seller"}],
		"phases": [{"key": "p", "name": "P", "actions": [{"key": "a", "title": "A", "type": "task", "owner": "o"}]}]}`
		b.do("POST", "/api/v1/templates", json).ok(t, http.StatusCreated, &got)

		var list TemplateList
		b.do("GET", "/api/v1/templates", nil).ok(t, http.StatusOK, &list)
		var keys []string
		for _, s := range list.Templates {
			keys = append(keys, s.Key)
		}
		if strings.Join(keys, ",") != "api-test,default,json-one" || list.Templates[1].Version != 2 || list.Templates[1].Name != "Standard plan" {
			t.Errorf("list: got %+v", list.Templates)
		}
		var one TemplateCreated
		b.do("GET", "/api/v1/templates/default?version=1", nil).ok(t, http.StatusOK, &one.Template)
		if one.Template.Name != "Standard deal plan" {
			t.Errorf("version 1: got %q", one.Template.Name)
		}
		b.do("GET", "/api/v1/templates/nope", nil).wantError(t, 404, "not_found", "key")
		b.do("GET", "/api/v1/templates/default?version=0", nil).wantError(t, 400, "bad_request", "version")

		t.Run("invalid", func(t *testing.T) {
			bad := `key: broken
name: Broken
roles:
  - {key: o, label: Owner, side: seller}
phases:
  - key: p
    name: P
    actions:
      - {key: a, title: A, type: task, owner: nobody, due: {after: b}}
      - {key: b, title: B, type: telepathy, owner: o, due: {after: a}}
`
			// Every problem is listed; the top-level field is the first one's path.
			e := b.do("POST", "/api/v1/templates", bad).wantError(t, http.StatusUnprocessableEntity, "invalid_template", "phases[0].actions[0].owner")
			if len(e.Problems) == 0 || e.Field != e.Problems[0].Path {
				t.Errorf("field %q: want the first problem's path, problems %+v", e.Field, e.Problems)
			}
			paths := map[string]bool{}
			for _, p := range e.Problems {
				paths[p.Path] = true
				if p.Line == 0 || p.Message == "" {
					t.Errorf("problem without line or message: %+v", p)
				}
			}
			for _, want := range []string{"phases[0].actions[0].owner", "phases[0].actions[1].type"} {
				if !paths[want] {
					t.Errorf("problems: got %+v, want one at %s", e.Problems, want)
				}
			}
			b.do("POST", "/api/v1/templates", "key: [").wantError(t, http.StatusUnprocessableEntity, "invalid_template", "")
			b.do("POST", "/api/v1/templates", "").wantError(t, http.StatusBadRequest, "bad_request", "")
			b.do("POST", "/api/v1/templates", "key: x\n"+strings.Repeat("#", MaxBodyBytes)).wantError(t, http.StatusRequestEntityTooLarge, "too_large", "")
			b.do("POST", "/api/v1/templates", string(doc), HeaderSide, "buyer").wantError(t, http.StatusForbidden, "forbidden", "")
		})
	})
}
