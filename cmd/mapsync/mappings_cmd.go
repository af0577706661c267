package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/mapping"
	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
)

func newMappingsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "mappings", Short: "Check push mappings against the CRM and preview what they would write"}

	var (
		connection string
		refresh    bool
		maxAge     time.Duration
	)
	validate := &cobra.Command{
		Use:   "validate",
		Short: "Check every mapped field against the CRM's field metadata; exit 1 with every problem",
		Long: `validate reads the field metadata of each connection's deal object from the CRM (Salesforce
describe, HubSpot properties; kept in the database for --max-age) and checks every mapped field:
it exists and is updateable, the expression's type fits the field's type, a restricted picklist
allows every value the expression can produce, and a constant fits the field's length.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			rt, err := a.newRuntime(ctx)
			if err != nil {
				return err
			}
			defer rt.Close()
			names, err := pushConnections(rt.cfg, connection)
			if err != nil {
				return err
			}
			problems := 0
			for _, name := range names {
				n, err := rt.validateMapping(ctx, name, refresh, maxAge)
				if err != nil {
					fmt.Fprintf(a.stdout, "connection %s: %v\n", name, err)
					n = 1
				}
				problems += n
			}
			if problems > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d mapping problem(s)", problems)}
			}
			return nil
		},
	}
	vf := validate.Flags()
	vf.StringVar(&connection, "connection", "", "check only this connection (default: every connection with a push mapping)")
	vf.BoolVar(&refresh, "refresh", false, "read the field metadata from the CRM even when the stored copy is recent")
	vf.DurationVar(&maxAge, "max-age", connectors.DefaultMetaTTL, "how old stored field metadata may be before it is read again")
	cmd.AddCommand(validate)

	var (
		pconn, dealID, output string
		prefresh              bool
	)
	preview := &cobra.Command{
		Use:   "preview --connection NAME --deal ID",
		Short: "Show, field by field, what a push would write to one deal, and why not",
		Long: `preview evaluates the connection's push mapping for one deal as pulled into the database and its
plans: for each field the expression, the value it computes (in the form the CRM takes), the
value the CRM holds (as last pulled), and whether a push would write it or why not. It sends
nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			ctx := cmd.Context()
			rt, err := a.newRuntime(ctx)
			if err != nil {
				return err
			}
			defer rt.Close()
			p, err := rt.previewMapping(ctx, pconn, dealID, prefresh, time.Now())
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(p)
			}
			return p.render(a.stdout)
		},
	}
	pf := preview.Flags()
	pf.StringVar(&pconn, "connection", "", "the connection (required)")
	pf.StringVar(&dealID, "deal", "", "the deal's CRM id (required)")
	pf.BoolVar(&prefresh, "refresh", false, "read the field metadata from the CRM even when the stored copy is recent")
	pf.StringVarP(&output, "output", "o", "text", "format: text or json")
	_ = preview.MarkFlagRequired("connection")
	_ = preview.MarkFlagRequired("deal")
	cmd.AddCommand(preview)
	return cmd
}

