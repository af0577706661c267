package connectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/rs/zerolog"
	"golang.org/x/oauth2"
)

// RetryPolicy bounds the retries of one logical request. Zero fields take the defaults.
type RetryPolicy struct {
	// MaxAttempts is the most attempts of one request, the first included. Default 5.
	MaxAttempts int
	// MinWait is the base of the exponential backoff. Default 500ms.
	MinWait time.Duration
	// MaxWait caps one backoff pause (full jitter: a pause is uniform in [0, min(MaxWait,
	// MinWait*2^n)]). Default 30s.
	MaxWait time.Duration
	// MaxElapsed caps the time spent on one request, pauses included: a retry that would end later
	// is not made. Default 2 minutes.
	MaxElapsed time.Duration
	// MaxRetryAfter is the longest Retry-After honoured in place; a longer one is returned to the
	// caller as a KindRateLimited error carrying RetryAfter. Default 1 minute.
	MaxRetryAfter time.Duration
	// AttemptTimeout bounds one attempt, the whole response body included. Default 60s.
	AttemptTimeout time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 5
	}
	if p.MinWait <= 0 {
		p.MinWait = 500 * time.Millisecond
	}
	if p.MaxWait <= 0 {
		p.MaxWait = 30 * time.Second
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = 2 * time.Minute
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = time.Minute
	}
	if p.AttemptTimeout <= 0 {
		p.AttemptTimeout = 60 * time.Second
	}
	return p
}

// Auth supplies access tokens to a Client. *TokenSource implements it for OAuth connections and
// StaticToken for tokens that never expire (HubSpot private apps).
type Auth interface {
	// Token returns the current access token, loading or refreshing it as needed.
	Token(ctx context.Context) (*oauth2.Token, error)
	// Refresh replaces stale, which the CRM just rejected with 401, and returns the new token. When
	// another caller already replaced stale, it returns that token without a second refresh.
	Refresh(ctx context.Context, stale *oauth2.Token) (*oauth2.Token, error)
}

// ClientOptions configures a Client.
type ClientOptions struct {
	// Connection is the connection's name: a metric label, a log field and the governor key.
	Connection string
	// CRM selects the error and limit-header dialect.
	CRM CRM
	// Auth supplies the bearer token; nil sends no Authorization header.
	Auth Auth
	// BaseURL returns the URL requests are resolved against for a given token (nil when Auth is
	// nil). It is where a connector vets the host before the token is attached: an error here stops
	// the request before anything is sent. Required.
	BaseURL func(tok *oauth2.Token) (*url.URL, error)
	// Transport is the underlying transport; default a pooled cleanhttp transport.
	Transport http.RoundTripper
	// Retry bounds retries.
	Retry RetryPolicy
	// Governor paces requests; nil means no pacing.
	Governor *Governor
	// Metrics receives request, retry and usage metrics; nil means unregistered metrics.
	Metrics *Metrics
	// Logger receives one warning per retry; its fields never include headers or tokens.
	Logger zerolog.Logger
	// UserAgent is sent with every request. Default "mapsync".
	UserAgent string
	// MaxBody caps a response body, in bytes. Default 64 MiB.
	MaxBody int64
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

// Client sends requests to one CRM connection: it paces them with the governor, attaches the
// token, retries what is safe to retry, refreshes the token once on 401, counts everything in the
// metrics, and turns failures into *Error. It is safe for concurrent use.
type Client struct {
	opts ClientOptions
	http *http.Client
}

// NewClient validates opts and returns a Client.
func NewClient(opts ClientOptions) (*Client, error) {
	if opts.Connection == "" {
		return nil, errors.New("connection name is required")
	}
	if opts.BaseURL == nil {
		return nil, errors.New("base URL function is required")
	}
	opts.Retry = opts.Retry.withDefaults()
	if opts.Transport == nil {
		opts.Transport = cleanhttp.DefaultPooledTransport()
	}
	if opts.Metrics == nil {
		m, err := NewMetrics(nil)
		if err != nil {
			return nil, err
		}
		opts.Metrics = m
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "mapsync"
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 64 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Client{opts: opts}
	c.http = &http.Client{
		Transport: &meteredTransport{c: c},
		Timeout:   opts.Retry.AttemptTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			// Never follow a redirect: it could carry the token to another host.
			return http.ErrUseLastResponse
		},
	}
	return c, nil
}

// Request is one logical CRM request.
type Request struct {
	// Op names the operation for metrics and logs ("query", "describe", "update"...); low cardinality.
	Op string
	// Method is the HTTP method.
	Method string
	// Path is resolved against the base URL; it may carry a query string.
	Path string
	// Header holds extra request headers.
	Header http.Header
	// Body is sent as is (replayed on retries); nil for none.
	Body []byte
	// RetrySafe marks a POST or PATCH as safe to repeat (e.g. an update that sets absolute values).
	// GET, HEAD, OPTIONS, PUT and DELETE are always considered safe.
	RetrySafe bool
	// Decode, when set, reads a 2xx reply inside the retry loop (DecodeJSON does it for JSON
	// replies). A KindTransient error from it (a truncated body, not JSON, JSON of the wrong shape)
	// makes the attempt a failed one: it is retried like a 5xx when the request is safe to repeat
	// (reason "malformed" in the retries metric), and Do returns the last such error once the
	// retries are spent. Any other error ends the request at once. Decode may be called once per
	// attempt, so it must reset whatever it fills.
	Decode func(*Response) error
}

// Response is a successful (2xx) response with its whole body.
type Response struct {
	// Status is the HTTP status.
	Status int
	// Header is the response header.
	Header http.Header
	// Body is the whole body.
	Body []byte
}

// Do sends req and returns the 2xx response, an *Error, or ctx's error (wrapped) when ctx ended
// first. A 401 refreshes the token once and replays the request once.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	resp, err := c.do(ctx, req)
	if err != nil && ctx.Err() == nil {
		c.CountError(req.Op, err)
	}
	return resp, err
}

