package push

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/mapping"
	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
)

// ErrNeedsReauth says the CRM refused the connection's grant (revoked or expired refresh
// token): the connection is marked needs_reauth and nothing is pushed to it until an admin
// connects it again (mapsync connections reauth NAME). Other connections are not affected.
var ErrNeedsReauth = errors.New("the connection needs to be authorised again")

// Options tunes one Push.
type Options struct {
	// DryRun evaluates everything pending and reports what would be written, sending nothing to
	// the CRM and recording nothing (marks stay as they are).
	DryRun bool
	// JobID is the River job pushing (kept in the push log); 0 for a CLI run.
	JobID int64
}

// Sample is one record of a push, for the summary.
type Sample struct {
	// CRMID is the deal's CRM id.
	CRMID string `json:"crm_id"`
	// Outcome is written, skipped, invalid, failed or dead_letter ("written" in a dry run means
	// "would be written").
	Outcome string `json:"outcome"`
	// Reason says why not written (a skip reason, or the CRM's or the mapping's code and
	// message).
	Reason string `json:"reason,omitempty"`
	// Fields are the values sent (or that would be sent).
	Fields map[string]any `json:"fields,omitempty"`
}

// Summary is what one Push did, counted in records (deals).
type Summary struct {
	Connection string `json:"connection"`
	// DryRun is true when nothing was sent.
	DryRun bool `json:"dry_run,omitempty"`
	// Written: records the CRM accepted (in a dry run: that would be written).
	Written int `json:"written"`
	// Unchanged: records whose mapped fields the CRM already holds.
	Unchanged int `json:"unchanged"`
	// Skipped: records with nothing to write for a reason other than unchanged (SkipReasons
	// counts the reasons: no_plan, when_false, crm_edited, deal_deleted, deal_not_pulled).
	Skipped     int            `json:"skipped"`
	SkipReasons map[string]int `json:"skip_reasons,omitempty"`
	// Invalid: records with at least one field whose value does not fit the CRM field (outside a
	// picklist, too long, ...): a per-record error in the push log. Their other fields are
	// still written, so such a record may be counted in Written too.
	Invalid int `json:"invalid"`
	// Failed: records whose write failed for a reason worth retrying (row lock, 5xx, 429,
	// timeout); their marks are left for the retry and nothing is recorded as written.
	Failed int `json:"failed"`
	// DeadLetters: records the CRM refused for good (validation, picklist, deleted record...).
	DeadLetters int `json:"dead_letters"`
	// APICalls is how many CRM requests the push made (describe included).
	APICalls int `json:"api_calls"`
	// Samples are a few records and what happened to them.
	Samples []Sample `json:"samples,omitempty"`
}

// Target is one connection as a push sees it.
type Target struct {
	// Name is the connection's name.
	Name string
	// ConnectionID is the stored connection's id.
	ConnectionID int64
	// Connector writes to the CRM (through the connection's rate governor and token source).
	Connector connectors.Connector
	// Mapping is the connection's compiled push mapping.
	Mapping *mapping.Mapping
	// BatchSize is how many records one Update call carries: the CRM's maximum (200 for
	// Salesforce collections, 100 for HubSpot batches). Default 100.
	BatchSize int
	// Calls, when set, returns the connection's CRM requests so far (Summary.APICalls is the
	// difference over a push).
	Calls func() int64
}

// Config builds a Pusher.
type Config struct {
	// Store holds marks, plans, records and push state.
	Store *store.Store
	// Resolve returns a connection's Target (called once per Push; cache connectors there).
	Resolve func(ctx context.Context, connection string) (*Target, error)
	// Describe caches field metadata (shared with mappings validate/preview). Required.
	Describe *connectors.DescribeCache
	// PublicURL is the base of plan links (config server.public_url).
	PublicURL string
	// Owner names this process in mark claims; default host-pid-random.
	Owner string
	// Lease is how long claimed marks stay this process's (default 5m): a process that dies
	// holding marks loses them to the next claimer after it.
	Lease time.Duration
	// Claim is how many marks one round claims (default 1000).
	Claim int
	// Samples is how many sample records a summary carries (default 10).
	Samples int
	// Now is the clock for expressions (default time.Now).
	Now func() time.Time
	// Metrics records push metrics; nil for none.
	Metrics *Metrics
	// Logger gets one line per push and per dead letter.
	Logger zerolog.Logger
}