// pushConnections returns the connections to check: the named one (which must have a push
// mapping), or every connection that has one.
func pushConnections(cfg *config.Config, name string) ([]string, error) {
	if name != "" {
		cn, ok := cfg.Connection(name)
		if !ok {
			return nil, fmt.Errorf("no connection named %q in the configuration", name)
		}
		if cn.Push == nil {
			return nil, fmt.Errorf("connection %s has no push mapping (connections[].push in the configuration)", name)
		}
		return []string{name}, nil
	}
	var out []string
	for _, cn := range cfg.Connections {
		if cn.Push != nil {
			out = append(out, cn.Name)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no connection has a push mapping (connections[].push in the configuration)")
	}
	return out, nil
}

// compiledMapping compiles a connection's push mapping (the configuration compiled it at load,
// so this fails only for a connection without one).
func compiledMapping(cn *config.Connection) (*mapping.Mapping, error) {
	if cn.Push == nil {
		return nil, fmt.Errorf("connection %s has no push mapping (connections[].push in the configuration)", cn.Name)
	}
	return mapping.Compile(*cn.Push)
}

// fieldMeta returns the deal fields of a connection as the CRM describes them, from the store's
// copy when younger than maxAge.
func (rt *runtime) fieldMeta(ctx context.Context, name string, refresh bool, maxAge time.Duration) ([]connectors.FieldMeta, time.Time, error) {
	cn, sc, err := rt.connection(ctx, name)
	if err != nil {
		return nil, time.Time{}, err
	}
	if !refresh {
		// A recent copy needs no connector (and no token).
		meta, at, ok, err := rt.store.LoadFieldMeta(ctx, name, connectors.ObjectDeal)
		if err != nil {
			return nil, time.Time{}, err
		}
		if ok && time.Since(at) < maxAge {
			return meta, at, nil
		}
	}
	if sc.Status == store.ConnectionNeedsReauth {
		return nil, time.Time{}, fmt.Errorf("needs to be authorised again (%s): run `mapsync connections reauth %s`", sc.StatusReason, cn.Name)
	}
	conn, err := rt.connector(ctx, cn)
	if err != nil {
		return nil, time.Time{}, err
	}
	ctx, cancel := withTimeout(ctx, 2*cn.Timeout.D())
	defer cancel()
	return connectors.NewDescribeCache(rt.store, maxAge, nil).Describe(ctx, conn, name, connectors.ObjectDeal, true)
}

// validateMapping checks one connection's mapping, prints the outcome and returns the number of
// problems.
func (rt *runtime) validateMapping(ctx context.Context, name string, refresh bool, maxAge time.Duration) (int, error) {
	cn, _ := rt.cfg.Connection(name)
	m, err := compiledMapping(cn)
	if err != nil {
		return 0, err
	}
	meta, at, err := rt.fieldMeta(ctx, name, refresh, maxAge)
	if err != nil {
		return 0, err
	}
	ps := mapping.Check(m, meta)
	tps, err := rt.templatePlanProblems(ctx, cn)
	if err != nil {
		return 0, err
	}
	ps = append(ps, tps...).For(name)
	for _, p := range ps {
		fmt.Fprintln(rt.a.stdout, p.Error())
	}
	if len(ps) == 0 {
		fmt.Fprintf(rt.a.stdout, "connection %s: %d field(s) ok (field metadata read %s)\n", name, len(m.Fields()), at.UTC().Format(time.RFC3339))
	}
	return len(ps), nil
}

// templatePlanProblems reports fields that read the plan of a template the database does not
// have (`plan: KEY`): such a field would never be written.
func (rt *runtime) templatePlanProblems(ctx context.Context, cn *config.Connection) (mapping.Problems, error) {
	var ps mapping.Problems
	var keys map[string]bool
	for _, f := range cn.Push.Fields {
		if f.Plan == "" {
			continue
		}
		if keys == nil {
			ts, err := rt.store.Templates(ctx)
			if err != nil {
				return nil, err
			}
			keys = map[string]bool{}
			for _, t := range ts {
				keys[t.Key] = true
			}
		}
		if !keys[f.Plan] {
			ps = append(ps, mapping.Problem{Path: "fields." + f.Name + ".plan", Field: f.Name, Line: f.Pos.Line,
				Message: fmt.Sprintf("no template %q has been imported (mapsync templates import), so no deal has its plan", f.Plan)})
		}
	}
	return ps, nil
}

// mappingPreview is what `mappings preview` shows.
type mappingPreview struct {
	Connection string         `json:"connection"`
	DealID     string         `json:"deal_id"`
	Plans      []previewPlan  `json:"plans"`
	When       string         `json:"when,omitempty"`
	Conflict   string         `json:"conflict"`
	Fields     []previewField `json:"fields"`
}

type previewPlan struct {
	Template string `json:"template"`
	ID       string `json:"id"`
	Main     bool   `json:"main"`
}

type previewField struct {
	Field      string `json:"field"`
	Expression string `json:"expression"`
	Plan       string `json:"plan,omitempty"`
	Policy     string `json:"policy"`
	Value      any    `json:"value"`
	CRM        any    `json:"crm"`
	Write      bool   `json:"write"`
	Reason     string `json:"reason,omitempty"`
	Error      string `json:"error,omitempty"`
}

// previewMapping evaluates a connection's mapping for one stored deal and its plans at now.
func (rt *runtime) previewMapping(ctx context.Context, name, dealID string, refresh bool, now time.Time) (*mappingPreview, error) {
	cn, sc, err := rt.connection(ctx, name)
	if err != nil {
		return nil, err
	}
	m, err := compiledMapping(cn)
	if err != nil {
		return nil, err
	}
	rec, err := rt.store.Record(ctx, sc.ID, connectors.ObjectDeal, dealID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("deal %s of connection %s is not in the database: pull it first (mapsync sync run --connection %s)", dealID, name, name)
	}
	if err != nil {
		return nil, err
	}
	main, byKey, err := rt.dealPlans(ctx, name, dealID)
	if err != nil {
		return nil, err
	}
	meta, _, err := rt.fieldMeta(ctx, name, refresh, connectors.DefaultMetaTTL)
	if err != nil {
		return nil, err
	}
	env := mapping.NewEnv(rec.Fields, main, byKey, now, rt.cfg.Server.PublicURL)
	desired, _ := m.Evaluate(env) // failures are per field, shown below
	desired = mapping.CoerceAll(desired, meta)
	// A push compares with the values it last wrote (push_state) and the CRM's value as pulled.
	pushed, err := rt.store.LastPushed(ctx, name, string(connectors.ObjectDeal), []string{dealID})
	if err != nil {
		return nil, err
	}
	diffs := mapping.Diff(desired, pushed[dealID], rec.Fields, m.KeepCRMEdits())
	return newMappingPreview(name, dealID, m, main, byKey, desired, diffs, rec.Fields), nil
}

// newMappingPreview assembles the preview from the evaluation's parts.
func newMappingPreview(name, dealID string, m *mapping.Mapping, main *plans.Plan, byKey map[string]*plans.Plan,
	desired []mapping.Desired, diffs mapping.Diffs, crm map[string]any) *mappingPreview {
	p := &mappingPreview{Connection: name, DealID: dealID, When: m.Spec().When, Conflict: string(m.Conflict()), Plans: []previewPlan{}}
	for key, pl := range byKey {
		p.Plans = append(p.Plans, previewPlan{Template: key, ID: pl.ID, Main: main != nil && pl.ID == main.ID})
	}
	sort.Slice(p.Plans, func(i, j int) bool {
		if p.Plans[i].Main != p.Plans[j].Main {
			return p.Plans[i].Main
		}
		return p.Plans[i].Template < p.Plans[j].Template
	})
	for i, d := range desired {
		f := previewField{Field: d.Field, Expression: d.Expr, Plan: d.Plan, Policy: string(d.Policy), Value: d.Value,
			CRM: crmValue(crm, d.Field), Write: diffs[i].Write, Reason: string(diffs[i].Reason)}
		if d.Err != nil {
			f.Error, f.Value = d.Err.Error(), nil
			var ve *mapping.ValueError
			if errors.As(d.Err, &ve) {
				f.Error = ve.Code + ": " + ve.Message
			}
		}
		p.Fields = append(p.Fields, f)
	}
	return p
}

// crmValue finds a field in a record by name, case-insensitively as Salesforce names are.
func crmValue(fields map[string]any, name string) any {
	if v, ok := fields[name]; ok {
		return v
	}
	for k, v := range fields {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// dealPlans loads every plan of a deal and splits them with mapping.SplitPlans.
func (rt *runtime) dealPlans(ctx context.Context, connection, dealID string) (*plans.Plan, map[string]*plans.Plan, error) {
	sums, _, err := rt.store.ListPlans(ctx, plans.PlanFilter{Connection: connection, DealID: dealID, Limit: 100})
	if err != nil {
		return nil, nil, err
	}
	ps := make([]*plans.Plan, 0, len(sums))
	additive := map[string]bool{}
	for _, s := range sums {
		p, err := rt.store.Plan(ctx, s.ID)
		if err != nil {
			return nil, nil, err
		}
		t, err := rt.store.Template(ctx, p.TemplateKey, p.TemplateVersion)
		if err != nil {
			return nil, nil, err
		}
		additive[p.TemplateKey] = t.Selection != nil && t.Selection.Additive
		ps = append(ps, p)
	}
	main, byKey := mapping.SplitPlans(ps, func(key string, _ int) bool { return additive[key] })
	return main, byKey, nil
}

// render writes the preview as a table, one field a row.
func (p *mappingPreview) render(w io.Writer) error {
	fmt.Fprintf(w, "connection %s, deal %s\n", p.Connection, p.DealID)
	if len(p.Plans) == 0 {
		fmt.Fprintln(w, "plans: none (fields reading a plan are skipped)")
	} else {
		parts := make([]string, len(p.Plans))
		for i, pl := range p.Plans {
			parts[i] = pl.Template + " (" + pl.ID
			if pl.Main {
				parts[i] += ", main"
			}
			parts[i] += ")"
		}
		fmt.Fprintf(w, "plans: %s\n", strings.Join(parts, ", "))
	}
	if p.When != "" {
		fmt.Fprintf(w, "when: %s\n", p.When)
	}
	fmt.Fprintf(w, "conflict: %s\n\n", p.Conflict)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIELD\tEXPRESSION\tVALUE\tCRM NOW\tPUSH")
	for _, f := range p.Fields {
		expr := oneLine(f.Expression, 48)
		if f.Plan != "" {
			expr = "[" + f.Plan + "] " + expr
		}
		if f.Policy == string(mapping.PolicyIfEmpty) {
			expr += " (if empty)"
		}
		verdict := "write"
		if !f.Write {
			verdict = "skip: " + f.Reason
		}
		value := showValue(f.Value)
		if f.Error != "" {
			value = "error: " + oneLine(f.Error, 60)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Field, expr, value, showValue(f.CRM), verdict)
	}
	return tw.Flush()
}

// showValue renders a value as JSON (strings quoted, empty as -), cut to 40 characters.
func showValue(v any) string {
	if v == nil || v == "" {
		return "-"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return oneLine(string(b), 40)
}

// oneLine joins s's lines with spaces and cuts it to n characters with an ellipsis.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
