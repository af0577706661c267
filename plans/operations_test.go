package plans

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestSubTasks(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.action(t, "kickoff")
	c := f.seller(f.start)
	s, ev, err := f.plan.AddSubTask(c, a.ID, " Book room ")
	if err != nil || s.Title != "Book room" || len(a.SubTasks) != 3 || ev[0].Type != EventSubTaskAdded {
		t.Fatalf("add: got %+v %v %v, want Book room as third sub-task", s, eventTypes(ev), err)
	}
	if ev, err = f.plan.CompleteSubTask(c, a.ID, s.ID); err != nil || !a.SubTasks[2].Done || a.SubTasks[2].DoneAt == nil || len(ev) != 1 {
		t.Errorf("complete: got %+v %v, want done", a.SubTasks[2], err)
	}
	if ev, _ = f.plan.CompleteSubTask(c, a.ID, s.ID); ev != nil {
		t.Errorf("complete twice: got %v, want no events", eventTypes(ev))
	}
	if _, err = f.plan.ReopenSubTask(c, a.ID, s.ID); err != nil || a.SubTasks[2].Done {
		t.Errorf("reopen: got done %v, %v; want open", a.SubTasks[2].Done, err)
	}
	if _, err = f.plan.RemoveSubTask(c, a.ID, a.SubTasks[0].ID); err != nil || len(a.SubTasks) != 2 || a.SubTasks[0].Title != "Recap" {
		t.Errorf("remove: got %+v, %v; want Recap, Book room", a.SubTasks, err)
	}
	if a.Version != 5 {
		t.Errorf("version: got %d, want 5 after four changes", a.Version)
	}
	if _, err = f.plan.RemoveSubTask(c, a.ID, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove unknown: got %v, want ErrNotFound", err)
	}
	if _, _, err = f.plan.AddSubTask(c, a.ID, " "); !errors.Is(err, ErrInvalid) {
		t.Errorf("add empty: got %v, want ErrInvalid", err)
	}
}

func TestComments(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.action(t, "review")
	planVersion := f.plan.Version
	cm, ev, err := f.plan.AddComment(f.seller(f.start), a.ID, "pricing is flexible", true)
	if err != nil || !ev[0].Internal {
		t.Fatalf("internal comment: got %v, want an internal event", err)
	}
	if cm.ID == "" || cm.PlanID != f.plan.ID || cm.ActionID != a.ID || cm.Body != "pricing is flexible" || !cm.Internal || cm.Author.Side != SideSeller {
		t.Errorf("comment: got %+v", cm)
	}
	if _, _, err := f.plan.AddComment(f.buyer(f.start), a.ID, "see attached", false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.plan.AddComment(f.buyer(f.start), a.ID, "secret", true); !errors.Is(err, ErrInvalid) {
		t.Errorf("buyer internal comment: got %v, want ErrInvalid", err)
	}
	if a.Version != 1 || f.plan.Version != planVersion+2 {
		t.Errorf("versions: got action %d, plan %d; want 1 (comments do not bump the action) and %d", a.Version, f.plan.Version, planVersion+2)
	}
	for _, m := range f.plan.Members {
		if m.CommentedAt != nil {
			t.Errorf("member %s marked as commenting by actors that are not them", m.ID)
		}
	}
	m := f.plan.Members[len(f.plan.Members)-1]
	byMember := Change{By: Actor{ID: m.ID, Name: m.Name, Side: m.Side}, At: f.start, NewID: f.ids}
	if _, _, err := f.plan.AddComment(byMember, a.ID, "from a member", false); err != nil {
		t.Fatal(err)
	}
	if got := f.plan.Member(m.ID).CommentedAt; got == nil || !got.Equal(f.start) {
		t.Errorf("member's first comment: got commented_at %v, want %v", got, f.start)
	}
	long := strings.Repeat("a", MaxComment+1)
	var ie *InputError
	if _, _, err := f.plan.AddComment(f.seller(f.start), a.ID, long, false); !errors.As(err, &ie) || ie.Field != "body" || !strings.Contains(ie.Message, "at most 10000 bytes") {
		t.Errorf("comment over the limit: got %v, want an InputError on body naming the limit", err)
	}
	if _, _, err := f.plan.AddComment(f.seller(f.start), a.ID, long[:len(long)-1], false); err != nil {
		t.Errorf("comment at the limit: %v", err)
	}
}

func TestForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		answers map[string]any
		submit  bool
		field   string // "" means success
	}{
		{"partial save", map[string]any{"crm": "HubSpot"}, false, ""},
		{"submit with required", map[string]any{"users": 40.0, "tools": []any{"Slack", "Okta"}, "sso": true}, true, ""},
		{"submit missing required", map[string]any{"crm": "HubSpot"}, true, "responses.users"},
		{"unknown option", map[string]any{"crm": "Pipedrive"}, false, "responses.crm"},
		{"wrong type", map[string]any{"users": "forty"}, false, "responses.users"},
		{"unknown multi option", map[string]any{"tools": []string{"Slack", "Zoom"}}, false, "responses.tools"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a := f.action(t, "questionnaire")
			ev, err := f.plan.RecordResponses(f.buyer(f.start), a.ID, tt.answers, tt.submit)
			if tt.field != "" {
				var ie *InputError
				if !errors.As(err, &ie) || ie.Field != tt.field {
					t.Fatalf("got %v, want an InputError on %s", err, tt.field)
				}
				if a.Responses != nil || a.Version != 1 {
					t.Errorf("after error: got responses %v version %d, want none and 1", a.Responses, a.Version)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.submit {
				want := []EventType{EventFormResponses, EventFormSubmitted, EventActionStatus}
				if got := eventTypes(ev); !slices.Equal(got, want) || a.Status != StatusDone || a.SubmittedAt == nil {
					t.Errorf("submit: got %v status %s, want %v and done", got, a.Status, want)
				}
				if got := a.Responses["tools"]; !slices.Equal(got.([]string), []string{"Slack", "Okta"}) {
					t.Errorf("tools: got %v, want [Slack Okta]", got)
				}
			} else if a.Status != StatusNotStarted || len(a.Responses) != len(tt.answers) {
				t.Errorf("save: got status %s responses %v", a.Status, a.Responses)
			}
		})
	}

	t.Run("edit questions", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		a := f.action(t, "questionnaire")
		if _, err := f.plan.RecordResponses(f.buyer(f.start), a.ID, map[string]any{"crm": "HubSpot", "users": 3}, false); err != nil {
			t.Fatal(err)
		}
		qs := []Question{{Key: "users", Text: "Seats", Kind: QuestionNumber, Required: true}}
		if _, err := f.plan.SetQuestions(f.seller(f.start), a.ID, a.Version, qs); err != nil {
			t.Fatal(err)
		}
		if len(a.Questions) != 1 || len(a.Responses) != 1 || a.Responses["users"] != 3.0 {
			t.Errorf("got questions %v responses %v, want users only", a.Questions, a.Responses)
		}
		bad := []Question{{Key: "x", Text: "X", Kind: QuestionSingleChoice}}
		if _, err := f.plan.SetQuestions(f.seller(f.start), a.ID, a.Version, bad); err == nil || !strings.Contains(err.Error(), "questions[0].options") {
			t.Errorf("bad questions: got %v, want an error on questions[0].options", err)
		}
		if _, err := f.plan.RecordResponses(f.seller(f.start), f.action(t, "kickoff").ID, nil, true); !errors.Is(err, ErrInvalid) {
			t.Errorf("responses on a meeting: got %v, want ErrInvalid", err)
		}
	})
}