// Pusher pushes plan projections to the CRMs. It is safe for concurrent use; pushes of one
// connection running at once claim disjoint marks.
type Pusher struct {
	cfg Config
}

// New returns a Pusher.
func New(cfg Config) (*Pusher, error) {
	if cfg.Store == nil || cfg.Resolve == nil || cfg.Describe == nil {
		return nil, errors.New("push: Store, Resolve and Describe are required")
	}
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		cfg.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 5 * time.Minute
	}
	if cfg.Claim <= 0 {
		cfg.Claim = 1000
	}
	if cfg.Samples <= 0 {
		cfg.Samples = 10
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Pusher{cfg: cfg}, nil
}

// Push pushes what is pending for connection: it claims the connection's plan marks round by
// round, evaluates the mapping for each marked deal, writes the changed fields in batches of
// the CRM's maximum and records every record's outcome (see the package documentation).
//
// The error is nil when every claimed record reached an outcome (written, unchanged, skipped,
// invalid or dead letter). A transient failure (5xx, 429, timeout, row lock) returns an error
// for which connectors.IsRetryable is true, after recording what succeeded and releasing the
// rest: retry the push later. A refused grant returns an error matching ErrNeedsReauth.
func (p *Pusher) Push(ctx context.Context, connection string, opts Options) (sum Summary, err error) {
	start := time.Now()
	sum = Summary{Connection: connection, DryRun: opts.DryRun}
	log := p.cfg.Logger.With().Str("connection", connection).Int64("job", opts.JobID).Bool("dry_run", opts.DryRun).Logger()
	sc, err := p.cfg.Store.ConnectionByName(ctx, connection)
	if err == nil && sc.Status == store.ConnectionNeedsReauth {
		return sum, needsReauth(connection, sc.StatusReason, nil)
	}
	t, err := p.cfg.Resolve(ctx, connection)
	if err != nil {
		return sum, fmt.Errorf("push %s: %w", connection, err)
	}
	if t.BatchSize <= 0 {
		t.BatchSize = 100
	}
	if t.Calls != nil {
		calls0 := t.Calls()
		defer func() { sum.APICalls = int(t.Calls() - calls0) }()
	}
	defer func() {
		p.cfg.Metrics.observe(connection, sum, time.Since(start), err)
		if err == nil {
			log.Info().Int("written", sum.Written).Int("unchanged", sum.Unchanged).Int("skipped", sum.Skipped).
				Int("invalid", sum.Invalid).Int("failed", sum.Failed).Int("dead_letters", sum.DeadLetters).
				Dur("took", time.Since(start)).Msg("push finished")
		}
	}()
	meta, _, err := p.cfg.Describe.Describe(ctx, t.Connector, connection, objectOf(t.Mapping), false)
	if err != nil {
		return sum, p.crmError(ctx, connection, "read the field metadata", err)
	}
	r := &round{p: p, t: t, sum: &sum, opts: opts, metas: mapping.MetaIndex(meta), log: log, templates: map[tplKey]bool{}}
	if opts.DryRun {
		after := ""
		for {
			marks, err := p.cfg.Store.PendingPlanMarks(ctx, connection, after, p.cfg.Claim)
			if err != nil {
				return sum, err
			}
			if len(marks) == 0 {
				return sum, nil
			}
			if err := r.run(ctx, marks); err != nil {
				return sum, err
			}
			after = marks[len(marks)-1].PlanID
		}
	}
	for {
		marks, err := p.cfg.Store.ClaimConnectionPlanMarks(ctx, connection, p.cfg.Owner, p.cfg.Claim, p.cfg.Lease)
		if err != nil {
			r.releasePending(ctx)
			return sum, err
		}
		if len(marks) > 0 {
			if err := r.run(ctx, marks); err != nil {
				return sum, err
			}
		}
		// A short round took everything pending when it claimed; what was marked since is the
		// next push's (the mark hook enqueued it). A record that failed for now ends the push
		// too, with an error: the job retries it after a pause.
		if len(marks) < p.cfg.Claim || r.retry != nil {
			if err := r.flush(ctx, true); err != nil {
				return sum, err
			}
			return sum, r.retry
		}
	}
}

