package connectors

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
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

// The hosts that serve a Salesforce org's REST API, per Salesforce Help ("My Domain URL Formats",
// "Partitioned Domains"): the org's My Domain login host, MyDomainName.my.salesforce.com, which
// in non-production orgs carries a partition word (MyDomainName--SandboxName.sandbox.my...,
// MyDomainName.scratch.my..., MyDomainName-dev-ed.develop.my..., and demo, patch, free and
// trailblaze), and the older instance hosts such as na123.salesforce.com, cs42.salesforce.com or
// usa77s.salesforce.com. The org's other hosts serve pages, not the API: Lightning
// (*.lightning.force.com), Visualforce (*.vf.force.com), files (*.file.force.com), Experience Cloud
// and Salesforce Sites (*.my.site.com, *.force.com, *.salesforce-sites.com), Setup
// (*.my.salesforce-setup.com). Public sites on those domains are anyone's, so a token must never go
// there. Orgs on other clouds (e.g. Government Cloud Plus Defense) configure instance_hosts.
const myDomainSuffix = ".my.salesforce.com"

// partitions are the words of partitioned My Domain hosts (MyDomainName.<word>.my.salesforce.com).
var partitions = []string{"sandbox", "scratch", "develop", "demo", "patch", "free", "trailblaze"}

var (
	// dnsLabel is one host name label: letters, digits and inner hyphens (My Domain names and
	// sandbox names joined by "--" included).
	dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	// instanceHost is an instance host such as na123.salesforce.com, cs42.salesforce.com or
	// usa77s.salesforce.com (Hyperforce).
	instanceHost = regexp.MustCompile(`^[a-z]{2,5}[0-9]{1,4}s?\.salesforce\.com$`)
)

// isAPIHost reports whether host (lower case, no port) serves the REST API of some Salesforce org.
func isAPIHost(host string) bool {
	if instanceHost.MatchString(host) {
		return true
	}
	rest, ok := strings.CutSuffix(host, myDomainSuffix)
	if !ok {
		return false
	}
	labels := strings.Split(rest, ".")
	switch {
	case len(labels) == 2 && !slices.Contains(partitions, labels[1]):
		return false
	case len(labels) > 2:
		return false
	}
	return dnsLabel.MatchString(labels[0])
}

// CheckInstanceURL vets a Salesforce instance_url before any token is sent to it: https, no user
// info, query or fragment, no port but 443, and one of p.Hosts when set, else a host that serves
// a Salesforce org's REST API (see isAPIHost: *.my.salesforce.com with its partitioned forms such
// as *.sandbox.my.salesforce.com, and instance hosts such as na123.salesforce.com), never a page,
// site or content host. With p.Sandbox, loopback hosts over http or https are accepted as well.
// It returns the URL with an empty path.
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
	case u.Port() != "" && u.Port() != "443":
		return nil, refuse("unexpected port")
	case len(p.Hosts) > 0:
		// The configured hosts decide alone (checked below), so an org on another domain works.
	case !isAPIHost(host):
		return nil, refuse("not a host of the Salesforce REST API (want *.my.salesforce.com, *.sandbox.my.salesforce.com and the like, or an instance host such as na123.salesforce.com; set instance_hosts for another)")
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
