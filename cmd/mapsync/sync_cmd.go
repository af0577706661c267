package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/pull"
)

func newSyncCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "sync", Short: "Run and inspect CRM syncs"}
	var (
		connection string
		full       bool
		output     string
		timeout    time.Duration
		wait       time.Duration
	)
	runCmd := &cobra.Command{
		Use:   "run --connection NAME [--full]",
		Short: "Pull one connection now, with progress, and print a summary",
		Long: `Run pulls owners, contacts, deals and contact roles of one connection now. An incremental run
starts at each object's cursor (minus the overlap window); --full reads everything and marks what the
CRM no longer has as deleted. Pages are committed with their cursor, so an interrupted run resumes
where it stopped. Exits 1 if the run failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.validateLogFlags(); err != nil {
				return err
			}
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
			out, runErr := rt.pullOnce(ctx, connection, pull.Request{Full: full, Trigger: store.TriggerManual}, wait, newProgressPrinter(a))
			if errors.Is(runErr, store.ErrLocked) {
				return &exitError{code: 1, err: fmt.Errorf("connection %s is busy: %w; wait for it, or pass --wait 10m to queue behind it", connection, runErr)}
			}
			if out != nil && out.Pull != nil {
				if output == "json" {
					enc := json.NewEncoder(a.stdout)
					enc.SetIndent("", "  ")
					enc.Encode(struct {
						*pull.Summary
						Plans        any    `json:"plans,omitempty"`
						PlansSkipped string `json:"plans_skipped,omitempty"`
					}{out.Pull, out.Plans, out.PlansSkipped})
				} else {
					printSummary(a, out.Pull)
					printPlans(a, out)
				}
			}
			if runErr != nil {
				return &exitError{code: 1, err: runErr}
			}
			return nil
		},
	}
	f := runCmd.Flags()
	f.StringVar(&connection, "connection", "", "connection name from the configuration (required)")
	f.BoolVar(&full, "full", false, "full reconcile: read everything, mark missing records deleted")
	f.StringVarP(&output, "output", "o", "text", "summary format: text or json")
	f.DurationVar(&timeout, "timeout", 0, "give up after this long (default: no limit)")
	f.DurationVar(&wait, "wait", 0, "when another run of the connection is in progress, wait this long for it (default: refuse at once)")
	runCmd.MarkFlagRequired("connection")
	cmd.AddCommand(runCmd, newSyncRunsCmd(a), newSyncPushCmd(a))
	return cmd
}

// newProgressPrinter reports pages on stderr, all objects on one line (they are read at once): on
// a terminal at most every 200ms, rewriting the line; otherwise a logs-friendly line when an
// object starts and at most every 5s.
func newProgressPrinter(a *app) func(pull.Progress) {
	tty := isTerminal(a.stderr)
	every := 5 * time.Second
	if tty {
		every = 200 * time.Millisecond
	}
	var (
		mu    sync.Mutex
		last  time.Time
		order []connectors.Object
		seen  = map[connectors.Object]pull.Progress{}
	)
	return func(p pull.Progress) {
		mu.Lock()
		defer mu.Unlock()
		_, known := seen[p.Object]
		if !known {
			order = append(order, p.Object)
		}
		seen[p.Object] = p
		if known && time.Since(last) < every {
			return
		}
		last = time.Now()
		var b strings.Builder
		for i, obj := range order {
			if i > 0 {
				b.WriteString("  ")
			}
			q := seen[obj]
			fmt.Fprintf(&b, "%s %d records (%d pages, %d changed)", obj, q.Read, q.Pages, q.Changed)
		}
		if tty {
			fmt.Fprintf(a.stderr, "\r%s\x1b[K", b.String())
		} else {
			fmt.Fprintln(a.stderr, b.String())
		}
	}
}

// printSummary prints what a run did. A failed run's error is not repeated here: the command
// returns it and main prints it once.
func printSummary(a *app, s *pull.Summary) {
	fmt.Fprintf(a.stdout, "\nrun %d on %s (%s): %s in %s, %d API calls, %d retries\n", s.RunID, s.Connection, modeLabel(s), s.Status, s.Took, s.APICalls, s.Retries)
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "OBJECT\tREAD\tINSERTED\tUPDATED\tUNCHANGED\tDELETED\tMISSING\tPAGES\tTOOK\t")
	for _, o := range s.Objects {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n", o.Object, o.Read, o.Inserted, o.Updated, o.Unchanged, o.Deleted, o.Missing, o.Pages, o.Took)
	}
	tw.Flush()
}

// modeLabel is the run's mode with, for a run that read everything without being asked to, why:
// "full, first pull".
func modeLabel(s *pull.Summary) string {
	if s.Reason != "" {
		return s.Mode + ", " + s.Reason
	}
	return s.Mode
}
