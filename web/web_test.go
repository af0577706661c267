package web

import (
	"net/url"
	"strings"
	"testing"
)

func TestPagesParse(t *testing.T) {
	p, err := loadPages()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"signin", "error", "connections", "runs", "deals", "newplan", "plans", "mappings", "push", "templates", "template"} {
		if _, ok := p.sets[name]; !ok {
			t.Errorf("page %s: not loaded", name)
		}
	}
	if p.assets["app.css"] == "" || p.assets["app.js"] == "" {
		t.Errorf("assets not hashed: %v", p.assets)
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/console/deals?q=x":   "/console/deals?q=x",
		"":                     "",
		"https://evil.example": "",
		"//evil.example/x":     "",
		`/\evil.example`:       "",
		"console":              "",
		"javascript:alert(1)":  "",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q): got %q, want %q", in, got, want)
		}
	}
}

// FuzzLocalPath: the sign-in redirect target (?next=, a form field) never leaves the site.
func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/console/", "//x", `/\x`, "http://x", "/a?b=//c", "/%2F%2Fx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := localPath(s)
		if got == "" {
			return
		}
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.HasPrefix(got, `/\`) {
			t.Fatalf("localPath(%q) = %q leaves the site", s, got)
		}
	})
}

// FuzzDecodeFlashes: a flash cookie (browser input) decodes to at most 10 messages of kind ok or
// error, or to nothing; it never panics.
func FuzzDecodeFlashes(f *testing.F) {
	for _, s := range []string{"", "W3siayI6Im9rIiwidCI6ImhpIn1d", "!!", "bnVsbA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fs := decodeFlashes(s)
		if len(fs) > 10 {
			t.Fatalf("%d flashes", len(fs))
		}
		for _, fl := range fs {
			if fl.Kind != "ok" && fl.Kind != "error" {
				t.Fatalf("kind %q", fl.Kind)
			}
		}
	})
}