// CountError counts a failed operation in mapsync_connector_errors_total by its Kind. Do counts
// its own failures; connectors call it for failures they find in a 2xx reply (malformed JSON, a
// record that does not decode).
func (c *Client) CountError(op string, err error) {
	kind := "other"
	if k := KindOf(err); k != 0 {
		kind = k.String()
	}
	c.opts.Metrics.errors.WithLabelValues(c.opts.Connection, string(c.opts.CRM), op, kind).Inc()
}

func (c *Client) do(ctx context.Context, req Request) (*Response, error) {
	var tok *oauth2.Token
	if c.opts.Auth != nil {
		t, err := c.opts.Auth.Token(ctx)
		if err != nil {
			return nil, err
		}
		tok = t
	}
	resp, r, err := c.send(ctx, req, tok)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized && c.opts.Auth != nil {
		_ = resp.Body.Close()
		t, err := c.opts.Auth.Refresh(ctx, tok)
		if err != nil {
			return nil, err
		}
		if resp, r, err = c.send(ctx, req, t); err != nil {
			return nil, err
		}
	}
	body := readBuffered(resp)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := ClassifyResponse(c.opts.CRM, resp.StatusCode, resp.Header, body, c.opts.Now())
		return nil, e
	}
	if r.decodeErr != nil {
		return nil, fmt.Errorf("reply unreadable after %d attempt(s): %w", r.attempt, r.decodeErr)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// send runs one request with retries. It returns the final response (any status) and the retry
// state, which holds the outcome of decoding a 2xx reply, or an error when no response arrived.
func (c *Client) send(ctx context.Context, req Request, tok *oauth2.Token) (*http.Response, *retrier, error) {
	base, err := c.opts.BaseURL(tok)
	if err != nil {
		return nil, nil, err
	}
	ref, err := url.Parse(req.Path)
	if err != nil {
		return nil, nil, &Error{Kind: KindPermanent, Message: "bad request path", Err: err}
	}
	u := base.ResolveReference(ref)
	if u.Host != base.Host || u.Scheme != base.Scheme {
		return nil, nil, &Error{Kind: KindPermanent, Message: fmt.Sprintf("request path leaves the connection's host %s", base.Host)}
	}
	var body any
	if req.Body != nil {
		body = req.Body
	}
	ctx = context.WithValue(ctx, opKey{}, req.Op)
	rreq, err := retryablehttp.NewRequestWithContext(ctx, req.Method, u.String(), body)
	if err != nil {
		return nil, nil, &Error{Kind: KindPermanent, Message: "build request", Err: err}
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			rreq.Header.Add(k, v)
		}
	}
	rreq.Header.Set("User-Agent", c.opts.UserAgent)
	rreq.Header.Set("Accept", "application/json")
	if req.Body != nil && rreq.Header.Get("Content-Type") == "" {
		rreq.Header.Set("Content-Type", "application/json")
	}
	if tok != nil {
		tok.SetAuthHeader(rreq.Request)
	}

	r := &retrier{c: c, req: req, start: c.opts.Now(), host: u.Host, path: u.Path}
	rc := &retryablehttp.Client{
		HTTPClient:   c.http,
		RetryMax:     c.opts.Retry.MaxAttempts - 1,
		RetryWaitMin: c.opts.Retry.MinWait,
		RetryWaitMax: c.opts.Retry.MaxWait,
		CheckRetry:   r.checkRetry,
		Backoff:      r.backoff,
		ErrorHandler: func(resp *http.Response, err error, _ int) (*http.Response, error) {
			if resp != nil && err == nil {
				return resp, nil // retries exhausted: the caller classifies the last response
			}
			if resp != nil {
				_ = resp.Body.Close()
			}
			return nil, err
		},
		RequestLogHook: func(_ retryablehttp.Logger, _ *http.Request, attempt int) { r.attempt = attempt + 1 },
	}
	resp, err := rc.Do(rreq)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", req.Method, u.Path, ctx.Err())
		}
		var e *Error
		if errors.As(err, &e) {
			return nil, nil, e
		}
		return nil, nil, &Error{Kind: KindTransient, Message: fmt.Sprintf("%s %s%s after %d attempt(s)", req.Method, u.Host, u.Path, r.attempt), Err: stripURL(err)}
	}
	return resp, r, nil
}

