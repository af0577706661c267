package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"

	"github.com/mapsync/mapsync/connectors"
)

// DefaultAPIVersion is the REST API version the connector speaks.
const DefaultAPIVersion = "62.0"

// DefaultLoginURL is the production login host.
const DefaultLoginURL = "https://login.salesforce.com"

// Options configures a Connector. Connection and Auth are required.
type Options struct {
	// Connection is the connection's name: a metric label and a log field.
	Connection string
	// Auth supplies the bearer token. For OAuth build a connectors.TokenSource with
	// oauth2.Config{Endpoint: OAuthEndpoint(loginURL)} and ExtraKeys TokenExtraKeys(): Salesforce
	// tokens carry the instance_url every call goes to, and no expiry (a 401 is the signal).
	Auth connectors.Auth
	// Instance says which instance hosts may receive the token; see connectors.CheckInstanceURL.
	// Set Instance.Sandbox only for the sandbox and tests (loopback http allowed).
	Instance connectors.InstancePolicy
	// APIVersion is the REST API version, e.g. "62.0". Default DefaultAPIVersion.
	APIVersion string
	// PageSize is the query batch size sent as Sforce-Query-Options batchSize, 200..2000. Default 2000.
	PageSize int
	// QueryLimit, when positive, bounds each SOQL query with LIMIT and continues with a keyset
	// condition on (SystemModstamp, Id) instead of one long query locator. 0 (default) follows
	// nextRecordsUrl to the end and uses the keyset only to resume after a lost locator.
	QueryLimit int
	// RolesChunk is how many deal ids go into one contact-role query (IN list). Default 200.
	RolesChunk int
	// Retry bounds the retries of each request.
	Retry connectors.RetryPolicy
	// Governor paces the connection's requests and follows Sforce-Limit-Info; share one per
	// connection across the process. Nil means no pacing.
	Governor *connectors.Governor
	// Transport is the underlying HTTP transport; default a pooled transport.
	Transport http.RoundTripper
	// Metrics receives request, retry and usage metrics; nil means unregistered metrics.
	Metrics *connectors.Metrics
	// Logger receives retries and per-page debug lines; never tokens.
	Logger zerolog.Logger
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

// Connector implements connectors.Connector for Salesforce over its REST API. It is safe for
// concurrent use.
type Connector struct {
	opts   Options
	client *connectors.Client
	log    zerolog.Logger
	base   string // /services/data/vNN.N
}

var _ connectors.Connector = (*Connector)(nil)

// New validates opts and returns a Connector.
func New(opts Options) (*Connector, error) {
	if opts.Connection == "" {
		return nil, errors.New("salesforce: connection name is required")
	}
	if opts.Auth == nil {
		return nil, errors.New("salesforce: auth is required")
	}
	if opts.APIVersion == "" {
		opts.APIVersion = DefaultAPIVersion
	}
	if !validVersion(opts.APIVersion) {
		return nil, fmt.Errorf("salesforce: api version %q: want NN.N", opts.APIVersion)
	}
	if opts.PageSize == 0 {
		opts.PageSize = 2000
	}
	if opts.PageSize < 200 || opts.PageSize > 2000 {
		return nil, fmt.Errorf("salesforce: page size %d: want 200..2000", opts.PageSize)
	}
	if opts.QueryLimit < 0 {
		return nil, fmt.Errorf("salesforce: query limit %d: want 0 or more", opts.QueryLimit)
	}
	if opts.RolesChunk <= 0 {
		opts.RolesChunk = 200
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	policy := opts.Instance
	client, err := connectors.NewClient(connectors.ClientOptions{
		Connection: opts.Connection,
		CRM:        connectors.CRMSalesforce,
		Auth:       opts.Auth,
		BaseURL: func(tok *oauth2.Token) (*url.URL, error) {
			raw, _ := tok.Extra("instance_url").(string)
			if raw == "" {
				return nil, &connectors.Error{Kind: connectors.KindNeedsReauth, Code: "NO_INSTANCE_URL", Message: "token has no instance_url: connect the connection again"}
			}
			return connectors.CheckInstanceURL(raw, policy)
		},
		Transport: opts.Transport,
		Retry:     opts.Retry,
		Governor:  opts.Governor,
		Metrics:   opts.Metrics,
		Logger:    opts.Logger,
		UserAgent: "mapsync-salesforce",
		Now:       opts.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("salesforce: %w", err)
	}
	return &Connector{
		opts:   opts,
		client: client,
		log:    opts.Logger.With().Str("connection", opts.Connection).Str("crm", "salesforce").Logger(),
		base:   "/services/data/v" + opts.APIVersion,
	}, nil
}

func validVersion(v string) bool {
	a, b, ok := strings.Cut(v, ".")
	if !ok || len(a) < 2 || len(a) > 3 || len(b) != 1 {
		return false
	}
	for _, c := range a + b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// OAuthEndpoint is the token endpoint on loginURL (default DefaultLoginURL; a My Domain or
// test.salesforce.com for sandboxes), for the oauth2.Config of the connection's token source.
func OAuthEndpoint(loginURL string) oauth2.Endpoint {
	if loginURL == "" {
		loginURL = DefaultLoginURL
	}
	loginURL = strings.TrimRight(loginURL, "/")
	return oauth2.Endpoint{
		AuthURL:   loginURL + "/services/oauth2/authorize",
		TokenURL:  loginURL + "/services/oauth2/token",
		AuthStyle: oauth2.AuthStyleInParams,
	}
}

// TokenExtraKeys lists the token-response fields a Salesforce token source must keep
// (connectors.TokenSourceOptions.ExtraKeys): instance_url above all.
func TokenExtraKeys() []string { return []string{"instance_url", "id", "issued_at"} }

// call is one Salesforce request.
type call struct {
	op     string
	method string
	path   string // absolute path, may carry a query
	header http.Header
	body   any // marshalled to JSON when non-nil
	safe   bool
}

// do sends cl and decodes a JSON reply into out (when non-nil) inside the client's retry loop
// (connectors.DecodeJSON): a 2xx reply that is not JSON, does not decode or is of the wrong shape
// is retried like a 5xx when the call is safe to repeat, and comes back as a KindTransient error
// (NOT_JSON, MALFORMED_JSON, WRONG_SHAPE) once the retries are spent.
func (c *Connector) do(ctx context.Context, cl call, out any) error {
	var body []byte
	if cl.body != nil {
		b, err := json.Marshal(cl.body)
		if err != nil {
			return fmt.Errorf("%s: encode request: %w", cl.op, err)
		}
		body = b
	}
	req := connectors.Request{
		Op: cl.op, Method: cl.method, Path: cl.path, Header: cl.header, Body: body, RetrySafe: cl.safe,
	}
	if out != nil {
		req.Decode = func(resp *connectors.Response) error {
			if resp.Status == http.StatusNoContent {
				return nil
			}
			return connectors.DecodeJSON(resp, out)
		}
	}
	if _, err := c.client.Do(ctx, req); err != nil {
		return fmt.Errorf("%s: %w", cl.op, err)
	}
	return nil
}
