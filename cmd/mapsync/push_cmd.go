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

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/push"
)

// newSyncPushCmd is `mapsync sync push`.
func newSyncPushCmd(a *app) *cobra.Command {
	var (
		connection, output string
		dryRun             bool
		timeout            time.Duration
	)
	cmd := &cobra.Command{
		Use:   "push [--connection NAME] [--dry-run]",
		Short: "Push pending plan changes to the CRM now and print a summary",
		Long: `push writes what is pending (plans changed since their last push) to the CRM fields the
connection's push mapping names, only the fields whose values changed, in batches of the CRM's
maximum, and prints per connection how many deals were written, unchanged, skipped (and why),
invalid, failed and dead-lettered, and the API calls made. --dry-run computes the same without
sending or recording anything and shows sample deals. Without --connection every connection with a
push mapping is pushed. Exits 1 if a push failed (a connection that needs authorising again is
named, and the others are still pushed).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			ctx, cancel := withTimeout(cmd.Context(), timeout)
			defer cancel()
			rt, err := a.newRuntime(ctx)
			if err != nil {
				return err
			}
			defer rt.Close()
			names, err := pushConnections(rt.cfg, connection)
			if err != nil {
				return err
			}
			return rt.pushNow(ctx, names, push.Options{DryRun: dryRun}, output)
		},
	}
	f := cmd.Flags()
	f.StringVar(&connection, "connection", "", "push only this connection (default: every connection with a push mapping)")
	f.BoolVar(&dryRun, "dry-run", false, "compute what would be written and show samples; send and record nothing")
	f.StringVarP(&output, "output", "o", "text", "summary format: text or json")
	f.DurationVar(&timeout, "timeout", 0, "give up after this long (default: no limit)")
	return cmd
}

// pushNow pushes the named connections one after the other and prints their summaries; one
// failing does not stop the others. It returns an exit error when any failed.
func (rt *runtime) pushNow(ctx context.Context, names []string, opts push.Options, output string) error {
	p, err := rt.pusher(ctx)
	if err != nil {
		return err
	}
	var failed []string
	var sums []push.Summary
	for _, name := range names {
		sum, err := p.Push(ctx, name, opts)
		sums = append(sums, sum)
		if err != nil {
			failed = append(failed, err.Error())
			if output != "json" {
				printPushSummary(rt.a.stdout, sum)
			}
			continue
		}
		if output != "json" {
			printPushSummary(rt.a.stdout, sum)
		}
	}
	if output == "json" {
		enc := json.NewEncoder(rt.a.stdout)
		enc.SetIndent("", "  ")
		if len(sums) == 1 {
			_ = enc.Encode(sums[0])
		} else {
			_ = enc.Encode(sums)
		}
	}
	if len(failed) > 0 {
		return &exitError{code: 1, err: errors.New(strings.Join(failed, "\n"))}
	}
	return nil
}

// printPushSummary writes one connection's push summary as text.
func printPushSummary(w io.Writer, s push.Summary) {
	verb := "pushed"
	if s.DryRun {
		verb = "dry run (nothing sent)"
	}
	fmt.Fprintf(w, "connection %s: %s: %d written, %d unchanged, %d skipped, %d invalid, %d failed, %d dead letters; %d API calls\n",
		s.Connection, verb, s.Written, s.Unchanged, s.Skipped, s.Invalid, s.Failed, s.DeadLetters, s.APICalls)
	if len(s.SkipReasons) > 0 {
		reasons := make([]string, 0, len(s.SkipReasons))
		for r, n := range s.SkipReasons {
			reasons = append(reasons, fmt.Sprintf("%s %d", r, n))
		}
		sort.Strings(reasons)
		fmt.Fprintf(w, "  skipped: %s\n", strings.Join(reasons, ", "))
	}
	if s.DryRun && len(s.Samples) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  DEAL\tOUTCOME\tFIELDS / REASON")
		for _, sm := range s.Samples {
			detail := sm.Reason
			if sm.Outcome == "written" {
				detail = showFields(sm.Fields)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", sm.CRMID, sm.Outcome, oneLine(detail, 120))
		}
		tw.Flush()
	}
}

// showFields renders fields as name=value pairs in name order.
func showFields(fields map[string]any) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		b, _ := json.Marshal(fields[k])
		parts[i] = k + "=" + string(b)
	}
	return strings.Join(parts, " ")
}

// newPushCmd is `mapsync push`: dead letters and the push log.
func newPushCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "push", Short: "Inspect pushes to the CRM: dead letters and the push log"}
	dl := &cobra.Command{Use: "dead-letters", Short: "List and retry deals the CRM refused for good"}

	var (
		connection, output string
	)
	list := &cobra.Command{
		Use:   "list [--connection NAME]",
		Short: "List dead letters (deals the CRM refused, with its code and message), newest first",
		Args:  cobra.NoArgs,
		RunE: a.withStore(true, func(cmd *cobra.Command, _ []string, s *store.Store) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			dls, err := s.DeadLetters(cmd.Context(), connection, 0)
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSONLines(a.stdout, dls)
			}
			if len(dls) == 0 {
				fmt.Fprintln(a.stdout, "no dead letters")
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CONNECTION\tDEAL\tCODE\tMESSAGE\tFAILURES\tLAST")
			for _, d := range dls {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", d.Connection, d.CRMID, d.Code, oneLine(d.Message, 80), d.Failures,
					d.LastAt.Format("2006-01-02 15:04:05"))
			}
			return tw.Flush()
		}),
	}
	list.Flags().StringVar(&connection, "connection", "", "only this connection's dead letters")
	list.Flags().StringVarP(&output, "output", "o", "text", "text or json (one object per line)")

	var (
		rconn, routput string
		all            bool
	)
	retry := &cobra.Command{
		Use:   "retry [--connection NAME] (--all | DEAL_ID...)",
		Short: "Make dead-lettered deals pending again and push them now",
		Long: `retry marks the plans of the given dead-lettered deals (or of every dead letter, with --all) for a
push and pushes their connections now. A dead letter goes away when its deal is written; a deal
refused again stays, with the CRM's new message.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(routput); err != nil {
				return err
			}
			if all == (len(args) > 0) {
				return usageError{errors.New("give either --all or the deal ids to retry")}
			}
			ctx := cmd.Context()
			rt, err := a.newRuntime(ctx)
			if err != nil {
				return err
			}
			defer rt.Close()
			names, n, err := rt.retryDeadLetters(ctx, rconn, args)
			if err != nil {
				return err
			}
			if routput != "json" {
				fmt.Fprintf(a.stdout, "%d dead letter(s) pending again; pushing\n", n)
			}
			if len(names) == 0 {
				return nil
			}
			return rt.pushNow(ctx, names, push.Options{}, routput)
		},
	}
	retry.Flags().StringVar(&rconn, "connection", "", "only this connection's dead letters")
	retry.Flags().BoolVar(&all, "all", false, "retry every dead letter (of --connection, if given)")
	retry.Flags().StringVarP(&routput, "output", "o", "text", "summary format: text or json")
	dl.AddCommand(list, retry)

	var (
		lconn, dealID, loutput string
		limit                  int
	)
	logCmd := &cobra.Command{
		Use:   "log --deal ID [--connection NAME]",
		Short: "Show what was pushed to one deal, newest first: values sent, outcome, the CRM's message, when",
		Args:  cobra.NoArgs,
		RunE: a.withStore(true, func(cmd *cobra.Command, _ []string, s *store.Store) error {
			if err := checkOutput(loutput); err != nil {
				return err
			}
			entries, err := s.PushLog(cmd.Context(), lconn, dealID, limit)
			if err != nil {
				return err
			}
			if loutput == "json" {
				return writeJSONLines(a.stdout, entries)
			}
			if len(entries) == 0 {
				fmt.Fprintf(a.stdout, "nothing pushed to deal %s yet\n", dealID)
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "WHEN\tCONNECTION\tOUTCOME\tVALUES\tCRM MESSAGE")
			for _, e := range entries {
				msg := e.Message
				if e.Code != "" {
					msg = e.Code + ": " + msg
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.At.Format("2006-01-02 15:04:05"), e.Connection, e.Outcome,
					oneLine(showFields(e.Fields), 100), oneLine(msg, 100))
			}
			return tw.Flush()
		}),
	}
	lf := logCmd.Flags()
	lf.StringVar(&dealID, "deal", "", "the deal's CRM id (required)")
	lf.StringVar(&lconn, "connection", "", "only pushes through this connection")
	lf.IntVar(&limit, "limit", 50, "show at most this many entries")
	lf.StringVarP(&loutput, "output", "o", "text", "text or json (one object per line)")
	_ = logCmd.MarkFlagRequired("deal")

	cmd.AddCommand(dl, logCmd)
	return cmd
}

