package plans

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

var keyRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Validate reports every problem of the template in one *ValidationError (nil when there is
// none), each with its path and, for a parsed template, its line: missing required fields,
// malformed or duplicate keys, unknown roles, types, anchors and question kinds, due rules naming
// unknown actions or forming a cycle, placeholders that do not exist, and selection rules that do
// not compile or do not return a bool.
func (t *Template) Validate() error {
	ps := &problems{lines: t.lines}
	checkKey(ps, "key", t.Key)
	if strings.TrimSpace(t.Name) == "" {
		ps.add("name", "required")
	}
	checkLengths(ps,
		lengthCheck{"name", t.Name, MaxName},
		lengthCheck{"description", t.Description, MaxPlanText},
		lengthCheck{"conversation.name", t.Conversation.Name, MaxPlanName},
		lengthCheck{"conversation.welcome_message", t.Conversation.WelcomeMessage, MaxPlanText})
	if len(t.Roles) > MaxRoles {
		ps.add("roles", "too many roles: at most %d, got %d", MaxRoles, len(t.Roles))
	}
	if len(t.Phases) > MaxPhases {
		ps.add("phases", "too many phases: at most %d, got %d", MaxPhases, len(t.Phases))
	}
	if n := t.actionCount(); n > MaxActions {
		ps.add("phases", "too many actions: at most %d over all phases, got %d", MaxActions, n)
	}
	for _, f := range []struct{ path, text string }{
		{"conversation.name", t.Conversation.Name},
		{"conversation.welcome_message", t.Conversation.WelcomeMessage},
	} {
		for _, u := range checkPlaceholders(f.text) {
			ps.add(f.path, "unknown placeholder {{%s}}", u)
		}
	}
	if s := t.Selection; s != nil {
		if strings.TrimSpace(s.Rule) == "" {
			ps.add("selection.rule", "required")
		} else if _, err := CompileRule(s.Rule); err != nil {
			ps.add("selection.rule", "%s", strings.TrimPrefix(err.Error(), "compile rule: "))
		}
		for i, c := range s.Connections {
			if strings.TrimSpace(c) == "" {
				ps.add(index("selection.connections", i), "empty connection name")
			}
		}
	}

	roles := map[string]*RoleTemplate{}
	for i := range t.Roles {
		r := &t.Roles[i]
		p := index("roles", i)
		if checkKey(ps, join(p, "key"), r.Key) {
			if _, dup := roles[r.Key]; dup {
				ps.add(join(p, "key"), "duplicate role %q", r.Key)
			} else {
				roles[r.Key] = r
			}
		}
		if strings.TrimSpace(r.Label) == "" {
			ps.add(join(p, "label"), "required")
		}
		checkLengths(ps, lengthCheck{join(p, "label"), r.Label, MaxName})
		switch r.Side {
		case SideBuyer, SideSeller:
		case "":
			ps.add(join(p, "side"), "required (buyer or seller)")
		default:
			ps.add(join(p, "side"), "unknown side %q (want buyer or seller)", r.Side)
		}
		fp := join(p, "fill.from")
		switch r.Fill.From {
		case "", FillManual:
		case FillDealOwner:
			if r.Side == SideBuyer {
				ps.add(fp, "deal_owner fills seller roles only")
			}
		case FillContactRoles, FillPrimaryContact:
			if r.Side == SideSeller {
				ps.add(fp, "%s fills buyer roles only", r.Fill.From)
			}
		default:
			ps.add(fp, "unknown fill %q (want deal_owner, contact_roles, primary_contact or manual)", r.Fill.From)
		}
		if r.Fill.From == FillContactRoles && len(r.Fill.Roles) == 0 {
			ps.add(join(p, "fill.roles"), "required for contact_roles")
		}
		if r.Fill.From != FillContactRoles && len(r.Fill.Roles) > 0 {
			ps.add(join(p, "fill.roles"), "only for contact_roles")
		}
	}

	if len(t.Phases) == 0 {
		ps.add("phases", "required: at least one phase")
	}
	actionPaths := map[string]string{} // key -> path of its first definition
	phaseKeys := map[string]bool{}
	for i := range t.Phases {
		ph := &t.Phases[i]
		p := index("phases", i)
		if checkKey(ps, join(p, "key"), ph.Key) {
			if phaseKeys[ph.Key] {
				ps.add(join(p, "key"), "duplicate phase %q", ph.Key)
			}
			phaseKeys[ph.Key] = true
		}
		if strings.TrimSpace(ph.Name) == "" {
			ps.add(join(p, "name"), "required")
		}
		checkLengths(ps, lengthCheck{join(p, "name"), ph.Name, MaxPhaseName})
		for j := range ph.Actions {
			a := &ph.Actions[j]
			ap := index(join(p, "actions"), j)
			if checkKey(ps, join(ap, "key"), a.Key) {
				if first, dup := actionPaths[a.Key]; dup {
					ps.add(join(ap, "key"), "duplicate action %q (first at %s)", a.Key, first)
				} else {
					actionPaths[a.Key] = ap
				}
			}
		}
	}
	for i := range t.Phases {
		for j := range t.Phases[i].Actions {
			validateAction(ps, index(join(index("phases", i), "actions"), j), &t.Phases[i].Actions[j], roles, actionPaths)
		}
	}
	checkCycles(ps, t, actionPaths)
	return ps.err()
}

func validateAction(ps *problems, p string, a *ActionTemplate, roles map[string]*RoleTemplate, actions map[string]string) {
	if strings.TrimSpace(a.Title) == "" {
		ps.add(join(p, "title"), "required")
	}
	checkLengths(ps,
		lengthCheck{join(p, "title"), a.Title, MaxTitle},
		lengthCheck{join(p, "description"), a.Description, MaxDescription},
		lengthCheck{join(p, "milestone"), a.Milestone, MaxMilestone})
	if len(a.SubTasks) > MaxSubTasks {
		ps.add(join(p, "sub_tasks"), "too many sub-tasks: at most %d, got %d", MaxSubTasks, len(a.SubTasks))
	}
	if len(a.Questions) > MaxQuestions {
		ps.add(join(p, "questions"), "too many questions: at most %d, got %d", MaxQuestions, len(a.Questions))
	}
	switch {
	case a.Type == "":
		ps.add(join(p, "type"), "required")
	case !a.Type.Valid():
		ps.add(join(p, "type"), "unknown type %q (want one of %s)", a.Type, listOf(ActionTypes))
	}
	if a.Owner != "" {
		r, ok := roles[a.Owner]
		switch {
		case !ok:
			ps.add(join(p, "owner"), "unknown role %q", a.Owner)
		case a.Internal && r.Side == SideBuyer:
			ps.add(join(p, "owner"), "internal action owned by buyer role %q", a.Owner)
		}
	}
	if d := a.Due; d != nil {
		dp := join(p, "due")
		switch {
		case d.From == "" && d.After == "":
			ps.add(dp, "want one of from or after")
		case d.From != "" && d.After != "":
			ps.add(dp, "from and after are exclusive")
		case d.From != "" && d.From != AnchorPlanStart && d.From != AnchorCloseDate:
			ps.add(join(dp, "from"), "unknown anchor %q (want plan_start or close_date)", d.From)
		case d.After == a.Key:
			ps.add(join(dp, "after"), "action cannot be due after itself")
		case d.After != "":
			if _, ok := actions[d.After]; !ok {
				ps.add(join(dp, "after"), "unknown action %q", d.After)
			}
		}
		if d.Days != 0 && d.BusinessDays != 0 {
			ps.add(dp, "days and business_days are exclusive")
		}
	}
	for i, s := range a.SubTasks {
		if strings.TrimSpace(s) == "" {
			ps.add(index(join(p, "sub_tasks"), i), "empty sub-task")
		}
		checkLengths(ps, lengthCheck{index(join(p, "sub_tasks"), i), s, MaxTitle})
	}
	if a.Approver != "" {
		switch _, ok := roles[a.Approver]; {
		case a.Type != ActionApproval && a.Type.Valid():
			ps.add(join(p, "approver"), "only approval actions have an approver")
		case !ok:
			ps.add(join(p, "approver"), "unknown role %q", a.Approver)
		}
	}
	if a.URL != "" {
		switch {
		case !slices.Contains(detailTypes["url"], a.Type) && a.Type != ActionESign && a.Type.Valid():
			ps.add(join(p, "url"), "only e_sign, meeting, web_app and file_request actions have a url")
		case checkURL("url", a.URL) != nil:
			ps.add(join(p, "url"), "want an absolute http(s) URL, got %q", firstN(a.URL, 80))
		}
	}
	if a.Type == ActionForm && len(a.Questions) == 0 {
		ps.add(join(p, "questions"), "required for a form: at least one question")
	}
	if a.Type != ActionForm && len(a.Questions) > 0 && a.Type.Valid() {
		ps.add(join(p, "questions"), "only form actions have questions")
	}
	for _, qp := range validateQuestions(a.Questions) {
		ps.add(join(p, qp.Path), "%s", qp.Message)
	}
}

// validateQuestions checks a form's questions; paths are relative ("questions[1].kind").
func validateQuestions(qs []Question) []Problem {
	var out []Problem
	add := func(path, format string, args ...any) {
		out = append(out, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	keys := map[string]bool{}
	for i, q := range qs {
		p := index("questions", i)
		switch {
		case q.Key == "":
			add(join(p, "key"), "required")
		case !keyRE.MatchString(q.Key):
			add(join(p, "key"), "invalid key %q (lowercase letters, digits, - and _)", q.Key)
		case len(q.Key) > MaxKey:
			add(join(p, "key"), "at most %d bytes, got %d", MaxKey, len(q.Key))
		case keys[q.Key]:
			add(join(p, "key"), "duplicate question %q", q.Key)
		}
		keys[q.Key] = true
		if strings.TrimSpace(q.Text) == "" {
			add(join(p, "text"), "required")
		}
		if msg := tooLong(q.Text, MaxQuestion); msg != "" {
			add(join(p, "text"), "%s", msg)
		}
		if len(q.Options) > MaxOptions {
			add(join(p, "options"), "too many options: at most %d, got %d", MaxOptions, len(q.Options))
		}
		switch {
		case q.Kind == "":
			add(join(p, "kind"), "required")
		case !q.Kind.Valid():
			add(join(p, "kind"), "unknown kind %q (want one of %s)", q.Kind, listOf(QuestionKinds))
		case q.Kind.hasOptions() && len(q.Options) < 2:
			add(join(p, "options"), "want at least two options for %s", q.Kind)
		case !q.Kind.hasOptions() && len(q.Options) > 0:
			add(join(p, "options"), "only choice questions have options")
		}
		seen := map[string]bool{}
		for j, o := range q.Options {
			if strings.TrimSpace(o) == "" {
				add(index(join(p, "options"), j), "empty option")
			} else if msg := tooLong(o, MaxOption); msg != "" {
				add(index(join(p, "options"), j), "%s", msg)
			} else if seen[o] {
				add(index(join(p, "options"), j), "duplicate option %q", o)
			}
			seen[o] = true
		}
	}
	return out
}

// checkCycles reports each cycle of "after" due rules once, at the first action of the cycle in
// document order.
func checkCycles(ps *problems, t *Template, paths map[string]string) {
	after := map[string]string{}
	var order []string
	for _, ph := range t.Phases {
		for _, a := range ph.Actions {
			if _, dup := after[a.Key]; dup || a.Key == "" {
				continue
			}
			order = append(order, a.Key)
			if a.Due != nil && a.Due.After != "" && a.Due.After != a.Key {
				after[a.Key] = a.Due.After
			} else {
				after[a.Key] = ""
			}
		}
	}
	// Each action has at most one anchor, so the graph is a functional graph: follow the chain.
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	for _, start := range order {
		if state[start] != unvisited {
			continue
		}
		var chain []string
		k := start
		for k != "" && state[k] == unvisited {
			state[k] = visiting
			chain = append(chain, k)
			k = after[k]
		}
		if k != "" && state[k] == visiting {
			i := slices.Index(chain, k)
			cycle := append(slices.Clone(chain[i:]), k)
			ps.add(join(paths[k], "due.after"), "due rules form a cycle: %s", strings.Join(cycle, " -> "))
		}
		for _, c := range chain {
			state[c] = done
		}
	}
}

func checkKey(ps *problems, path, key string) bool {
	switch {
	case key == "":
		ps.add(path, "required")
		return false
	case len(key) > MaxKey:
		ps.add(path, "at most %d bytes, got %d", MaxKey, len(key))
		return false
	case !keyRE.MatchString(key):
		ps.add(path, "invalid key %q (lowercase letters, digits, - and _)", key)
		return false
	}
	return true
}

// checkLengths adds a problem for each value over its limit.
func checkLengths(ps *problems, fields ...lengthCheck) {
	for _, f := range fields {
		if msg := tooLong(f.value, f.max); msg != "" {
			ps.add(f.path, "%s", msg)
		}
	}
}

type lengthCheck struct {
	path, value string
	max         int
}

func listOf[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// actionCount is the number of actions over all phases.
func (t *Template) actionCount() int {
	n := 0
	for _, ph := range t.Phases {
		n += len(ph.Actions)
	}
	return n
}
