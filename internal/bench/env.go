package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/connectors"
	hssandbox "github.com/mapsync/mapsync/sandbox/hubspot"
	sfsandbox "github.com/mapsync/mapsync/sandbox/salesforce"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/instantiate"
	"github.com/mapsync/mapsync/sync/pull"
	"github.com/mapsync/mapsync/sync/push"
)

// The connection names of a stack's configuration (as `mapsync sandbox --write-config` writes).
const (
	SalesforceConnection = "sandbox-salesforce"
	HubSpotConnection    = "sandbox-hubspot"
)

// Env is what every scenario gets: the run's settings and the way to start the parts it measures.
type Env struct {
	// Backend is the database every stack uses: store.Postgres (default) or store.SQLite.
	Backend store.Dialect
	// Scale multiplies every scenario's size (--scale; 1 is the size).
	Scale float64
	// CRMLatency is added by the sandboxes to every API request (--crm-latency).
	CRMLatency time.Duration
	// Log is the process logger (quiet by default: warnings and errors).
	Log zerolog.Logger
	// Progress receives progress lines (stderr).
	Progress io.Writer
	// NewStack starts a stack; set by the command (cmd/mapsync/bench_cmd.go).
	NewStack func(ctx context.Context, scenario string, o StackOptions) (Stack, error)

	scenario string
	mu       sync.Mutex
}

// Scaled returns n times the run's scale, at least min(n, 1).
func (e *Env) Scaled(n int) int {
	s := e.Scale
	if s <= 0 {
		s = 1
	}
	v := int(math.Round(float64(n) * s))
	if v < 1 && n > 0 {
		v = 1
	}
	return v
}

// ScaledDuration returns d times the run's scale, at least floor.
func (e *Env) ScaledDuration(d, floor time.Duration) time.Duration {
	s := e.Scale
	if s <= 0 {
		s = 1
	}
	return max(floor, time.Duration(float64(d)*s))
}

// Progressf prints one progress line on stderr, prefixed with the scenario's name.
func (e *Env) Progressf(format string, args ...any) {
	if e.Progress == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	fmt.Fprintf(e.Progress, "bench %s: %s\n", e.scenario, fmt.Sprintf(format, args...))
}

// Stack starts the sandboxes o asks for, with --crm-latency, and mapsync's runtime on a fresh
// database; close it when done (that drops the database).
func (e *Env) Stack(ctx context.Context, o StackOptions) (Stack, error) {
	if e.NewStack == nil {
		return nil, fmt.Errorf("bench: no stack builder (run through mapsync bench)")
	}
	if o.Deals <= 0 {
		o.Deals = 100
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	st, err := e.NewStack(ctx, e.scenario, o)
	if err != nil {
		return nil, err
	}
	if e.CRMLatency > 0 {
		if sb := st.Salesforce(); sb != nil {
			sb.SetLatency(e.CRMLatency)
		}
		if sb := st.HubSpot(); sb != nil {
			sb.SetLatency(e.CRMLatency)
		}
	}
	return st, nil
}

// StackOptions says which sandboxes a stack starts and how.
type StackOptions struct {
	// Salesforce and HubSpot start those sandboxes (neither: both).
	Salesforce, HubSpot bool
	// Deals per sandbox (default 100) and the dataset seed (default 1).
	Deals int
	Seed  uint64
	// Limits keeps the sandboxes' simulated API limits; by default they are off, so a scenario
	// measures mapsync, not the simulated quota.
	Limits bool
	// HubSpotBurstLimit sets HubSpot's calls per rolling 10 s (with Limits; 0: the default).
	HubSpotBurstLimit int
}

// Stack is one scenario's running system: the sandboxes on loopback, a fresh database, and
// mapsync's runtime configured for both as `mapsync sandbox --write-config` writes it (the
// connections SalesforceConnection and HubSpotConnection). Its methods build the parts the way
// `mapsync serve` and `mapsync sync run` build them.
type Stack interface {
	// Store is the stack's database (migrated).
	Store() *store.Store
	// Salesforce and HubSpot are the sandboxes (nil when not started), SalesforceURL and HubSpotURL
	// their base URLs.
	Salesforce() *sfsandbox.Sandbox
	HubSpot() *hssandbox.Sandbox
	SalesforceURL() string
	HubSpotURL() string
	// Puller is the pull pipeline of a connection, as `sync run` builds it (governor, metrics).
	Puller(ctx context.Context, connection string, progress func(pull.Progress)) (*pull.Puller, error)
	// PullAndInstantiate is `sync run`: the pull under the run lock, then the plan catch-up.
	PullAndInstantiate(ctx context.Context, connection string, req pull.Request) error
	// Instantiator is a connection's plan catch-up, as `sync run` builds it.
	Instantiator(ctx context.Context, connection string) (*instantiate.Instantiator, error)
	// Connector is a connection's CRM connector, with its shared governor and metrics.
	Connector(ctx context.Context, connection string) (connectors.Connector, error)
	// Governor is the connection's rate governor (the one Connector's requests wait on).
	Governor(connection string) *connectors.Governor
	// Calls are the connection's CRM requests and retries so far.
	Calls(connection string) (requests, retries int64)
	// Server is the HTTP handler `mapsync serve` serves (API, webhook receivers as serve builds
	// them, /metrics), on the stack's store.
	Server(ctx context.Context) (http.Handler, error)
	// WebhookSecret is HubSpot's app client secret the receivers verify v3 signatures with.
	WebhookSecret() string
	// ImportTemplates stores plan template documents (YAML or JSON) as `templates import` does.
	ImportTemplates(ctx context.Context, docs map[string][]byte) error
	// ConfigYAML is the stack's configuration as `mapsync sandbox --write-config` writes it (its
	// database and connections), for running mapsync commands as child processes.
	ConfigYAML() string
	// Pusher is the push pipeline `sync push` and serve use (cmd/mapsync/bench_push.go).
	Pusher(ctx context.Context) (*push.Pusher, error)
	// Close stops everything and drops the database.
	Close()
}

// Options are a run's settings.
type Options struct {
	Backend    store.Dialect
	Scale      float64
	CRMLatency time.Duration
	Log        zerolog.Logger
	Progress   io.Writer
	NewStack   func(ctx context.Context, scenario string, o StackOptions) (Stack, error)
}

// Run runs the scenarios in order, each on its own stacks, and returns every outcome (a failed
// scenario does not stop the others).
func Run(ctx context.Context, list []Scenario, o Options) []Outcome {
	var out []Outcome
	for _, s := range list {
		env := &Env{Backend: o.Backend, Scale: o.Scale, CRMLatency: o.CRMLatency, Log: o.Log,
			Progress: o.Progress, NewStack: o.NewStack, scenario: s.Name}
		env.Progressf("starting")
		start := time.Now()
		res, err := s.Run(ctx, env)
		res.Took = time.Since(start)
		if err != nil {
			env.Progressf("failed after %s: %v", res.Took.Round(time.Millisecond), err)
		} else {
			env.Progressf("done in %s", res.Took.Round(time.Millisecond))
		}
		out = append(out, Outcome{Scenario: s.Name, Result: res, Err: err})
		if ctx.Err() != nil {
			break
		}
	}
	return out
}