// objectOf is the CRM object a mapping writes (deal is the only one today).
func objectOf(*mapping.Mapping) connectors.Object { return connectors.ObjectDeal }

// needsReauth builds the ErrNeedsReauth error of a connection.
func needsReauth(connection, reason string, cause error) error {
	if reason == "" && cause != nil {
		reason = cause.Error()
	}
	return fmt.Errorf("connection %s: %w (%s): run `mapsync connections reauth %s`", connection, ErrNeedsReauth, reason, connection)
}

// crmError words a CRM failure for the caller: a refused grant marks the connection
// needs_reauth and matches ErrNeedsReauth; anything else keeps its connectors.Error (so
// connectors.IsRetryable tells the caller whether to retry).
func (p *Pusher) crmError(ctx context.Context, connection, what string, err error) error {
	if connectors.KindOf(err) == connectors.KindNeedsReauth {
		// The token source reported it already (ReauthReporter); make sure the state is set
		// even for a connector built without one.
		if sc, serr := p.cfg.Store.ConnectionByName(ctx, connection); serr == nil && sc.Status != store.ConnectionNeedsReauth {
			_ = p.cfg.Store.NeedsReauth(ctx, connection, err.Error())
		}
		return needsReauth(connection, "", err)
	}
	hint := "the push is retried"
	switch connectors.KindOf(err) {
	case connectors.KindAuth:
		hint = "check the connection's credentials (mapsync connections list)"
	case connectors.KindPermanent:
		hint = "check the connection and its mapping (mapsync mappings validate --connection " + connection + ")"
	}
	return fmt.Errorf("push %s: %s: %w (%s)", connection, what, err, hint)
}

type tplKey struct {
	key     string
	version int
}

// round is the state of one Push across its rounds of claimed marks.
type round struct {
	p         *Pusher
	t         *Target
	sum       *Summary
	opts      Options
	metas     mapping.Metas
	log       zerolog.Logger
	templates map[tplKey]bool // additive, by template key and version
	retry     error           // a transient per-record failure: the push must be retried
	pending   []*decision     // writes waiting for a full batch
	seen      map[string]bool // deals a dry run has counted
}

// decision is what a push does with one deal.
type decision struct {
	dealID  string
	change  map[string]any // fields to write; nil: nothing
	adopt   map[string]any // unchanged fields whose last pushed value differs (push state catches up)
	outcome string         // for records not written: unchanged, skipped
	reason  string
	invalid []mapping.FieldDiff
	desired map[string]any
	done    []store.PlanVersion // the marks this deal's outcome finishes
}

// run pushes one round of marks.
func (r *round) run(ctx context.Context, marks []store.PlanMark) error {
	st := r.p.cfg.Store
	name := r.t.Name
	object := objectOf(r.t.Mapping)
	byDeal := map[string][]store.PlanMark{}
	var dealIDs []string
	for _, m := range marks {
		if r.opts.DryRun && r.seen[m.DealID] {
			continue // a dry run pages marks by plan: a deal's other plan came in an earlier page
		}
		if _, ok := byDeal[m.DealID]; !ok {
			dealIDs = append(dealIDs, m.DealID)
		}
		byDeal[m.DealID] = append(byDeal[m.DealID], m)
	}
	if r.opts.DryRun {
		if r.seen == nil {
			r.seen = map[string]bool{}
		}
		for _, id := range dealIDs {
			r.seen[id] = true
		}
	}
	release := func() {
		if r.opts.DryRun {
			return
		}
		ids := make([]string, len(marks))
		for i, m := range marks {
			ids[i] = m.PlanID
		}
		// Best effort: the lease frees them anyway.
		_ = st.ReleasePlanMarks(context.WithoutCancel(ctx), ids)
		r.releasePending(ctx)
	}
	planMap, err := st.DealPlans(ctx, name, dealIDs)
	if err != nil {
		release()
		return err
	}
	recs, err := st.RecordsByID(ctx, r.t.ConnectionID, object, dealIDs)
	if err != nil {
		release()
		return err
	}
	states, err := st.PushStates(ctx, name, string(object), dealIDs)
	if err != nil {
		release()
		return err
	}
	now := r.p.cfg.Now()
	var writes []*decision
	var others []*decision
	for _, id := range dealIDs {
		d, err := r.decide(ctx, id, byDeal[id], planMap[id], recs, states, now)
		if err != nil {
			release()
			return err
		}
		if d.change != nil {
			writes = append(writes, d)
		} else {
			others = append(others, d)
		}
	}
	// Records with nothing to write are finished first, in one transaction.
	if err := r.finish(ctx, others); err != nil {
		release()
		return err
	}
	if r.opts.DryRun {
		for _, d := range writes {
			r.count(d, "written", "", d.change)
		}
		return nil
	}
	// Writes wait for a full batch across rounds (their marks stay claimed), so a push sends
	// ceil(records / batch) requests, not one partial batch per round.
	r.pending = append(r.pending, writes...)
	return r.flush(ctx, false)
}