func TestAttachments(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.action(t, "redlines")
	c := f.seller(f.start)
	at, _, err := f.plan.AddAttachment(c, a.ID, Attachment{Name: "MSA", URL: "https://docs.example.com/msa", Kind: KindContract})
	if err != nil || len(a.Attachments) != 1 || a.Version != 2 {
		t.Fatalf("add: got %v, %d attachments, version %d", err, len(a.Attachments), a.Version)
	}
	if _, _, err := f.plan.AddAttachment(c, "", Attachment{Name: "Deck", URL: "https://x.example.com/d", Internal: true}); err != nil || f.plan.Attachments[0].Kind != KindLink {
		t.Errorf("plan attachment: got %v %+v, want kind link", err, f.plan.Attachments)
	}
	for name, bad := range map[string]Attachment{
		"relative url": {Name: "x", URL: "/docs/x"},
		"ftp":          {Name: "x", URL: "ftp://host/x"},
		"no name":      {URL: "https://host/x"},
		"unknown kind": {Name: "x", URL: "https://host/x", Kind: "zip"},
	} {
		if _, _, err := f.plan.AddAttachment(c, a.ID, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
	if _, err := f.plan.RemoveAttachment(c, a.ID, at.ID); err != nil || len(a.Attachments) != 0 {
		t.Errorf("remove: got %v, %d left", err, len(a.Attachments))
	}
}

func TestMembers(t *testing.T) {
	t.Parallel()
	f := setup(t)
	redlines := f.action(t, "redlines")
	c := f.seller(f.start)

	m, ev, err := f.plan.InviteMember(c, Member{Role: "legal", Name: "Lee Legal", Email: "lee@acme.test"})
	if err != nil {
		t.Fatal(err)
	}
	if redlines.AssigneeID != m.ID || m.Side != SideBuyer || m.Source != SourceInvited {
		t.Errorf("invite: got assignee %q side %s source %s, want %s buyer invited", redlines.AssigneeID, m.Side, m.Source, m.ID)
	}
	if got := eventTypes(ev); !slices.Equal(got, []EventType{EventMemberInvited, EventActionAssignee}) {
		t.Errorf("invite events: got %v", got)
	}
	if _, _, err := f.plan.InviteMember(c, Member{Role: "legal", Email: "LEE@acme.test"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("duplicate: got %v, want ErrInvalid", err)
	}
	if _, _, err := f.plan.InviteMember(c, Member{Role: "cfo", Email: "x@acme.test"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown role: got %v, want ErrNotFound", err)
	}
	if _, _, err := f.plan.InviteMember(c, Member{Role: "legal", Email: "not an email"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad email: got %v, want ErrInvalid", err)
	}
	if _, _, err := f.plan.InviteMember(f.buyer(f.start), Member{Role: "owner", Email: "x@acme.test"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("buyer invites seller: got %v, want ErrInvalid", err)
	}

	// Alice leaves the champion role: review goes to Carol, the other champion.
	review := f.action(t, "review")
	alice, carol := f.plan.Members[1], f.plan.Members[2]
	if _, err := f.plan.ChangeMemberRole(c, alice.ID, "legal"); err != nil {
		t.Fatal(err)
	}
	if review.AssigneeID != carol.ID {
		t.Errorf("after role change: review assignee got %s, want %s", review.AssigneeID, carol.ID)
	}
	// Carol removed: review stays with the champion role alone.
	if _, err := f.plan.RemoveMember(c, carol.ID); err != nil {
		t.Fatal(err)
	}
	if review.AssigneeID != "" || review.OwnerRole != "champion" || f.plan.Member(carol.ID) != nil {
		t.Errorf("after remove: got assignee %q role %s, want none and champion", review.AssigneeID, review.OwnerRole)
	}
	if _, err := f.plan.RemoveMember(c, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove unknown: got %v, want ErrNotFound", err)
	}
}

func TestBuyerView(t *testing.T) {
	t.Parallel()
	f := setup(t)
	review := f.action(t, "review")
	c := f.seller(f.start)
	if _, _, err := f.plan.AddAttachment(c, review.ID, Attachment{Name: "internal", URL: "https://x.test/a", Internal: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.plan.AddAttachment(c, review.ID, Attachment{Name: "shared", URL: "https://x.test/b"}); err != nil {
		t.Fatal(err)
	}

	v := BuyerView(f.plan)
	for _, a := range v.Actions() {
		if a.Internal {
			t.Errorf("buyer view: got internal action %s", a.Key)
		}
	}
	if got := len(v.Phases[0].Actions); got != 2 {
		t.Errorf("pre-sales actions: got %d, want 2 (forecast left out)", got)
	}
	if got := v.ActionByKey("review").Attachments; len(got) != 1 || got[0].Name != "shared" {
		t.Errorf("attachments: got %+v, want only the shared one", got)
	}
	if len(f.plan.ActionByKey("review").Attachments) != 2 || f.plan.ActionByKey("forecast") == nil {
		t.Errorf("original plan changed by BuyerView")
	}
	if n := len(EventsFor([]Event{{Internal: true}, {}}, AudienceBuyer)); n != 1 {
		t.Errorf("EventsFor buyer: got %d, want 1", n)
	}
}

func TestSaveAsTemplate(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c := f.seller(f.start)
	kick := f.action(t, "kickoff")
	if _, err := f.plan.MoveAction(c, kick.ID, kick.Version, f.plan.Phases[1].ID, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.plan.AddSubTask(c, f.action(t, "sign").ID, "Countersign"); err != nil {
		t.Fatal(err)
	}
	version := f.plan.Version
	tpl, ev, err := f.plan.SaveAsTemplate(c, "acme-plan", "Acme plan")
	if err != nil {
		t.Fatal(err)
	}
	if tpl.Phases[1].Actions[0].Key != "kickoff" || !slices.Contains(tpl.Action("sign").SubTasks, "Countersign") {
		t.Errorf("template: got phase 1 %+v, want kickoff first and Countersign on sign", tpl.Phases[1].Actions[0].Key)
	}
	if tpl.Selection != nil || len(ev) != 1 || ev[0].Type != EventPlanSavedAsTemplate || f.plan.Version != version {
		t.Errorf("got selection %v events %v plan version %d, want none, one event, %d", tpl.Selection, eventTypes(ev), f.plan.Version, version)
	}
	// The saved template instantiates.
	if _, _, err := Instantiate(tpl, testDeal(), f.start, f.loc); err != nil {
		t.Errorf("instantiate saved template: %v", err)
	}
	if _, _, err := f.plan.SaveAsTemplate(c, "Bad Key", "x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad key: got %v, want ErrInvalid", err)
	}
}

func TestClosedPlanRefusesChanges(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c := f.seller(f.start)
	if _, err := f.plan.Close(f.buyer(f.start), ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("buyer closes: got %v, want ErrInvalid", err)
	}
	if _, err := f.plan.Cancel(c, "deal lost"); err != nil {
		t.Fatal(err)
	}
	a := f.action(t, "kickoff")
	checks := map[string]error{}
	_, _, checks["sub-task"] = f.plan.AddSubTask(c, a.ID, "x")
	_, _, checks["comment"] = f.plan.AddComment(c, a.ID, "x", false)
	_, checks["move"] = f.plan.MoveAction(c, a.ID, a.Version, f.plan.Phases[1].ID, 0)
	_, _, checks["invite"] = f.plan.InviteMember(c, Member{Role: "legal", Email: "a@b.test"})
	_, checks["close"] = f.plan.Close(c, "")
	for name, err := range checks {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s: got %v, want ErrClosed", name, err)
		}
	}
}
