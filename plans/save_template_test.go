package plans

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSaveAsTemplateConversation checks that a saved template keeps the plan's conversation name
// and welcome message: the template's own texts (placeholders unfilled) when the plan kept them,
// else the plan's rendered texts.
func TestSaveAsTemplateConversation(t *testing.T) {
	t.Parallel()
	tpl := testTemplate(t)
	f := setup(t)
	c := f.seller(f.start)

	// The plan keeps the template's texts, also through its JSON document (the store's form).
	data, err := json.Marshal(f.plan)
	if err != nil {
		t.Fatal(err)
	}
	var stored Plan
	if err := json.Unmarshal(data, &stored); err != nil {
		t.Fatal(err)
	}
	if stored.ConversationTemplate != tpl.Conversation {
		t.Fatalf("stored plan: got conversation template %+v, want %+v", stored.ConversationTemplate, tpl.Conversation)
	}
	saved, _, err := stored.SaveAsTemplate(c, "kept", "Kept")
	if err != nil {
		t.Fatal(err)
	}
	if saved.Conversation != tpl.Conversation {
		t.Errorf("saved conversation: got %+v, want the template's %+v", saved.Conversation, tpl.Conversation)
	}
	// Instantiated again for the same deal, the saved template names and greets as the original.
	again, _, err := Instantiate(saved, testDeal(), f.start, f.loc)
	if err != nil {
		t.Fatal(err)
	}
	if again.Name != f.plan.Name || again.WelcomeMessage != f.plan.WelcomeMessage {
		t.Errorf("re-instantiated: got %q / %q, want %q / %q", again.Name, again.WelcomeMessage, f.plan.Name, f.plan.WelcomeMessage)
	}

	// A plan that did not keep them (made before plans kept them) gives its rendered texts.
	old := f.plan.Clone()
	old.ConversationTemplate = Conversation{}
	saved, _, err = old.SaveAsTemplate(c, "rendered", "Rendered")
	if err != nil {
		t.Fatal(err)
	}
	want := Conversation{Name: f.plan.Name, WelcomeMessage: f.plan.WelcomeMessage}
	if saved.Conversation != want || want.Name == "" || want.WelcomeMessage == "" || strings.Contains(want.Name, "{{") {
		t.Errorf("rendered: got %+v, want %+v", saved.Conversation, want)
	}

	// A template without a conversation name: the plan keeps the default name.
	bare := testTemplate(t)
	bare.Conversation = Conversation{}
	p, _, err := Instantiate(bare, testDeal(), f.start, f.loc)
	if err != nil {
		t.Fatal(err)
	}
	saved, _, err = p.SaveAsTemplate(c, "bare", "Bare")
	if err != nil {
		t.Fatal(err)
	}
	if saved.Conversation != (Conversation{Name: DefaultConversationName}) {
		t.Errorf("default name: got %+v, want %q and no welcome message", saved.Conversation, DefaultConversationName)
	}
}