// flush sends the pending writes in batches of the CRM's maximum: only full batches unless
// all. On an error the marks of every record not answered go back.
func (r *round) flush(ctx context.Context, all bool) error {
	for len(r.pending) >= r.t.BatchSize || all && len(r.pending) > 0 {
		chunk := r.pending[:min(r.t.BatchSize, len(r.pending))]
		if err := r.write(ctx, chunk); err != nil {
			r.releasePending(ctx)
			return err
		}
		r.pending = r.pending[len(chunk):]
	}
	return nil
}

// releasePending gives back the marks of the writes not sent (best effort: the lease frees them
// anyway). Marks of records already recorded are gone, so releasing them does nothing.
func (r *round) releasePending(ctx context.Context) {
	var ids []string
	for _, d := range r.pending {
		for _, pv := range d.done {
			ids = append(ids, pv.PlanID)
		}
	}
	r.pending = nil
	_ = r.p.cfg.Store.ReleasePlanMarks(context.WithoutCancel(ctx), ids)
}

// decide evaluates the mapping for one deal.
func (r *round) decide(ctx context.Context, dealID string, marks []store.PlanMark, ps []*plans.Plan,
	recs map[string]connectors.Record, states map[string]store.PushState, now time.Time) (*decision, error) {
	d := &decision{dealID: dealID}
	loaded := map[string]int{}
	for _, p := range ps {
		loaded[p.ID] = p.Version
	}
	for _, m := range marks {
		v, ok := loaded[m.PlanID]
		if !ok {
			v = m.PlanVersion // the plan is gone: its mark is finished as it is
		}
		d.done = append(d.done, store.PlanVersion{PlanID: m.PlanID, Version: max(v, m.PlanVersion)})
	}
	rec, pulled := recs[dealID]
	switch {
	case !pulled:
		d.outcome, d.reason = "skipped", "deal_not_pulled"
		return d, nil
	case rec.Deleted:
		d.outcome, d.reason = "skipped", "deal_deleted"
		return d, nil
	}
	main, byKey, err := r.split(ctx, ps)
	if err != nil {
		return nil, err
	}
	env := mapping.NewEnv(rec.Fields, main, byKey, now, r.p.cfg.PublicURL)
	desired, _ := r.t.Mapping.Evaluate(env) // failures are per field (SkipInvalid)
	desired = r.metas.CoerceAll(desired)
	state := states[dealID]
	crm := rec.Fields
	if state.Pushed != nil && rec.ModifiedAt.Before(state.PushedAt) {
		// The stored record was pulled before our last write: the CRM holds what we wrote.
		crm = mapping.Overlay(rec.Fields, state.Pushed)
	}
	diffs := mapping.Diff(desired, state.Pushed, crmFields(crm, desired), r.t.Mapping.KeepCRMEdits())
	d.change = diffs.Changes()
	d.invalid = diffs.Invalid()
	d.desired = map[string]any{}
	var skip string
	for _, fd := range diffs {
		if fd.Reason != mapping.SkipInvalid && fd.Reason != mapping.SkipNoPlan && fd.Reason != mapping.SkipWhenFalse {
			d.desired[fd.Field] = fd.Value
		}
		switch fd.Reason {
		case mapping.SkipUnchanged:
			// The CRM holds the desired value already; when the push state does not say so (a
			// write recorded nowhere, or a person set it), it catches up, so keep_crm_edits
			// compares later CRM values with what is really there.
			if last, ok := state.Pushed[fd.Field]; !ok || !mapping.Equal(last, fd.Value) {
				if d.adopt == nil {
					d.adopt = map[string]any{}
				}
				d.adopt[fd.Field] = fd.Value
			}
		case mapping.SkipNoPlan, mapping.SkipWhenFalse, mapping.SkipCRMEdited:
			if skip == "" {
				skip = string(fd.Reason)
			}
		}
	}
	if d.change == nil {
		switch {
		case len(d.invalid) > 0:
			d.outcome = "invalid"
		case skip != "":
			d.outcome, d.reason = "skipped", skip
		default:
			d.outcome = "unchanged"
		}
	}
	return d, nil
}