// stripURL drops the *url.Error wrapper, whose text repeats the URL with its query string.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// retrier holds the retry state of one logical request; retryablehttp runs its attempts in sequence.
type retrier struct {
	c       *Client
	req     Request
	start   time.Time
	host    string
	path    string
	attempt int           // attempts started so far
	wait    time.Duration // pause chosen by the last checkRetry
	// decodeErr is Request.Decode's error on the last 2xx reply, nil when it decoded.
	decodeErr error
}

func (r *retrier) idempotent() bool {
	switch r.req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return r.req.RetrySafe
}

func (r *retrier) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	p := r.c.opts.Retry
	var reason string
	var status int
	switch {
	case err != nil:
		var e *Error
		if errors.As(err, &e) {
			return false, e // our own refusal (governor): never retried here
		}
		reason = "network"
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			reason = "timeout"
		}
		r.wait = r.jitter()
	case resp.StatusCode >= 200 && resp.StatusCode < 300 && r.req.Decode != nil:
		body := readBuffered(resp)
		resp.Body = &bufferedBody{Reader: bytes.NewReader(body), b: body}
		r.decodeErr = r.req.Decode(&Response{Status: resp.StatusCode, Header: resp.Header, Body: body})
		if r.decodeErr == nil || KindOf(r.decodeErr) != KindTransient {
			return false, nil
		}
		reason = "malformed"
		status = resp.StatusCode
		err = r.decodeErr
		r.wait = r.jitter()
	case resp.StatusCode < 400:
		return false, nil
	default:
		status = resp.StatusCode
		body := readBuffered(resp)
		resp.Body = &bufferedBody{Reader: bytes.NewReader(body), b: body}
		e := ClassifyResponse(r.c.opts.CRM, resp.StatusCode, resp.Header, body, r.c.opts.Now())
		switch {
		case e.Kind == KindTransient:
			reason = "5xx"
			r.wait = r.jitter()
			if e.RetryAfter > 0 {
				r.wait = e.RetryAfter
			}
		case e.Kind == KindRateLimited && resp.StatusCode == http.StatusTooManyRequests && e.Code != "DAILY" && e.RetryAfter <= p.MaxRetryAfter:
			reason = "429"
			r.wait = e.RetryAfter + rand.N(e.RetryAfter/10+1)
		default:
			return false, nil
		}
	}
	if !r.idempotent() || r.attempt >= p.MaxAttempts {
		return false, nil
	}
	if r.c.opts.Now().Sub(r.start)+r.wait > p.MaxElapsed {
		return false, nil
	}
	m := r.c.opts.Metrics
	m.retries.WithLabelValues(r.c.opts.Connection, string(r.c.opts.CRM), r.req.Op, reason).Inc()
	ev := r.c.opts.Logger.Warn().
		Str("connection", r.c.opts.Connection).
		Str("crm", string(r.c.opts.CRM)).
		Str("op", r.req.Op).
		Str("method", r.req.Method).
		Str("host", r.host).
		Str("path", r.path).
		Int("attempt", r.attempt).
		Str("reason", reason).
		Dur("wait", r.wait)
	if status != 0 {
		ev = ev.Int("status", status)
	}
	if err != nil {
		ev = ev.AnErr("error", stripURL(err))
	}
	ev.Msg("retrying crm request")
	return true, nil
}

