package connectors

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckInstanceURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		raw    string
		policy InstancePolicy
		want   string // "" when refused
	}{
		{name: "my domain", raw: "https://acme.my.salesforce.com", want: "https://acme.my.salesforce.com"},
		{name: "my domain upper case", raw: "https://ACME.My.Salesforce.com", want: "https://ACME.My.Salesforce.com"},
		{name: "my domain port 443", raw: "https://acme.my.salesforce.com:443", want: "https://acme.my.salesforce.com:443"},
		{name: "legacy instance", raw: "https://na123.salesforce.com/", want: "https://na123.salesforce.com"},
		{name: "sandbox instance", raw: "https://cs42.salesforce.com", want: "https://cs42.salesforce.com"},
		{name: "hyperforce instance", raw: "https://usa77s.salesforce.com", want: "https://usa77s.salesforce.com"},
		{name: "sandbox my domain", raw: "https://acme--uat.sandbox.my.salesforce.com", want: "https://acme--uat.sandbox.my.salesforce.com"},
		{name: "scratch my domain", raw: "https://power-fun-1234.scratch.my.salesforce.com", want: "https://power-fun-1234.scratch.my.salesforce.com"},
		{name: "developer edition", raw: "https://acme-dev-ed.develop.my.salesforce.com", want: "https://acme-dev-ed.develop.my.salesforce.com"},
		{name: "demo org", raw: "https://acme.demo.my.salesforce.com", want: "https://acme.demo.my.salesforce.com"},
		{name: "patch org", raw: "https://acme.patch.my.salesforce.com", want: "https://acme.patch.my.salesforce.com"},
		{name: "free org", raw: "https://acme.free.my.salesforce.com", want: "https://acme.free.my.salesforce.com"},
		{name: "trailhead playground", raw: "https://acme.trailblaze.my.salesforce.com", want: "https://acme.trailblaze.my.salesforce.com"},
		// Hosts that serve pages, sites or files, not the API: refused by default.
		{name: "force.com site", raw: "https://acme.force.com"},
		{name: "experience cloud site", raw: "https://acme.my.site.com"},
		{name: "salesforce sites", raw: "https://acme.salesforce-sites.com"},
		{name: "partitioned salesforce sites", raw: "https://acme.sandbox.my.salesforce-sites.com"},
		{name: "cloudforce", raw: "https://acme.cloudforce.com"},
		{name: "visualforce", raw: "https://acme--c.vf.force.com"},
		{name: "files", raw: "https://acme.file.force.com"},
		{name: "setup domain", raw: "https://acme.my.salesforce-setup.com"},
		{name: "unknown partition", raw: "https://acme.lightning.my.salesforce.com"},
		{name: "deep my domain", raw: "https://a.b.sandbox.my.salesforce.com"},
		{name: "bare my domain suffix", raw: "https://my.salesforce.com"},
		{name: "empty label", raw: "https://.my.salesforce.com"},
		{name: "trailing dot", raw: "https://acme.my.salesforce.com."},
		{name: "salesforce web site", raw: "https://www.salesforce.com"},
		{name: "salesforce help", raw: "https://help.salesforce.com"},
		{name: "instance under a subdomain", raw: "https://na1.evil.salesforce.com"},
		{name: "configured host on another domain", raw: "https://acme.my.salesforce.mil", policy: InstancePolicy{Hosts: []string{"acme.my.salesforce.mil"}}, want: "https://acme.my.salesforce.mil"},
		{name: "configured host needs https", raw: "http://acme.my.salesforce.mil", policy: InstancePolicy{Hosts: []string{"acme.my.salesforce.mil"}}},
		{name: "http refused", raw: "http://acme.my.salesforce.com"},
		{name: "foreign host", raw: "https://evil.example.com"},
		{name: "suffix trick", raw: "https://acme.my.salesforce.com.evil.example.com"},
		{name: "lookalike", raw: "https://evilsalesforce.com"},
		{name: "lightning UI", raw: "https://acme.lightning.force.com"},
		{name: "partitioned lightning UI", raw: "https://acme.sandbox.lightning.force.com"},
		{name: "user info", raw: "https://user:pw@acme.my.salesforce.com"},
		{name: "path", raw: "https://acme.my.salesforce.com/services"},
		{name: "odd port", raw: "https://acme.my.salesforce.com:8443"},
		{name: "loopback without sandbox", raw: "http://127.0.0.1:8080"},
		{name: "loopback sandbox", raw: "http://127.0.0.1:8080", policy: InstancePolicy{Sandbox: true}, want: "http://127.0.0.1:8080"},
		{name: "localhost sandbox", raw: "http://localhost:9", policy: InstancePolicy{Sandbox: true}, want: "http://localhost:9"},
		{name: "sandbox still refuses foreign", raw: "http://10.0.0.8:8080", policy: InstancePolicy{Sandbox: true}},
		{name: "configured host", raw: "https://acme.my.salesforce.com", policy: InstancePolicy{Hosts: []string{"acme.my.salesforce.com"}}, want: "https://acme.my.salesforce.com"},
		{name: "other salesforce host than configured", raw: "https://other.my.salesforce.com", policy: InstancePolicy{Hosts: []string{"acme.my.salesforce.com"}}},
		{name: "not a URL", raw: "acme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, err := CheckInstanceURL(tt.raw, tt.policy)
			if tt.want == "" {
				var e *Error
				if !errors.As(err, &e) || e.Kind != KindAuth {
					t.Fatalf("got %v, %v; want a KindAuth refusal", u, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want %s", err, tt.want)
			}
			if u.String() != tt.want {
				t.Errorf("got %s, want %s", u, tt.want)
			}
		})
	}
}

// FuzzCheckInstanceURL: any instance_url is accepted or refused with a KindAuth error, never a
// panic, and an accepted one is https on a REST API host (or loopback for a sandbox connection).
func FuzzCheckInstanceURL(f *testing.F) {
	for _, s := range []string{
		"https://acme.my.salesforce.com", "https://acme--uat.sandbox.my.salesforce.com", "https://na123.salesforce.com",
		"https://acme.force.com", "https://acme.my.site.com", "http://127.0.0.1:8080", "https://user:pw@acme.my.salesforce.com",
		"https://acme.my.salesforce.com.evil.example.com", "acme", "", "https://[::1]:443", "https://acme.my.salesforce.com:443/",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, sandbox bool) {
		u, err := CheckInstanceURL(raw, InstancePolicy{Sandbox: sandbox})
		if err != nil {
			if KindOf(err) != KindAuth {
				t.Fatalf("%q: got %v, want a KindAuth refusal", raw, err)
			}
			return
		}
		if u.Path != "" || u.RawQuery != "" || u.User != nil {
			t.Fatalf("%q: accepted %s with more than scheme and host", raw, u)
		}
		if !sandbox && (u.Scheme != "https" || !isAPIHost(strings.ToLower(u.Hostname()))) {
			t.Fatalf("%q: accepted %s, not https on an API host", raw, u)
		}
	})
}