// crmFields returns the CRM's values of the mapped fields, found case-insensitively (Salesforce
// names are), so Diff sees a known value under the mapping's spelling.
func crmFields(crm map[string]any, desired []mapping.Desired) map[string]any {
	out := make(map[string]any, len(desired))
	for _, d := range desired {
		if v, ok := crm[d.Field]; ok {
			out[d.Field] = v
			continue
		}
		for k, v := range crm {
			if strings.EqualFold(k, d.Field) {
				out[d.Field] = v
				break
			}
		}
	}
	return out
}

// split finds a deal's main plan and its plans by template (mapping.SplitPlans), reading each
// template's selection once per push.
func (r *round) split(ctx context.Context, ps []*plans.Plan) (*plans.Plan, map[string]*plans.Plan, error) {
	for _, p := range ps {
		k := tplKey{p.TemplateKey, p.TemplateVersion}
		if _, ok := r.templates[k]; ok {
			continue
		}
		t, err := r.p.cfg.Store.Template(ctx, p.TemplateKey, p.TemplateVersion)
		if err != nil {
			return nil, nil, err
		}
		r.templates[k] = t.Selection != nil && t.Selection.Additive
	}
	main, byKey := mapping.SplitPlans(ps, func(key string, version int) bool { return r.templates[tplKey{key, version}] })
	return main, byKey, nil
}

// write sends one batch and records its outcomes.
func (r *round) write(ctx context.Context, chunk []*decision) error {
	object := objectOf(r.t.Mapping)
	changes := make([]connectors.Change, len(chunk))
	for i, d := range chunk {
		changes[i] = connectors.Change{ID: d.dealID, Fields: d.change}
	}
	results, uerr := r.t.Connector.Update(ctx, object, changes)
	if len(results) > len(chunk) {
		return fmt.Errorf("push %s: the connector returned %d results for %d changes", r.t.Name, len(results), len(chunk))
	}
	var outcomes []store.PushOutcome
	var done []store.PlanVersion
	var release []string
	for i, res := range results {
		d := chunk[i]
		switch {
		case res.OK:
			outcomes = append(outcomes, r.count(d, "written", "", d.change)...)
			done = append(done, d.done...)
		case res.Err != nil && res.Err.Kind == connectors.KindPermanent:
			o := r.count(d, "dead_letter", res.Err.Code+": "+res.Err.Message, d.change)
			o[0].Code, o[0].Message = res.Err.Code, res.Err.Message
			outcomes = append(outcomes, o...)
			done = append(done, d.done...)
			r.log.Warn().Str("crm_id", d.dealID).Str("code", res.Err.Code).Str("message", res.Err.Message).Msg("push refused: dead letter")
		default:
			e := res.Err
			if e == nil {
				e = &connectors.Error{Kind: connectors.KindTransient, Code: "NO_RESULT", Message: "the CRM reported no outcome"}
			}
			o := r.count(d, "failed", e.Code+": "+e.Message, d.change)
			o[0].Code, o[0].Message = e.Code, e.Message
			outcomes = append(outcomes, o...)
			for _, pv := range d.done {
				release = append(release, pv.PlanID)
			}
			if r.retry == nil {
				r.retry = fmt.Errorf("push %s: deal %s: %w (the push is retried)", r.t.Name, d.dealID, e)
			}
		}
	}
	// Record what the CRM answered before anything else: it was written.
	if err := r.p.cfg.Store.FinishPush(context.WithoutCancel(ctx), r.t.Name, outcomes, done); err != nil {
		return err
	}
	if len(release) > 0 {
		_ = r.p.cfg.Store.ReleasePlanMarks(context.WithoutCancel(ctx), release)
	}
	if uerr != nil {
		r.sum.Failed += len(chunk) - len(results)
		return r.p.crmError(ctx, r.t.Name, fmt.Sprintf("write %d record(s)", len(chunk)-len(results)), uerr)
	}
	return nil
}

