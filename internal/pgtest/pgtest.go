// Package pgtest runs a private PostgreSQL server for fault tests: its own data folder, its own
// port, started, stopped and restarted by the test, so that a test can take the database away
// from a running mapsync without touching the shared server every other test uses.
//
// The server is built with the machine's own PostgreSQL programs (initdb, pg_ctl), found in
// MAPSYNC_PG_BIN, else the newest /usr/lib/postgresql/*/bin, else PATH. initdb refuses to run as
// root, so under root the programs run as the "postgres" user (runuser), in a folder that user
// owns. When the programs (or, under root, that user) are missing a test fails under CI=true and
// is skipped with the reason otherwise.
//
// Slow fault tests also call Faults, which runs them only when MAPSYNC_FAULTS=1 (scripts/test.sh
// sets it under CI).
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq" // the server is reached through lib/pq, as mapsync does
)

// EnvFaults turns on the slow fault tests when "1".
const EnvFaults = "MAPSYNC_FAULTS"

// EnvBin names a folder holding initdb and pg_ctl, overriding the search.
const EnvBin = "MAPSYNC_PG_BIN"

// Faults skips the test unless MAPSYNC_FAULTS=1; under CI=true it fails instead, since CI must
// run every fault test (scripts/test.sh sets the variable).
func Faults(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvFaults) == "1" {
		return
	}
	msg := "slow fault test: set " + EnvFaults + "=1 to run it (scripts/test.sh does under CI=true)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Server is a private PostgreSQL server.
type Server struct {
	t       testing.TB
	bin     string
	dir     string // owned by the server's user: data/ and the socket
	port    int
	runAs   string // "" when the programs run as this process's user
	running bool
}

// unavailable fails the test under CI=true and skips it otherwise.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := "private PostgreSQL: " + fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// findBin returns the folder holding initdb and pg_ctl.
func findBin() (string, error) {
	has := func(dir string) bool {
		for _, p := range []string{"initdb", "pg_ctl"} {
			if fi, err := os.Stat(filepath.Join(dir, p)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if d := os.Getenv(EnvBin); d != "" {
		if has(d) {
			return d, nil
		}
		return "", fmt.Errorf("%s=%s holds no initdb and pg_ctl", EnvBin, d)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("no initdb and pg_ctl in %s, /usr/lib/postgresql/*/bin or PATH (Debian: apt-get install postgresql)", EnvBin)
}

// version reads the major version of /usr/lib/postgresql/N/bin.
func version(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

// Start initialises a data folder and starts a server on a free loopback port; the server is
// stopped and its folder removed when the test ends. Each call makes a new server.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := findBin()
	if err != nil {
		unavailable(t, "%v", err)
	}
	s := &Server{t: t, bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			unavailable(t, "running as root, and initdb refuses root, but there is no postgres user to run it as: %v", err)
		}
		s.runAs = u.Username
	}
	// Not t.TempDir: its parent is private to this user, and the server may run as another.
	s.dir, err = os.MkdirTemp("", "mapsync-pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(s.dir) })
	if s.runAs != "" {
		if err := chownTo(s.dir, s.runAs); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := s.run("initdb", "-D", s.data(), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if s.running {
			_, _ = s.run("pg_ctl", "-D", s.data(), "-m", "immediate", "-w", "stop")
		}
	})
	// The free port may be taken by another process before the server binds it: try another.
	for attempt := 1; ; attempt++ {
		s.port = freePort(t)
		err := s.start()
		if err == nil {
			break
		}
		if attempt == 3 {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("postgres", s.url("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE test"); err != nil {
		t.Fatalf("private PostgreSQL: create database: %v", err)
	}
	return s
}

func chownTo(dir, name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

// run runs one of the server's programs, as the server's user.
func (s *Server) run(prog string, args ...string) ([]byte, error) {
	path := filepath.Join(s.bin, prog)
	var cmd *exec.Cmd
	if s.runAs != "" {
		cmd = exec.Command("runuser", append([]string{"-u", s.runAs, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = s.dir
	return cmd.CombinedOutput()
}

func (s *Server) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// URL is the address of the server's database "test" (user postgres, no password). It stays the
// same across restarts.
func (s *Server) URL() string { return s.url("test") }

// Port is the server's TCP port on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// Start starts the stopped server and waits until it accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

func (s *Server) start() error {
	opts := strings.Join([]string{
		"-p " + strconv.Itoa(s.port),
		"-c listen_addresses=127.0.0.1",
		"-k " + s.dir,
		"-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
		"-c max_connections=100", "-c shared_buffers=32MB",
	}, " ")
	if out, err := s.run("pg_ctl", "-D", s.data(), "-o", opts, "-l", filepath.Join(s.dir, "log"), "-w", "-t", "60", "start"); err != nil {
		return fmt.Errorf("pg_ctl start on port %d: %v\n%s\n%s", s.port, err, out, s.Log())
	}
	s.running = true
	return nil
}

// Stop stops the server in fast mode: open connections are ended at once (clients see an admin
// shutdown, then refused connections), committed work is kept.
func (s *Server) Stop() {
	s.t.Helper()
	if out, err := s.run("pg_ctl", "-D", s.data(), "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		s.t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
	s.running = false
}

// Restart stops the server, waits down for, and starts it again on the same port.
func (s *Server) Restart(down time.Duration) {
	s.t.Helper()
	s.Stop()
	time.Sleep(down) //nolint:forbidigo // the outage's length is the fault
	s.Start()
}

// Log is the server's log so far, for a failing test's message.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "log"))
	return string(b)
}
