package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The README is where a newcomer starts: these tests keep it true to the CLI.

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReadmeCoversEveryCommandAndFlag: each command of the CLI, and each of its flags, appears in
// the README.
func TestReadmeCoversEveryCommandAndFlag(t *testing.T) {
	doc := readme(t)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			walk(sub)
		}
		if c.HasSubCommands() || !c.Runnable() {
			return
		}
		path := strings.TrimPrefix(c.CommandPath(), "mapsync ")
		parent := strings.TrimPrefix(c.Parent().CommandPath(), "mapsync")
		// "mapsync migrate up", or in a group written "migrate up` / `migrate down".
		if !strings.Contains(doc, "mapsync "+path) && !strings.Contains(doc, "`"+path) &&
			!(parent != "" && strings.Contains(doc, strings.TrimSpace(parent)+" "+c.Name())) {
			t.Errorf("the README does not mention `mapsync %s`", path)
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Name != "help" && !strings.Contains(doc, "--"+f.Name) {
				t.Errorf("the README does not mention `mapsync %s --%s`", path, f.Name)
			}
		})
	}
	root := newRootCmd(&strings.Builder{}, &strings.Builder{})
	walk(root)
	root.PersistentFlags().VisitAll(func(f *pflag.Flag) {
		if !strings.Contains(doc, "--"+f.Name) {
			t.Errorf("the README does not mention the global flag --%s", f.Name)
		}
	})
}

// TestReadmeCommandsParse: every `go run ./cmd/mapsync ...` line of the README names a command
// and flags the CLI has.
func TestReadmeCommandsParse(t *testing.T) {
	n := 0
	for _, line := range strings.Split(readme(t), "\n") {
		line = strings.TrimSpace(line)
		rest, ok := strings.CutPrefix(line, "go run ./cmd/mapsync ")
		if !ok {
			continue
		}
		rest, _, _ = strings.Cut(rest, "#")
		rest = strings.TrimSuffix(strings.TrimSpace(rest), "&")
		rest, _, _ = strings.Cut(rest, ")") // $(go run ./cmd/mapsync keygen)
		args := strings.Fields(rest)
		root := newRootCmd(&strings.Builder{}, &strings.Builder{})
		cmd, flags, err := root.Find(args)
		if err != nil || cmd == root {
			t.Errorf("README line %q: no such command (%v)", line, err)
			continue
		}
		if err := cmd.ParseFlags(flags); err != nil {
			t.Errorf("README line %q: %v", line, err)
		}
		n++
	}
	if n < 5 {
		t.Fatalf("found %d `go run ./cmd/mapsync` lines in the README, want the by-hand steps", n)
	}
}

// TestReadmeLinks: the architecture document the README points to is in the repository.
func TestReadmeLinks(t *testing.T) {
	doc := readme(t)
	if strings.Contains(doc, "../shared/") {
		t.Error("the README links outside the repository (../shared/)")
	}
	if !strings.Contains(doc, "(docs/ARCHITECTURE.md)") {
		t.Error("the README does not link docs/ARCHITECTURE.md")
	}
	if _, err := os.Stat(filepath.Join("..", "..", "docs", "ARCHITECTURE.md")); err != nil {
		t.Error(err)
	}
}

// TestGitignoreCoversByHandArtefacts: what the README's steps write into the work tree is ignored.
func TestGitignoreCoversByHandArtefacts(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	for _, f := range []string{"sandbox.yaml", "mapsync.db", "mapsync.db-wal", "mapsync.db-shm", "demo.db"} {
		out, err := exec.Command("git", "-C", filepath.Join("..", ".."), "check-ignore", "-q", "--no-index", f).CombinedOutput()
		if err != nil {
			t.Errorf("git does not ignore %s (%v %s)", f, err, out)
		}
	}
}
