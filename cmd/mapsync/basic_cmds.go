package main

import (
	"cmp"
	"errors"
	"fmt"
	goruntime "runtime"
	"runtime/debug"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mapsync/mapsync/store"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/secrets"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; without it the module
// version from the build information is printed.
var version = "dev"

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit it was built from and the Go toolchain",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bi, _ := debug.ReadBuildInfo()
			fmt.Fprintln(a.stdout, versionLine(version, bi))
			return nil
		},
	}
}

// versionLine describes a build in one line: "mapsync v1.2.3, commit 0123456789ab
// 2026-12-04T18:00:00Z (modified), go1.26.8 linux/amd64". The version is the one set with
// -ldflags, else the module's (a pseudo-version when built from a checkout); the commit and its
// time are the VCS stamp `go build` records in a checkout (not `go run`).
func versionLine(ldVersion string, bi *debug.BuildInfo) string {
	if bi == nil {
		return fmt.Sprintf("mapsync %s, no build information, %s %s/%s", ldVersion, goruntime.Version(), goruntime.GOOS, goruntime.GOARCH)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	v := ldVersion
	if v == "" || v == "dev" {
		v = cmp.Or(bi.Main.Version, "(devel)")
	}
	line := "mapsync " + v
	if rev := settings["vcs.revision"]; rev != "" {
		line += ", commit " + rev[:min(12, len(rev))]
		if t := settings["vcs.time"]; t != "" {
			line += " " + t
		}
		if settings["vcs.modified"] == "true" {
			line += " (modified)"
		}
	} else {
		line += ", no commit recorded (built with go run or -buildvcs=false)"
	}
	goos, goarch := cmp.Or(settings["GOOS"], goruntime.GOOS), cmp.Or(settings["GOARCH"], goruntime.GOARCH)
	return fmt.Sprintf("%s, %s %s/%s", line, cmp.Or(bi.GoVersion, goruntime.Version()), goos, goarch)
}

func newConfigCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Check configuration files"}
	cmd.AddCommand(&cobra.Command{
		Use:   "validate",
		Short: "Validate the configuration and print every problem at once",
		Long: `Validate reads the configuration (--config, $MAPSYNC_CONFIG or ./mapsync.yaml), expands ${VAR}
references, and checks keys, types and values. It prints "ok" and exits 0, or prints every problem
with its YAML path and line and exits 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, _ := a.resolveConfigPath()
			_, err := config.LoadFile(path)
			var ce *config.Error
			if errors.As(err, &ce) {
				fmt.Fprintf(a.stdout, "%s: %d problem(s)\n", ce.File, len(ce.Problems))
				for _, p := range ce.Problems {
					fmt.Fprintf(a.stdout, "  %s\n", p)
				}
				return &exitError{code: 1} // the problems above are the report
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, "ok")
			return nil
		},
	})
	return cmd
}

func newMigrateCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply, roll back or list database migrations",
		Long:  "Migrations are embedded in the binary, one set for PostgreSQL and one for SQLite.",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "up",
		Short: "Apply every pending migration",
		Args:  cobra.NoArgs,
		RunE: a.withStore(false, func(cmd *cobra.Command, _ []string, s *store.Store) error {
			applied, err := s.MigrateUp(cmd.Context())
			if err != nil {
				return err
			}
			cur, _, _ := s.SchemaVersions(cmd.Context())
			if len(applied) == 0 {
				fmt.Fprintf(a.stdout, "%s schema is up to date at version %d\n", s.Dialect(), cur)
				return nil
			}
			fmt.Fprintf(a.stdout, "applied %d migration(s) on %s; schema at version %d\n", len(applied), s.Dialect(), cur)
			return nil
		}),
	}, &cobra.Command{
		Use:   "down",
		Short: "Roll back the latest migration",
		Args:  cobra.NoArgs,
		RunE: a.withStore(false, func(cmd *cobra.Command, _ []string, s *store.Store) error {
			v, err := s.MigrateDown(cmd.Context())
			if err != nil {
				return err
			}
			if v == 0 {
				fmt.Fprintln(a.stdout, "nothing to roll back")
				return nil
			}
			fmt.Fprintf(a.stdout, "rolled back migration %d on %s\n", v, s.Dialect())
			return nil
		}),
	}, &cobra.Command{
		Use:   "status",
		Short: "List migrations and whether each is applied",
		Args:  cobra.NoArgs,
		RunE: a.withStore(false, func(cmd *cobra.Command, _ []string, s *store.Store) error {
			st, err := s.MigrationStatuses(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VERSION\tSTATE\tFILE")
			for _, m := range st {
				state := "pending"
				if m.Applied {
					state = "applied"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\n", m.Version, state, m.Name)
			}
			tw.Flush()
			if err := s.CheckSchema(cmd.Context()); errors.Is(err, store.ErrSchemaAhead) {
				return &exitError{code: 1, err: err} // this binary must not run on that database
			} else if err != nil {
				fmt.Fprintln(a.stdout, err) // pending migrations: what `migrate up` will apply
			}
			return nil
		}),
	})
	for _, c := range cmd.Commands() {
		c.PreRunE = func(*cobra.Command, []string) error { return a.validateLogFlags() }
	}
	return cmd
}

func newKeygenCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "keygen",
		Short: "Print a new random MAPSYNC_SECRET_KEY (base64 of 32 bytes)",
		Long:  "Stored OAuth tokens are sealed with AES-256-GCM under MAPSYNC_SECRET_KEY. Keep the key secret and stable: tokens sealed with one key do not open with another.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := secrets.GenerateKey()
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, k)
			return nil
		},
	}
}
