package hubspot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"
	"golang.org/x/time/rate"

	"github.com/mapsync/mapsync/connectors"
)

// DefaultBaseURL is HubSpot's API host.
const DefaultBaseURL = "https://api.hubapi.com"

// defaultSearchPerSecond paces the search API, whose own limit is 5 requests per second per
// account (older docs: 4 per token) over a rolling second. Its replies carry no rate headers to
// adapt to, and requests spaced exactly 200 ms apart can still arrive 6 in one second, so the
// connector stays a little under the limit.
const defaultSearchPerSecond = 4.5

// Options configures a Connector. Only Connection and Auth are required.
type Options struct {
	// Connection is the connection's name: a metric label and a log field.
	Connection string
	// BaseURL is the API host the token is sent to. Default DefaultBaseURL. It must be https, or
	// http on a loopback address (the sandbox); nothing else ever receives the token.
	BaseURL string
	// Auth supplies the bearer token: connectors.StaticToken for a private-app token, or the shared
	// OAuth token source (see OAuthEndpoint) for an OAuth installation.
	Auth connectors.Auth
	// Governor paces the connection's requests and follows the X-HubSpot-RateLimit-* headers; share
	// one per connection across the process. Nil means no pacing.
	Governor *connectors.Governor
	// SearchLimiter paces the search API, which has its own limit (5 requests per second per
	// account) and sends no rate headers. Share one per connection across the process. Nil means a
	// limiter of SearchPerSecond owned by this Connector.
	SearchLimiter *rate.Limiter
	// SearchPerSecond sets the rate of the Connector's own search limiter when SearchLimiter is
	// nil. Default 4.5 (HubSpot allows 5); a negative value disables search pacing (tests,
	// benchmarks).
	SearchPerSecond float64
	// AssociationBatch is how many deals one v4 association batch read covers, and so how many
	// walked deals a deal-contact page groups. Default and maximum associationBatchSize (1,000,
	// HubSpot's documented limit).
	AssociationBatch int
	// PrimaryLabels are the deal-to-contact association labels that mark the primary contact
	// (compared without case) rather than a role. Default "Primary" and "Primary Contact".
	PrimaryLabels []string
	// Retry bounds the retries of each request.
	Retry connectors.RetryPolicy
	// Transport is the underlying HTTP transport; default a pooled transport.
	Transport http.RoundTripper
	// Metrics receives request, retry and usage metrics; nil means unregistered metrics.
	Metrics *connectors.Metrics
	// Logger receives retries and per-page debug lines; never tokens.
	Logger zerolog.Logger
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

// Connector implements connectors.Connector for HubSpot over its CRM v3 and v4 APIs. It is safe for
// concurrent use.
type Connector struct {
	opts   Options
	client *connectors.Client
	search *rate.Limiter // nil: unpaced
	log    zerolog.Logger
}

var _ connectors.Connector = (*Connector)(nil)

// New validates opts and returns a Connector.
func New(opts Options) (*Connector, error) {
	if opts.Connection == "" {
		return nil, errors.New("hubspot: connection name is required")
	}
	if opts.Auth == nil {
		return nil, errors.New("hubspot: auth is required")
	}
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	base, err := checkBaseURL(opts.BaseURL)
	if err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AssociationBatch <= 0 || opts.AssociationBatch > associationBatchSize {
		opts.AssociationBatch = associationBatchSize
	}
	search := opts.SearchLimiter
	if search == nil && opts.SearchPerSecond >= 0 {
		perSecond := opts.SearchPerSecond
		if perSecond == 0 {
			perSecond = defaultSearchPerSecond
		}
		search = rate.NewLimiter(rate.Limit(perSecond), 1)
	}
	client, err := connectors.NewClient(connectors.ClientOptions{
		Connection: opts.Connection,
		CRM:        connectors.CRMHubSpot,
		Auth:       opts.Auth,
		BaseURL:    func(*oauth2.Token) (*url.URL, error) { return base, nil },
		Transport:  opts.Transport,
		Retry:      opts.Retry,
		Governor:   opts.Governor,
		Metrics:    opts.Metrics,
		Logger:     opts.Logger,
		UserAgent:  "mapsync-hubspot",
		Now:        opts.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("hubspot: %w", err)
	}
	return &Connector{
		opts:   opts,
		client: client,
		search: search,
		log:    opts.Logger.With().Str("connection", opts.Connection).Str("crm", "hubspot").Logger(),
	}, nil
}

// checkBaseURL accepts https URLs, and http only on a loopback address (the sandbox).
func checkBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/") + "/")
	if err != nil {
		return nil, fmt.Errorf("hubspot: base url: %w", err)
	}
	switch {
	case u.Host == "":
		return nil, fmt.Errorf("hubspot: base url %q has no host", raw)
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return nil, fmt.Errorf("hubspot: base url %q must be https (http only on a loopback address)", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("hubspot: base url %q must not carry credentials, a query or a fragment", raw)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// OAuthConfig returns the oauth2.Config of a HubSpot OAuth app for connectors.TokenSource, with the
// token endpoint on base (default DefaultBaseURL).
func OAuthConfig(base, clientID, clientSecret string) *oauth2.Config {
	return &oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, Endpoint: OAuthEndpoint(base)}
}

// OAuthEndpoint is HubSpot's OAuth v1 token endpoint relative to base (default DefaultBaseURL), for
// the shared OAuth token source's oauth2.Config. HubSpot takes client_id and client_secret in the
// form body.
func OAuthEndpoint(base string) oauth2.Endpoint {
	if base == "" {
		base = DefaultBaseURL
	}
	base = strings.TrimRight(base, "/")
	return oauth2.Endpoint{
		AuthURL:   "https://app.hubspot.com/oauth/authorize",
		TokenURL:  base + "/oauth/v1/token",
		AuthStyle: oauth2.AuthStyleInParams,
	}
}

// call is one HubSpot request.
type call struct {
	op     string
	method string
	path   string // may carry a query
	body   any    // marshalled to JSON when non-nil
	// safe marks a POST as safe to retry (search and batch reads; updates that set absolute values).
	safe bool
	// search paces the call with the search limiter instead of only the governor.
	search bool
}

// do sends c and decodes a JSON reply into out (when non-nil). It returns the HTTP status of the
// 2xx reply. Errors are *connectors.Error values wrapped with the operation. The reply is decoded
// inside the client's retry loop (connectors.DecodeJSON): a 2xx reply that is not JSON, does not
// decode or is of the wrong shape is retried like a 5xx when the call is safe to repeat, and
// comes back as a KindTransient error (NOT_JSON, MALFORMED_JSON, WRONG_SHAPE) once the retries
// are spent, counted in mapsync_connector_errors_total like the client's own failures.
func (c *Connector) do(ctx context.Context, cl call, out any) (int, error) {
	var body []byte
	if cl.body != nil {
		b, err := json.Marshal(cl.body)
		if err != nil {
			return 0, fmt.Errorf("%s: encode request: %w", cl.op, err)
		}
		body = b
	}
	if cl.search && c.search != nil {
		if err := c.search.Wait(ctx); err != nil {
			if ctx.Err() != nil {
				return 0, fmt.Errorf("%s: %w", cl.op, ctx.Err())
			}
			return 0, fmt.Errorf("%s: %w", cl.op, &connectors.Error{Kind: connectors.KindRateLimited, Message: "search limiter: no slot before the deadline", Err: err})
		}
	}
	req := connectors.Request{
		Op:        cl.op,
		Method:    cl.method,
		Path:      cl.path,
		Body:      body,
		RetrySafe: cl.safe,
	}
	if out != nil {
		req.Decode = func(resp *connectors.Response) error {
			if len(resp.Body) == 0 && resp.Status == http.StatusNoContent {
				return nil
			}
			return connectors.DecodeJSON(resp, out)
		}
	}
	resp, err := c.client.Do(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", cl.op, err)
	}
	return resp.Status, nil
}

// countError counts in mapsync_connector_errors_total a failure found in a 2xx reply (a record
// that does not decode, a per-input error of a batch read, a paging loop) and returns err: the
// shared client counts only the failures of the request itself.
func (c *Connector) countError(op string, err error) error {
	c.client.CountError(op, err)
	return err
}
