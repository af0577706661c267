// Command mapsync is the CRM-integration sync engine for mutual action plans: a daemon, an HTTP
// API and an admin CLI in one binary. Run `mapsync --help` for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	setLogDefaults()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exitError carries a specific exit code (e.g. 1 for "config invalid" after printing problems).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// run executes the CLI and returns the process exit code: 0 on success, 1 when the command
// failed (after printing one clear line, or the command's own report), 2 on usage errors.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(stderr, "mapsync:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "mapsync:", err)
	if isUsage(err) {
		return 2
	}
	return 1
}
