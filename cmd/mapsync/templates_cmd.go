package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
)

// templateFiles expands folders into their *.yaml, *.yml and *.json files, sorted.
func templateFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		for _, pat := range []string{"*.yaml", "*.yml", "*.json"} {
			m, _ := filepath.Glob(filepath.Join(p, pat))
			out = append(out, m...)
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("no template files (*.yaml, *.yml, *.json) in %v", paths)
	}
	return out, nil
}

// templateSource is one template document and where it came from.
type templateSource struct {
	name string
	data []byte
}

// readTemplates reads files from fsys (os files when fsys is nil).
func readTemplates(fsys fs.FS, files []string) ([]templateSource, error) {
	var (
		out  []templateSource
		errs []error
	)
	for _, f := range files {
		var (
			data []byte
			err  error
		)
		if fsys == nil {
			data, err = os.ReadFile(f)
		} else {
			data, err = fs.ReadFile(fsys, f)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, templateSource{name: f, data: data})
	}
	return out, errors.Join(errs...)
}

// parseTemplates parses every document and reports every problem of every one.
func parseTemplates(srcs []templateSource) ([]*plans.Template, error) {
	var (
		ts   []*plans.Template
		errs []error
		keys = map[string]string{}
	)
	for _, src := range srcs {
		f := src.name
		t, err := plans.Parse(src.data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
			continue
		}
		if other, dup := keys[t.Key]; dup {
			errs = append(errs, fmt.Errorf("%s: key %q is also the key of %s", f, t.Key, other))
			continue
		}
		keys[t.Key] = f
		ts = append(ts, t)
	}
	return ts, errors.Join(errs...)
}

// importTemplates imports files and folders into the store and reports each outcome.
func importTemplates(ctx context.Context, s *store.Store, paths []string, report func(t *plans.Template, version int, created bool)) error {
	files, err := templateFiles(paths)
	if err != nil {
		return err
	}
	srcs, err := readTemplates(nil, files)
	if err != nil {
		return err
	}
	return importSources(ctx, s, srcs, report)
}

// importSources parses every document (all or nothing) and imports them.
func importSources(ctx context.Context, s *store.Store, srcs []templateSource, report func(t *plans.Template, version int, created bool)) error {
	ts, err := parseTemplates(srcs)
	if err != nil {
		return err
	}
	for _, t := range ts {
		v, created, err := s.ImportTemplate(ctx, t)
		if err != nil {
			return fmt.Errorf("import %s: %w", t.Key, err)
		}
		if report != nil {
			report(t, v, created)
		}
	}
	return nil
}

func newTemplatesCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "templates", Short: "Validate, import, export and list plan templates"}
	cmd.AddCommand(&cobra.Command{
		Use:   "validate [FILE|DIR...]",
		Short: "Validate template files (default: templates.dir) and print every problem with its path and line",
		RunE: func(cmd *cobra.Command, args []string) error {
			args, err := a.templateArgs(args)
			if err != nil {
				return err
			}
			files, err := templateFiles(args)
			if err != nil {
				return err
			}
			srcs, err := readTemplates(nil, files)
			if err != nil {
				return err
			}
			ts, err := parseTemplates(srcs)
			if err != nil {
				fmt.Fprintln(a.stdout, err)
				return &exitError{code: 1, err: fmt.Errorf("%d file(s) checked, some are invalid", len(files))}
			}
			for _, t := range ts {
				fmt.Fprintf(a.stdout, "ok  %s (%s)\n", t.Key, t.Name)
			}
			return nil
		},
	}, &cobra.Command{
		Use:   "import [FILE|DIR...]",
		Short: "Import templates (default: templates.dir); a changed template becomes a new version",
		RunE: func(cmd *cobra.Command, args []string) error {
			args, err := a.templateArgs(args)
			if err != nil {
				return err
			}
			s, err := a.openStore(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer s.Close()
			return importTemplates(cmd.Context(), s, args, func(t *plans.Template, v int, created bool) {
				state := "unchanged"
				if created {
					state = "imported"
				}
				fmt.Fprintf(a.stdout, "%-9s %s version %d\n", state, t.Key, v)
			})
		},
	})
	var (
		version int
		format  string
	)
	export := &cobra.Command{
		Use:   "export KEY",
		Short: "Print a stored template (latest version unless --version)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "yaml" && format != "json" {
				return usageError{fmt.Errorf("--format: want yaml or json, got %q", format)}
			}
			s, err := a.openStore(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer s.Close()
			t, err := s.Template(cmd.Context(), args[0], version)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w (`mapsync templates list` shows the stored templates)", err)
			}
			if err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(t)
			}
			enc := yaml.NewEncoder(a.stdout)
			enc.SetIndent(2)
			return enc.Encode(t)
		},
	}
	export.Flags().IntVar(&version, "version", 0, "template version (default latest)")
	export.Flags().StringVar(&format, "format", "yaml", "yaml or json")
	cmd.AddCommand(export, &cobra.Command{
		Use:   "list",
		Short: "List stored templates (latest version of each)",
		Args:  cobra.NoArgs,
		RunE: a.withStore(true, func(cmd *cobra.Command, _ []string, s *store.Store) error {
			ts, err := s.Templates(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tVERSION\tPRIORITY\tNAME")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", t.Key, t.Version, selectionLabel(t), t.Name)
			}
			return tw.Flush()
		}),
	})
	return cmd
}

// templateArgs returns the files and folders a templates command reads: its arguments, else the
// configuration's templates.dir.
func (a *app) templateArgs(args []string) ([]string, error) {
	if len(args) > 0 {
		return args, nil
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	if cfg.Templates.Dir == "" {
		return nil, usageError{errors.New("give files or folders, or set templates.dir in the configuration")}
	}
	return []string{cfg.Templates.Dir}, nil
}

// selectionLabel says how a template is chosen: its priority, "additive" for one that makes a plan
// besides the main one, "-" for one used only when asked for by key.
func selectionLabel(t *plans.Template) string {
	switch {
	case t.Selection == nil:
		return "-"
	case t.Selection.Additive:
		return "additive"
	}
	return fmt.Sprint(t.Selection.Priority)
}
