package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary configuration files, ${VAR} and ${VAR:-default} forms included,
// through Load: no panic; a refusal is an *Error listing problems that each say something; an
// accepted configuration loads again to the same connections.
func FuzzLoad(f *testing.F) {
	os.Setenv("MAPSYNC_FUZZ_VAR", "x: y\n\"") // a value that would break the YAML if pasted in
	for _, p := range append([]string{filepath.Join("..", "config.example.yaml")}, mustGlob(filepath.Join("testdata", "*.yaml"))...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"", "database:\n  url: ${MAPSYNC_FUZZ_VAR}\n", "database:\n  url: ${NOPE:-sqlite:x.db}\n",
		"database:\n  url: ${}\n", "database:\n  url: ${A:-${B}}\n", "database:\n  url: $${X}\n",
		"connections:\n  - name: a\n    kind: hubspot\n    schedule: '${MAPSYNC_FUZZ_VAR:-@every 1s}'\n", "a: &a [*a]\n", "- 1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Load("fuzz.yaml", data)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("refused without problems: %v", err)
			}
			for _, p := range ce.Problems {
				if p.Message == "" {
					t.Fatalf("problem without a message: %+v", p)
				}
			}
			return
		}
		again, err := Load("fuzz.yaml", data)
		if err != nil || len(again.Connections) != len(cfg.Connections) {
			t.Fatalf("loading the same bytes again: %v, %d connections, first time %d", err, len(again.Connections), len(cfg.Connections))
		}
	})
}

func mustGlob(pattern string) []string {
	m, _ := filepath.Glob(pattern)
	return m
}
