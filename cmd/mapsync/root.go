package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/secrets"
	"github.com/mapsync/mapsync/store"
)

// EnvConfig names the default configuration file.
const EnvConfig = "MAPSYNC_CONFIG"

// defaultConfigFile is read when neither --config nor MAPSYNC_CONFIG is given, if it exists.
const defaultConfigFile = "mapsync.yaml"

// app holds what every command shares: flags, output streams, and the config and logger they
// load lazily.
type app struct {
	stdout, stderr io.Writer
	configPath     string
	logLevel       string
	logFormat      string

	cfg *config.Config
	log zerolog.Logger
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	a := &app{stdout: stdout, stderr: stderr, log: zerolog.Nop()}
	root := &cobra.Command{
		Use:   "mapsync",
		Short: "Sync mutual action plans with Salesforce and HubSpot",
		Long: `mapsync connects mutual action plans (MAPs) to the CRM where the deals live: it pulls deals and
contacts from Salesforce and HubSpot, creates plans from templates, and pushes plan progress back.

Configuration comes from --config, else $MAPSYNC_CONFIG, else ./mapsync.yaml if present.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&a.configPath, "config", "", "configuration file (default $MAPSYNC_CONFIG or ./mapsync.yaml)")
	pf.StringVar(&a.logLevel, "log-level", "", "log level: trace, debug, info, warn, error (default from config, else info)")
	pf.StringVar(&a.logFormat, "log-format", "", "log format: json or console (default from config, else json)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })

	root.AddCommand(
		newVersionCmd(a),
		newConfigCmd(a),
		newMigrateCmd(a),
		newKeygenCmd(a),
		newSyncCmd(a),
		newSandboxCmd(a),
		newTemplatesCmd(a),
		newPlansCmd(a),
		newTokensCmd(a),
		newConnectionsCmd(a),
		newServeCmd(a),
		newDemoCmd(a),
		newMappingsCmd(a),
		newWebhooksCmd(a),
		newStatusCmd(a),
		newDealsCmd(a),
		newBenchCmd(a),
		newPushCmd(a),
	)
	return root
}

type usageError struct{ error }

// checkOutput refuses an --output other than text or json as a usage error.
func checkOutput(output string) error {
	if output != "text" && output != "json" {
		return usageError{fmt.Errorf("--output: want text or json, got %q", output)}
	}
	return nil
}

// writeJSONLines writes items to w as JSON, one object a line (the --output json of lists).
func writeJSONLines[T any](w io.Writer, items []T) error {
	enc := json.NewEncoder(w)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			return err
		}
	}
	return nil
}

func isUsage(err error) bool {
	var u usageError
	return errors.As(err, &u) || strings.HasPrefix(err.Error(), "unknown command") || strings.Contains(err.Error(), "accepts ") ||
		strings.HasPrefix(err.Error(), "required flag")
}

// resolveConfigPath returns the file to read and whether the admin named it explicitly.
func (a *app) resolveConfigPath() (string, bool) {
	if a.configPath != "" {
		return a.configPath, true
	}
	if p := os.Getenv(EnvConfig); p != "" {
		return p, true
	}
	return defaultConfigFile, false
}

// loadConfig loads the configuration once. Without a named file and without ./mapsync.yaml it
// uses the defaults (embedded database, no connections), so `mapsync migrate up` works on a
// fresh machine.
func (a *app) loadConfig() (*config.Config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	path, explicit := a.resolveConfigPath()
	var (
		cfg *config.Config
		err error
	)
	if _, statErr := os.Stat(path); statErr != nil && !explicit {
		cfg, err = config.Load("defaults", nil)
	} else {
		cfg, err = config.LoadFile(path)
	}
	if err != nil {
		return nil, err
	}
	a.cfg = cfg
	a.setupLogger()
	return cfg, nil
}

// setupLogger builds the one logger from flags over config.
func (a *app) setupLogger() {
	level, format := "info", "json"
	if a.cfg != nil {
		level, format = a.cfg.Log.Level, a.cfg.Log.Format
	}
	if a.logLevel != "" {
		level = a.logLevel
	}
	if a.logFormat != "" {
		format = a.logFormat
	}
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	var w io.Writer = a.stderr
	if format == "console" {
		// Colours only on a terminal: escape codes in a file or a pipe are noise.
		w = zerolog.ConsoleWriter{Out: a.stderr, TimeFormat: time.TimeOnly, NoColor: !isTerminal(a.stderr)}
	}
	a.log = zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

// validateLogFlags rejects bad --log-level / --log-format values.
func (a *app) validateLogFlags() error {
	if a.logLevel != "" {
		if _, err := zerolog.ParseLevel(a.logLevel); err != nil || a.logLevel == "" {
			return usageError{fmt.Errorf("--log-level: want trace, debug, info, warn or error, got %q", a.logLevel)}
		}
	}
	if a.logFormat != "" && a.logFormat != "json" && a.logFormat != "console" {
		return usageError{fmt.Errorf("--log-format: want json or console, got %q", a.logFormat)}
	}
	return nil
}

// openStore opens the configured database. With checkSchema it refuses a schema that is behind
// or ahead of this binary.
func (a *app) openStore(ctx context.Context, checkSchema bool) (*store.Store, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	opts := store.Options{MaxOpenConns: cfg.Database.MaxOpenConns, Logger: a.log}
	if c, err := secrets.FromEnv(); err == nil {
		opts.Cipher = c
	} else if !errors.Is(err, secrets.ErrNoKey) {
		return nil, err // a malformed key is an error where it is read, never ignored
	}
	s, err := store.Open(ctx, cfg.Database.URL.Reveal(), opts)
	if err != nil {
		return nil, err
	}
	if checkSchema {
		if err := s.CheckSchema(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// requireCipher returns the token cipher, or an error saying how to set the key.
func requireCipher() (*secrets.Cipher, error) {
	return secrets.FromEnv()
}

// withStore returns a cobra RunE that opens the store (checking the schema when checkSchema),
// runs fn with it and closes it.
func (a *app) withStore(checkSchema bool, fn func(cmd *cobra.Command, args []string, s *store.Store) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		s, err := a.openStore(cmd.Context(), checkSchema)
		if err != nil {
			return err
		}
		defer s.Close()
		return fn(cmd, args, s)
	}
}

// isTerminal reports whether w is a terminal (colours and rewritten progress lines are for people).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// setLogDefaults sets zerolog's process-wide encodings once, in main, before any logger writes.
// Durations (every Dur field: took, wait, retry_in) are written as Go duration strings with
// their unit, "1.5s" or "250ms", in JSON and console logs alike; callers round them to what
// matters (a run to the millisecond).
func setLogDefaults() {
	zerolog.DurationFieldFormat = zerolog.DurationFormatString
}
