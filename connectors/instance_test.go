package connectors

import (
	"errors"
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
		{name: "legacy instance", raw: "https://na123.salesforce.com/", want: "https://na123.salesforce.com"},
		{name: "force.com", raw: "https://acme.force.com", want: "https://acme.force.com"},
		{name: "cloudforce", raw: "https://acme.cloudforce.com", want: "https://acme.cloudforce.com"},
		{name: "sites", raw: "https://acme.salesforce-sites.com", want: "https://acme.salesforce-sites.com"},
		{name: "sandbox my domain", raw: "https://acme--uat.sandbox.my.salesforce.com", want: "https://acme--uat.sandbox.my.salesforce.com"},
		{name: "http refused", raw: "http://acme.my.salesforce.com"},
		{name: "foreign host", raw: "https://evil.example.com"},
		{name: "suffix trick", raw: "https://acme.my.salesforce.com.evil.example.com"},
		{name: "lookalike", raw: "https://evilsalesforce.com"},
		{name: "lightning UI", raw: "https://acme.lightning.force.com"},
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
