package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// runCLI runs the CLI in-process and returns exit code, stdout and stderr.
func runCLI(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestConfigValidate(t *testing.T) {
	example := filepath.Join("..", "..", "config.example.yaml")
	code, out, _ := runCLI(t, "config", "validate", "--config", example)
	if code != 0 || strings.TrimSpace(out) != "ok" {
		t.Fatalf("example: got exit %d, output %q; want 0 and ok", code, out)
	}

	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(data), "    time_zone: Europe/Berlin", "    time_zone: Europe/Berlin\n    refresh_tokn: x", 1)
	broken = strings.Replace(broken, "  level: info", "  level: chatty", 1)
	path := filepath.Join(t.TempDir(), "broken.yaml")
	os.WriteFile(path, []byte(broken), 0o600)
	code, out, errOut := runCLI(t, "config", "validate", "--config", path)
	if code != 1 {
		t.Fatalf("broken: got exit %d, want 1", code)
	}
	for _, want := range []string{"2 problem(s)", "connections[0].refresh_tokn: unknown key", "(line ", `log.level: want one of`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if errOut != "" {
		t.Errorf("stderr: got %q, want nothing: the problems on stdout are the report", errOut)
	}

	t.Setenv(EnvConfig, example)
	if code, out, _ := runCLI(t, "config", "validate"); code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("MAPSYNC_CONFIG: got %d %q", code, out)
	}
}

func TestMigrateBothBackends(t *testing.T) {
	dir := t.TempDir()
	urls := map[store.Dialect]string{
		store.SQLite:   "sqlite:" + filepath.Join(dir, "m.db"),
		store.Postgres: storetest.NewSchema(t),
	}
	for dialect, url := range urls {
		t.Run(string(dialect), func(t *testing.T) {
			t.Setenv(config.EnvDatabaseURL, url)
			t.Setenv(EnvConfig, "")
			t.Chdir(t.TempDir())
			code, out, errOut := runCLI(t, "migrate", "status")
			if code != 0 || !strings.Contains(out, "pending") || !strings.Contains(out, "run `mapsync migrate up`") {
				t.Fatalf("status before: %d %q %q", code, out, errOut)
			}
			// The result is printed once: one line on stdout, no log lines repeating it.
			if code, out, errOut = runCLI(t, "migrate", "up"); code != 0 || !strings.Contains(out, "applied") ||
				strings.Count(out, "\n") != 1 || errOut != "" {
				t.Fatalf("up: exit %d\nstdout: %q\nstderr: %q\nwant exit 0, one line on stdout, nothing on stderr", code, out, errOut)
			}
			if code, out, _ = runCLI(t, "migrate", "up"); code != 0 || !strings.Contains(out, "up to date") {
				t.Fatalf("second up: %d %q", code, out)
			}
			if code, out, _ = runCLI(t, "migrate", "status"); code != 0 || strings.Contains(out, "pending") {
				t.Fatalf("status after: %d %q", code, out)
			}
			if code, out, _ = runCLI(t, "migrate", "down"); code != 0 || !strings.Contains(out, "rolled back") {
				t.Fatalf("down: %d %q", code, out)
			}
			// A process that needs the schema refuses a database that is behind.
			a := &app{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
			if _, err := a.openStore(context.Background(), true); err == nil || !strings.Contains(err.Error(), "mapsync migrate up") {
				t.Fatalf("schema behind: got %v, want a message to migrate", err)
			}
		})
	}
}

func TestBadInputsGiveOneClearLine(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv(EnvConfig, "")
	tests := map[string]struct {
		env  map[string]string
		args []string
		code int
		want string
	}{
		"unreachable database": {
			env:  map[string]string{config.EnvDatabaseURL: "postgres://u:topsecret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2"},
			args: []string{"migrate", "up"}, code: 1, want: "cannot reach PostgreSQL",
		},
		"wrong secret key": {
			env:  map[string]string{"MAPSYNC_SECRET_KEY": "c2hvcnQ="},
			args: []string{"migrate", "up"}, code: 1, want: "MAPSYNC_SECRET_KEY must decode to 32 bytes",
		},
		"missing config file": {
			args: []string{"config", "validate", "--config", "nope.yaml"}, code: 1, want: "no such file",
		},
		"unknown command": {args: []string{"frobnicate"}, code: 2, want: "unknown command"},
		"bad log level":   {args: []string{"migrate", "status", "--log-level", "loud"}, code: 2, want: "--log-level"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, _, errOut := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Fatalf("got exit %d, stderr %q; want %d and %q", code, errOut, tc.code, tc.want)
			}
			if strings.Contains(errOut, "topsecret") {
				t.Fatalf("stderr leaks a password: %q", errOut)
			}
			if lines := strings.Count(strings.TrimSpace(errOut), "\n") + 1; lines != 1 {
				t.Fatalf("got %d lines on stderr, want 1: %q", lines, errOut)
			}
		})
	}
}

func TestVersionAndKeygen(t *testing.T) {
	if code, out, _ := runCLI(t, "version"); code != 0 || !strings.HasPrefix(out, "mapsync ") {
		t.Fatalf("version: %d %q", code, out)
	}
	code, out, _ := runCLI(t, "keygen")
	if code != 0 {
		t.Fatalf("keygen exit %d", code)
	}
	t.Setenv("MAPSYNC_SECRET_KEY", strings.TrimSpace(out))
	if _, err := requireCipher(); err != nil {
		t.Fatalf("generated key does not parse: %v", err)
	}
}

func TestVersionLine(t *testing.T) {
	bi := func(version string, settings ...string) *debug.BuildInfo {
		b := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/mapsync/mapsync", Version: version}}
		for i := 0; i+1 < len(settings); i += 2 {
			b.Settings = append(b.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return b
	}
	tests := map[string]struct {
		ld   string
		bi   *debug.BuildInfo
		want string
	}{
		"go build in a checkout": {
			ld: "dev",
			bi: bi("v0.0.0-20261204180000-0123456789ab+dirty", "GOOS", "linux", "GOARCH", "amd64",
				"vcs.revision", "0123456789abcdef0123", "vcs.time", "2026-12-04T18:00:00Z", "vcs.modified", "true"),
			want: "mapsync v0.0.0-20261204180000-0123456789ab+dirty, commit 0123456789ab 2026-12-04T18:00:00Z (modified), go1.26.8 linux/amd64",
		},
		"release with ldflags": {
			ld:   "v1.2.3",
			bi:   bi("v1.2.3", "GOOS", "darwin", "GOARCH", "arm64", "vcs.revision", "fedcba9876543210", "vcs.time", "2026-11-01T09:00:00Z", "vcs.modified", "false"),
			want: "mapsync v1.2.3, commit fedcba987654 2026-11-01T09:00:00Z, go1.26.8 darwin/arm64",
		},
		"go run": {
			ld:   "dev",
			bi:   bi("(devel)", "GOOS", "linux", "GOARCH", "amd64"),
			want: "mapsync (devel), no commit recorded (built with go run or -buildvcs=false), go1.26.8 linux/amd64",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := versionLine(tc.ld, tc.bi); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
