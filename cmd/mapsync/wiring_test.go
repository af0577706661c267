package main

import (
	"testing"

	"github.com/mapsync/mapsync/config"
	"github.com/mapsync/mapsync/connectors"
)

// TestInstancePolicy: a Salesforce connection's token goes only where the admin's configuration
// points: the pinned hosts, the My Domain it logs in at, the sandbox's own host and port.
func TestInstancePolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cn       config.Connection
		instance string
		ok       bool
	}{
		{"login host serves every org", config.Connection{LoginURL: "https://login.salesforce.com"}, "https://acme.my.salesforce.com", true},
		{"login host still needs a Salesforce domain", config.Connection{LoginURL: "https://login.salesforce.com"}, "https://acme.example.com", false},
		{"my domain pins itself", config.Connection{LoginURL: "https://acme.my.salesforce.com"}, "https://acme.my.salesforce.com", true},
		{"my domain refuses another org", config.Connection{LoginURL: "https://acme.my.salesforce.com"}, "https://attacker.my.salesforce.com", false},
		{"sandbox org my domain", config.Connection{LoginURL: "https://acme--dev.sandbox.my.salesforce.com"}, "https://acme--dev.sandbox.my.salesforce.com", true},
		{"configured hosts win", config.Connection{LoginURL: "https://login.salesforce.com", InstanceHosts: []string{"acme.my.salesforce.com"}}, "https://attacker.my.salesforce.com", false},
		{"configured host accepted", config.Connection{LoginURL: "https://login.salesforce.com", InstanceHosts: []string{"acme.my.salesforce.com"}}, "https://acme.my.salesforce.com", true},
		{"sandbox endpoint's own port", config.Connection{Sandbox: true, LoginURL: "http://127.0.0.1:8701"}, "http://127.0.0.1:8701", true},
		{"sandbox endpoint, another port", config.Connection{Sandbox: true, LoginURL: "http://127.0.0.1:8701"}, "http://127.0.0.1:6666", false},
		{"sandbox endpoint, another host", config.Connection{Sandbox: true, LoginURL: "http://127.0.0.1:8701"}, "http://localhost:8701", false},
	}
	for _, tc := range tests {
		_, err := connectors.CheckInstanceURL(tc.instance, instancePolicy(&tc.cn))
		if (err == nil) != tc.ok {
			t.Errorf("%s: instance %s: got %v, want ok=%v", tc.name, tc.instance, err, tc.ok)
		}
	}
}
