package server

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// savedEvents counts the plan.saved_as_template events of plan id.
func (b *testBundle) savedEvents(id string) int {
	b.t.Helper()
	events, err := b.store.Events(b.t.Context(), id, "", 1000)
	if err != nil {
		b.t.Fatal(err)
	}
	n := 0
	for _, e := range events {
		if e.Type == plans.EventPlanSavedAsTemplate {
			n++
		}
	}
	return n
}

// TestSaveAsTemplateRace saves six plans as templates under one key at once on PostgreSQL, each
// on its own connection, every read lined up across them: exactly one creates the template
// (version 1, with its event), the others get 409 on "key" and record nothing.
func TestSaveAsTemplateRace(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.Open(t, store.Postgres))
	const n = 6
	ids := []string{b.plan.ID}
	for i := 1; i < n; i++ {
		ids = append(ids, b.createPlan(fmt.Sprintf("006R%d", i)).ID)
	}
	// Line up every read of the racing saves (the plan, and any template lookup), so that
	// whatever a save checks before it writes, all of them check the same state.
	bar := newBarrier(n)
	b.store.set(func(f *faults) { f.afterRead = bar.wait })
	res := make([]response, n)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			res[i] = b.do("POST", "/api/v1/plans/"+id+"/save-as-template", map[string]any{"key": "race", "name": fmt.Sprintf("Race %d", i)})
		})
	}
	wg.Wait()
	b.store.set(func(f *faults) { f.afterRead = nil })
	winner := -1
	for i, r := range res {
		if r.status == http.StatusCreated {
			if winner >= 0 {
				t.Fatalf("saves %d and %d both created template race", winner, i)
			}
			winner = i
			continue
		}
		r.wantError(t, http.StatusConflict, "conflict", "key")
	}
	if winner < 0 {
		t.Fatalf("no save created the template: %v", res)
	}
	var versions []int
	if err := b.store.DB().SelectContext(t.Context(), &versions, `SELECT version FROM templates WHERE key = 'race'`); err != nil {
		t.Fatal(err)
	}
	tpl, err := b.store.Template(t.Context(), "race", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 1 || versions[0] != 1 || tpl.Name != fmt.Sprintf("Race %d", winner) {
		t.Errorf("stored: got versions %v, name %q; want only version 1, named by save %d", versions, tpl.Name, winner)
	}
	for i, id := range ids {
		want := 0
		if i == winner {
			want = 1
		}
		if got := b.savedEvents(id); got != want {
			t.Errorf("plan %d: got %d saved_as_template events, want %d", i, got, want)
		}
	}
}

// TestSaveAsTemplateAtomic makes recording the event fail inside the store: the template is not
// stored either, and a later save with the same key succeeds.
func TestSaveAsTemplateAtomic(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		path := "/api/v1/plans/" + b.plan.ID + "/save-as-template"
		b.store.set(func(f *faults) { f.badEvents = true })
		b.do("POST", path, map[string]any{"key": "atomic", "name": "Atomic"}).wantError(t, http.StatusInternalServerError, "internal", "")
		b.do("GET", "/api/v1/templates/atomic", nil).wantError(t, http.StatusNotFound, "not_found", "key")
		if n := b.savedEvents(b.plan.ID); n != 0 {
			t.Errorf("events after the failure: got %d saved_as_template, want 0", n)
		}

		b.store.set(func(f *faults) { f.badEvents = false })
		var got TemplateCreated
		b.do("POST", path, map[string]any{"key": "atomic", "name": "Atomic"}).ok(t, http.StatusCreated, &got)
		if got.Version != 1 || b.savedEvents(b.plan.ID) != 1 {
			t.Errorf("retry: got version %d and %d events, want 1 and 1", got.Version, b.savedEvents(b.plan.ID))
		}
	})
}

// TestSaveAsTemplateConversation checks that the saved template keeps the conversation name and
// welcome message as the plan's template wrote them.
func TestSaveAsTemplateConversation(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, b *testBundle) {
		var got TemplateCreated
		b.do("POST", "/api/v1/plans/"+b.plan.ID+"/save-as-template", map[string]any{"key": "kept", "name": "Kept"}).ok(t, http.StatusCreated, &got)
		var stored plans.Template
		b.do("GET", "/api/v1/templates/kept", nil).ok(t, http.StatusOK, &stored)
		for name, tpl := range map[string]*plans.Template{"response": got.Template, "stored": &stored} {
			if tpl.Conversation != b.tpl.Conversation || tpl.Conversation.Name != "{{deal.name}} plan" {
				t.Errorf("%s: got conversation %+v, want %+v", name, tpl.Conversation, b.tpl.Conversation)
			}
		}
	})
}
