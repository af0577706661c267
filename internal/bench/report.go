package bench

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Machine describes where the figures were measured.
type Machine struct {
	CPU      string  `json:"cpu"`
	Cores    int     `json:"cores"`
	MemoryGB float64 `json:"memory_gb"`
	OS       string  `json:"os"`
	Go       string  `json:"go"`
	Database string  `json:"database"`
	// Load is the 1-minute load average when the run started: other work on the machine (tests,
	// builds) shares its cores and shows in every figure.
	Load string `json:"load"`
}

// ReadMachine reads the machine's CPU, cores and memory, Go's version, and the database's
// version from db (PostgreSQL's server_version or SQLite's sqlite_version()).
func ReadMachine(ctx context.Context, db *sql.DB, postgres bool) Machine {
	m := Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version(), CPU: "unknown"}
	if v := procField("/proc/cpuinfo", "model name"); v != "" {
		m.CPU = v
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			m.Load = f[0]
		}
	}
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		if kb, err := strconv.ParseFloat(strings.TrimSuffix(v, " kB"), 64); err == nil {
			m.MemoryGB = kb / 1024 / 1024
		}
	}
	if db != nil {
		var v string
		if postgres {
			if err := db.QueryRowContext(ctx, `SELECT 'PostgreSQL ' || current_setting('server_version')`).Scan(&v); err == nil {
				m.Database = v
			}
		} else if err := db.QueryRowContext(ctx, `SELECT 'SQLite ' || sqlite_version()`).Scan(&v); err == nil {
			m.Database = v + " (embedded, modernc)"
		}
	}
	return m
}

// procField returns the value of the first "key : value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// String is the machine in one line.
func (m Machine) String() string {
	s := fmt.Sprintf("%s, %d cores, %.1f GB RAM, %s, %s, %s", m.CPU, m.Cores, m.MemoryGB, m.OS, m.Go, m.Database)
	if m.Load != "" {
		s += ", load average " + m.Load + " at the start"
	}
	return s
}

// WriteJSON writes {"scenario": {"key": value, ...}, ...} for the scenarios that ran; a failed
// scenario is {"error": "..."}.
func WriteJSON(w io.Writer, outcomes []Outcome) error {
	out := map[string]map[string]any{}
	for _, o := range outcomes {
		m := map[string]any{}
		if o.Err != nil {
			m["error"] = o.Err.Error()
		}
		for _, f := range o.Result.Figures {
			m[f.Key] = f.Value
		}
		out[o.Scenario] = m
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WriteTable writes the machine, then one row per figure: scenario, figure, value, unit,
// limit/target, pass or fail; then each scenario's notes and errors.
func WriteTable(w io.Writer, m Machine, outcomes []Outcome) error {
	fmt.Fprintf(w, "machine: %s\n\n", m)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tFIGURE\tVALUE\tUNIT\tLIMIT/TARGET\tRESULT")
	for _, o := range outcomes {
		if o.Err != nil {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\terror\n", o.Scenario)
		}
		for _, f := range o.Result.Figures {
			res := "-"
			if f.Pass != nil {
				res = "pass"
				if !*f.Pass {
					res = "FAIL"
				}
			}
			target := f.Target
			if target == "" {
				target = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", o.Scenario, f.Key, FormatValue(f.Value), f.Unit, target, res)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, o := range outcomes {
		if o.Err != nil {
			fmt.Fprintf(w, "\n%s: error: %v", o.Scenario, o.Err)
		}
		for _, n := range o.Result.Notes {
			fmt.Fprintf(w, "\n%s: %s", o.Scenario, n)
		}
	}
	_, err := fmt.Fprintln(w)
	return err
}

// Failed reports whether any scenario failed to run or any figure missed its target.
func Failed(outcomes []Outcome) (errors, misses int) {
	for _, o := range outcomes {
		if o.Err != nil {
			errors++
		}
		for _, f := range o.Result.Figures {
			if f.Pass != nil && !*f.Pass {
				misses++
			}
		}
	}
	return errors, misses
}