// retryDeadLetters marks the plans of dead-lettered deals for a push (all of them, or the
// given deal ids), and returns the connections to push and how many dead letters it marked.
func (rt *runtime) retryDeadLetters(ctx context.Context, connection string, dealIDs []string) ([]string, int, error) {
	if connection != "" {
		if _, _, err := rt.connection(ctx, connection); err != nil {
			return nil, 0, err
		}
	}
	dls, err := rt.store.DeadLetters(ctx, connection, 100000)
	if err != nil {
		return nil, 0, err
	}
	want := map[string]bool{}
	for _, id := range dealIDs {
		want[id] = true
	}
	byConn := map[string][]string{}
	n := 0
	for _, d := range dls {
		if d.Object != string(connectors.ObjectDeal) || (len(want) > 0 && !want[d.CRMID]) {
			continue
		}
		delete(want, d.CRMID)
		byConn[d.Connection] = append(byConn[d.Connection], d.CRMID)
		n++
	}
	if len(want) > 0 {
		missing := make([]string, 0, len(want))
		for id := range want {
			missing = append(missing, id)
		}
		sort.Strings(missing)
		where := "any connection"
		if connection != "" {
			where = "connection " + connection
		}
		return nil, 0, &missingDeadLetters{ids: missing, where: where}
	}
	names := make([]string, 0, len(byConn))
	for name, ids := range byConn {
		if _, err := rt.store.MarkDealPlans(ctx, name, ids); err != nil {
			return nil, 0, err
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names, n, nil
}

// missingDeadLetters says which deals asked to be retried have no dead letter.
type missingDeadLetters struct {
	ids   []string
	where string
}

func (e *missingDeadLetters) Error() string {
	return fmt.Sprintf("no dead letter for deal(s) %s on %s (see mapsync push dead-letters list)", strings.Join(e.ids, ", "), e.where)
}