// finish records the outcomes of records that are not written (unchanged, skipped, invalid) and
// finishes their marks.
func (r *round) finish(ctx context.Context, ds []*decision) error {
	var outcomes []store.PushOutcome
	var done []store.PlanVersion
	for _, d := range ds {
		fields := d.desired
		if d.outcome == "unchanged" {
			fields = d.adopt // only what the push state must catch up with
		}
		outcomes = append(outcomes, r.count(d, d.outcome, d.reason, fields)...)
		done = append(done, d.done...)
	}
	if r.opts.DryRun || len(ds) == 0 {
		return nil
	}
	return r.p.cfg.Store.FinishPush(ctx, r.t.Name, outcomes, done)
}

// count adds one record's outcome to the summary (and its samples) and returns its push log
// entries: the outcome, and an "invalid" entry when some of its fields did not fit.
func (r *round) count(d *decision, outcome, reason string, fields map[string]any) []store.PushOutcome {
	s := r.sum
	object := string(objectOf(r.t.Mapping))
	switch outcome {
	case "written":
		s.Written++
	case "unchanged":
		s.Unchanged++
	case "skipped":
		s.Skipped++
		if s.SkipReasons == nil {
			s.SkipReasons = map[string]int{}
		}
		s.SkipReasons[reason]++
	case "failed":
		s.Failed++
	case "dead_letter":
		s.DeadLetters++
	}
	out := []store.PushOutcome{{Object: object, CRMID: d.dealID, Outcome: outcome, Fields: fields, JobID: r.opts.JobID}}
	if outcome == "skipped" {
		out[0].Message = reason
	}
	if outcome == "invalid" {
		out = out[:0]
	}
	if len(d.invalid) > 0 {
		s.Invalid++
		codes, msgs := []string{}, []string{}
		for _, fd := range d.invalid {
			code, msg := "invalid", fmt.Sprint(fd.Err)
			var ve *mapping.ValueError
			if errors.As(fd.Err, &ve) {
				code, msg = ve.Code, ve.Error()
			} else if fd.Err != nil {
				msg = fd.Field + ": " + fd.Err.Error()
			}
			codes = append(codes, code)
			msgs = append(msgs, msg)
		}
		sort.Strings(codes)
		codes = compactStrings(codes)
		inv := store.PushOutcome{Object: object, CRMID: d.dealID, Outcome: "invalid", Fields: d.desired, JobID: r.opts.JobID,
			Code: strings.Join(codes, ","), Message: strings.Join(msgs, "; ")}
		out = append(out, inv)
		if outcome == "invalid" {
			reason = inv.Code + ": " + inv.Message
		}
	}
	// A dry run samples what it would do; a push samples what went wrong.
	if outcome != "unchanged" && (r.opts.DryRun || outcome != "written") && len(s.Samples) < r.p.cfg.Samples {
		sf := fields
		if outcome == "invalid" {
			sf = d.desired
		}
		s.Samples = append(s.Samples, Sample{CRMID: d.dealID, Outcome: outcome, Reason: reason, Fields: sf})
	}
	return out
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func isNeedsReauth(err error) bool { return errors.Is(err, ErrNeedsReauth) }