// jitter returns a full-jitter pause for the next retry.
func (r *retrier) jitter() time.Duration {
	p := r.c.opts.Retry
	ceiling := p.MinWait << min(r.attempt, 30)
	if ceiling <= 0 || ceiling > p.MaxWait {
		ceiling = p.MaxWait
	}
	return rand.N(ceiling + 1)
}

func (r *retrier) backoff(_, _ time.Duration, _ int, _ *http.Response) time.Duration {
	return r.wait
}

// meteredTransport paces, measures and buffers every attempt, and feeds the limit headers back.
type meteredTransport struct {
	c *Client
}

// RoundTrip implements http.RoundTripper.
func (t *meteredTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	o := t.c.opts
	op := opFromContext(req)
	if o.Governor != nil {
		if err := o.Governor.Wait(req.Context()); err != nil {
			var e *Error
			if errors.As(err, &e) {
				o.Metrics.governorDenied.WithLabelValues(o.Connection, string(o.CRM)).Inc()
			}
			return nil, err
		}
	}
	start := time.Now()
	resp, err := o.Transport.RoundTrip(req)
	if err == nil {
		// Read the whole body inside the attempt, so that a stalled or cut body is a failed
		// attempt (retried) rather than a failure after the retry loop.
		var buf bytes.Buffer
		if resp.ContentLength > 0 && resp.ContentLength <= o.MaxBody {
			buf.Grow(int(resp.ContentLength) + bytes.MinRead)
		}
		_, err = buf.ReadFrom(io.LimitReader(resp.Body, o.MaxBody+1))
		_ = resp.Body.Close()
		if err == nil && int64(buf.Len()) > o.MaxBody {
			err = fmt.Errorf("response body over %d bytes", o.MaxBody)
		}
		if err != nil {
			resp = nil
		} else {
			resp.Body = &bufferedBody{Reader: bytes.NewReader(buf.Bytes()), b: buf.Bytes()}
			resp.ContentLength = int64(buf.Len())
		}
	}
	o.Metrics.duration.WithLabelValues(o.Connection, string(o.CRM), op).Observe(time.Since(start).Seconds())
	status := "error"
	if resp != nil {
		status = strconv.Itoa(resp.StatusCode)
		u := ParseUsage(o.CRM, resp.Header)
		if u.DailyMax > 0 {
			o.Metrics.apiUsage.WithLabelValues(o.Connection, string(o.CRM)).Set(float64(u.DailyUsed) / float64(u.DailyMax))
			if o.Governor != nil {
				o.Governor.ObserveDaily(u.DailyUsed, u.DailyMax)
			}
		}
		if u.Window > 0 && o.Governor != nil {
			o.Governor.ObserveWindow(u.WindowMax, u.WindowRemaining, u.Window)
		}
	}
	o.Metrics.requests.WithLabelValues(o.Connection, string(o.CRM), op, status).Inc()
	return resp, err
}

// bufferedBody is a response body already read whole by meteredTransport.
type bufferedBody struct {
	*bytes.Reader
	b []byte
}

// Close implements io.Closer.
func (*bufferedBody) Close() error { return nil }

// readBuffered returns the whole body without copying when meteredTransport buffered it.
func readBuffered(resp *http.Response) []byte {
	rc := resp.Body
	defer rc.Close()
	if bb, ok := rc.(*bufferedBody); ok && bb.Reader.Size() == int64(bb.Reader.Len()) {
		return bb.b
	}
	// A reply that says its length is read into one buffer of that size: io.ReadAll grows from
	// 512 bytes, which for a page of 2,000 records allocates and copies the body several times
	// over (garbage that the collector then pays for). The length is only a hint: a body that is
	// longer or shorter is still read whole (the transport enforces Content-Length anyway), and
	// the hint is not trusted past the cap the body is read under.
	if n := resp.ContentLength; n > 0 && n < maxBodyHint {
		buf := bytes.NewBuffer(make([]byte, 0, n+1)) // +1: ReadFrom needs room to see EOF without growing
		_, _ = buf.ReadFrom(rc)
		return buf.Bytes()
	}
	b, _ := io.ReadAll(rc)
	return b
}

// maxBodyHint is the largest Content-Length readBuffered sizes a buffer by.
const maxBodyHint = 64 << 20

type opKey struct{}

// opFromContext returns the operation label stored in the request's context by Client.send.
func opFromContext(req *http.Request) string {
	if op, ok := req.Context().Value(opKey{}).(string); ok {
		return op
	}
	return "other"
}
