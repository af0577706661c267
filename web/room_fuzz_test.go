package web

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mapsync/mapsync/plans"
)

// fuzzPlan is the room test template's plan, made in memory.
func fuzzPlan(t testing.TB) *plans.Plan {
	t.Helper()
	tpl, err := plans.Parse([]byte(roomTemplate))
	if err != nil {
		t.Fatal(err)
	}
	tpl.Version = 1
	d := plans.Deal{ConnectionName: "sf", CRM: "salesforce", ID: "006F", Name: "Fuzz", Account: "Fuzz", Stage: "Discovery",
		CloseDate: plans.Date{Year: 2027, Month: time.March, Day: 1}, OwnerID: "005O",
		Owner:    &plans.Person{ID: "005O", Name: "Sam", Email: "sam@vendor.test"},
		Contacts: []plans.DealContact{{ContactID: "003F", Name: "Alice", Email: "alice@fuzz.test", Role: "Champion", Primary: true}}}
	p, _, err := plans.Instantiate(tpl, d, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// FuzzFormAnswers: whatever a browser posts as a form's answers (q_KEY fields), formAnswers
// returns typed answers or an input error naming the question, and what it returns is either
// recorded by plans or refused with an input error: never a panic, never a value of the wrong
// type stored.
func FuzzFormAnswers(f *testing.F) {
	f.Add("40", "HubSpot", "", false)
	f.Add("forty", "Salesforce", "yes", true)
	f.Add("", "", "", true)
	f.Add("1e309", "Pipedrive", "\x00", false)
	f.Add("-0", "HubSpot\r\n", "no", true)
	f.Add("NaN", "", "", false)
	f.Fuzz(func(t *testing.T, users, crm, extra string, submit bool) {
		p := fuzzPlan(t)
		a := p.ActionByKey("questionnaire")
		form := map[string][]string{"q_users": {users}, "q_crm": {crm}, "q_unknown": {extra}}
		answers, err := formAnswers(a, form)
		if err != nil {
			var ie *plans.InputError
			if !errors.As(err, &ie) || !strings.HasPrefix(ie.Field, "responses.") {
				t.Fatalf("formAnswers(%q, %q): %v is not an input error on a response", users, crm, err)
			}
			return
		}
		if v, ok := answers["users"]; ok && v != nil {
			if _, isNum := v.(float64); !isNum {
				t.Fatalf("users answer %#v is not a number", v)
			}
		}
		if _, ok := answers["unknown"]; ok {
			t.Fatalf("an answer to a question the form does not have: %v", answers)
		}
		_, err = p.RecordResponses(plans.Change{By: plans.Actor{ID: "m", Name: "Alice", Side: plans.SideBuyer}, At: time.Now()}, a.ID, answers, submit)
		if err != nil && !errors.Is(err, plans.ErrInvalid) {
			t.Fatalf("RecordResponses(%v): %v is not an input error", answers, err)
		}
		if err == nil {
			if v, ok := p.Action(a.ID).Responses["users"]; ok {
				if _, isNum := v.(float64); !isNum {
					t.Fatalf("stored users answer %#v is not a number", v)
				}
			}
		}
	})
}

// FuzzMoveTarget: whatever a move form or a drop posts ("PHASE|BEFORE", or phase_id and
// before), movePosition finds a position MoveAction takes, after which the action is just before
// BEFORE (or last in the phase), or it answers an input or not-found error.
func FuzzMoveTarget(f *testing.F) {
	f.Add(0, 1, 1, "")
	f.Add(1, 0, 0, "x")
	f.Add(4, 1, 0, "")
	f.Add(2, 0, 3, "")
	f.Add(0, 2, 0, "|")
	f.Fuzz(func(t *testing.T, which, phase, before int, raw string) {
		p := fuzzPlan(t)
		all := p.Actions()
		if which < 0 || which >= len(all) {
			return
		}
		moved := all[which].ID
		phaseID, beforeID := raw, ""
		if raw == "" && phase >= 0 && phase < len(p.Phases) {
			phaseID = p.Phases[phase].ID
			if before >= 0 && before < len(all) {
				beforeID = all[before].ID
			}
		} else if a, b, ok := strings.Cut(raw, "|"); ok {
			phaseID, beforeID = a, b
		}
		pos, err := movePosition(p, moved, phaseID, beforeID)
		if err != nil {
			var (
				ie *plans.InputError
				nf *plans.NotFoundError
			)
			if !errors.As(err, &ie) && !errors.As(err, &nf) {
				t.Fatalf("movePosition: %v is neither an input nor a not-found error", err)
			}
			return
		}
		if beforeID == moved {
			beforeID = "" // "before itself" cannot be: movePosition read it as not there
		}
		c := plans.Change{By: plans.Actor{ID: "s", Name: "Sam", Side: plans.SideSeller}, At: time.Now()}
		if _, err := p.MoveAction(c, moved, p.Action(moved).Version, phaseID, pos); err != nil {
			t.Fatalf("MoveAction to %d: %v", pos, err)
		}
		acts := p.Phase(phaseID).Actions
		i := -1
		for j, a := range acts {
			if a.ID == moved {
				i = j
			}
		}
		switch {
		case i < 0:
			t.Fatalf("the action is not in phase %s after the move", phaseID)
		case beforeID == "" && i != len(acts)-1:
			t.Fatalf("moved to the end: at %d of %d", i, len(acts))
		case beforeID != "" && (i+1 >= len(acts) || acts[i+1].ID != beforeID):
			t.Fatalf("moved before %s: it is at %d, followed by something else", beforeID, i)
		}
	})
}
