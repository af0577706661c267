package connectors

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// InstancePolicy says which hosts may receive a connection's access token.
type InstancePolicy struct {
	// Hosts, when not empty, lists the only hosts the admin configured (e.g. "acme.my.salesforce.com");
	// any other host is refused even on a Salesforce domain.
	Hosts []string
	// Sandbox marks a test connection: http and https on loopback hosts (localhost, 127.0.0.0/8, ::1)
	// are accepted too. Never set it for production connections.
	Sandbox bool
}

// salesforceDomains are the domains Salesforce serves its API from.
func salesforceDomains() []string {
	return []string{".salesforce.com", ".force.com", ".cloudforce.com", ".salesforce-sites.com"}
}

// CheckInstanceURL vets a Salesforce instance_url before any token is sent to it: https, no user
// info, query or fragment, a host under a Salesforce domain (*.salesforce.com, *.my.salesforce.com,
// *.force.com, *.cloudforce.com, *.salesforce-sites.com) and not a Lightning UI host,
// and one of p.Hosts when set. With p.Sandbox, loopback hosts over http or https are accepted as
// well. It returns the URL with an empty path.
func CheckInstanceURL(raw string, p InstancePolicy) (*url.URL, error) {
	refuse := func(why string) error {
		return &Error{Kind: KindAuth, Code: "FOREIGN_INSTANCE_URL", Message: fmt.Sprintf("instance_url %q refused: %s", redactInstance(raw), why)}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, refuse("not an absolute URL")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return nil, refuse("must be a bare scheme and host")
	}
	host := strings.ToLower(u.Hostname())
	loopback := host == "localhost"
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		loopback = true
	}
	switch {
	case p.Sandbox && loopback && (u.Scheme == "http" || u.Scheme == "https"):
	case u.Scheme != "https":
		return nil, refuse("https is required")
	case strings.Contains(host, ".lightning.force.com"):
		return nil, refuse("a Lightning UI host is not an API host")
	case !slices.ContainsFunc(salesforceDomains(), func(d string) bool { return strings.HasSuffix(host, d) }):
		return nil, refuse("host is not a Salesforce domain")
	case u.Port() != "" && u.Port() != "443":
		return nil, refuse("unexpected port")
	}
	if len(p.Hosts) > 0 && !slices.ContainsFunc(p.Hosts, func(h string) bool { return strings.EqualFold(h, u.Host) || strings.EqualFold(h, host) }) {
		return nil, refuse("host is not the one configured for this connection")
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// redactInstance keeps a refused URL readable without its user info or query.
func redactInstance(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable>"
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}
