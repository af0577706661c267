package hubspot

import (
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/sandbox/wire"
)

// Options configure a Sandbox.
type Options struct {
	// Deals is how many deals fakedata generates (with about two contacts each).
	Deals int
	// Seed makes the generated data deterministic.
	Seed uint64
	// Now is the sandbox clock (record stamps, token expiry, rate-limit windows); nil means
	// time.Now. When set it also anchors the generated data (dates in the months before Now());
	// when nil the data is anchored at fakedata's default day, the same on every day.
	Now func() time.Time
	// TokenTTL is the OAuth access-token lifetime; 0 means DefaultTokenTTL (30 minutes).
	TokenTTL time.Duration
	// BurstLimit is the number of non-search API calls per rolling 10 s; 0 means
	// DefaultBurstLimit (190, a Professional private app); a negative value disables the limit.
	BurstLimit int
	// DailyLimit is the number of API calls per UTC day; 0 means DefaultDailyLimit (625,000);
	// negative disables it.
	DailyLimit int
	// SearchPerSecond is the search requests allowed per second; 0 means DefaultSearchPerSecond
	// (5); negative disables it.
	SearchPerSecond int
	// CustomProperties are extra properties per object type (Property.ObjectType), e.g.
	// DefaultCustomProperties().
	CustomProperties []Property
	// Logger receives one debug line per request; the zero value logs nothing.
	Logger zerolog.Logger
}

// Sandbox is an in-process HubSpot CRM API; it is an http.Handler. Create it with New and stop
// its webhook delivery with Close.
type Sandbox struct {
	now func() time.Time
	log zerolog.Logger
	mux *http.ServeMux

	// mu guards the CRM data below.
	mu          sync.RWMutex
	types       map[string]*objectType // by canonical name
	typeByAlias map[string]*objectType
	owners      []*owner
	pipelines   []pipelineInfo
	stages      map[string]stageInfo
	assocDefs   map[pairKey][]assocType
	assocs      map[pairKey]map[int64][]assocEdge

	// late lists the records with a held-back change (LateRecord), guarded by mu; lateTimed
	// counts those released by the clock, so that requests skip releaseDue while it is 0.
	late      []*record
	lateTimed atomic.Int32

	auth     *authState
	limits   *limiter
	faults   *faultState
	counters *counterState
	hooks    *webhooks
}

// New builds a sandbox filled from fakedata with opts.Deals deals.
func New(opts Options) *Sandbox {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Sandbox{
		now:      func() time.Time { return now().UTC() },
		log:      opts.Logger,
		mux:      http.NewServeMux(),
		auth:     newAuthState(opts.TokenTTL),
		limits:   newLimiter(opts),
		faults:   &faultState{failWrites: map[string]string{}},
		counters: &counterState{counts: map[counterKey]int{}},
	}
	s.hooks = newWebhooks(s)
	s.seed(opts)
	s.routes()
	if opts.Deals >= largeDataset {
		// Collect the seeding's garbage now: the collector then sets its next goal from the
		// dataset alone, and a first pull of it does not pay for marking it mid-pull.
		runtime.GC()
	}
	return s
}

// largeDataset is the number of deals from which New collects its garbage before returning.
const largeDataset = 10_000

// Close stops webhook delivery and waits for its goroutines; pending deliveries are dropped
// and requests still sleeping on injected latency return at once. Close may be called twice.
func (s *Sandbox) Close() {
	s.hooks.wait()
}

// routeKind says which gates a route passes: auth, limits and faults.
type routeKind int

const (
	kindAPI     routeKind = iota // authenticated, burst and daily limits, rate-limit headers
	kindSearch                   // authenticated, search limit, no rate-limit headers
	kindOAuth                    // no bearer auth, no limits
	kindControl                  // the sandbox's own control API: no gates, no faults
)

func (s *Sandbox) routes() {
	api := func(pattern string, h http.HandlerFunc) { s.handle(pattern, kindAPI, h) }
	api("GET /crm/v3/objects/{objectType}", s.handleList)
	api("POST /crm/v3/objects/{objectType}", s.handleCreate)
	api("GET /crm/v3/objects/{objectType}/{objectId}", s.handleGet)
	api("PATCH /crm/v3/objects/{objectType}/{objectId}", s.handleUpdate)
	api("DELETE /crm/v3/objects/{objectType}/{objectId}", s.handleArchive)
	s.handle("POST /crm/v3/objects/{objectType}/search", kindSearch, s.handleSearch)
	api("POST /crm/v3/objects/{objectType}/batch/read", s.handleBatchRead)
	api("POST /crm/v3/objects/{objectType}/batch/update", s.handleBatchUpdate)
	api("POST /crm/v3/objects/{objectType}/batch/create", s.handleBatchCreate)
	api("POST /crm/v3/objects/{objectType}/batch/archive", s.handleBatchArchive)
	api("GET /crm/v3/properties/{objectType}", s.handleProperties)
	api("GET /crm/v3/properties/{objectType}/{propertyName}", s.handleProperty)
	api("GET /crm/v3/pipelines/{objectType}", s.handlePipelines)
	api("GET /crm/v3/owners", s.handleOwners)
	api("GET /crm/v3/owners/{$}", s.handleOwners)
	api("GET /crm/v3/owners/{ownerId}", s.handleOwner)
	api("GET /crm/v4/objects/{fromObjectType}/{objectId}/associations/{toObjectType}", s.handleAssociations)
	api("PUT /crm/v4/objects/{fromObjectType}/{objectId}/associations/default/{toObjectType}/{toObjectId}", s.handleAssociateDefault)
	api("PUT /crm/v4/objects/{fromObjectType}/{objectId}/associations/{toObjectType}/{toObjectId}", s.handleAssociateLabelled)
	api("POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read", s.handleAssociationsBatchRead)
	api("GET /crm/v4/associations/{fromObjectType}/{toObjectType}/labels", s.handleLabels)
	api("GET /crm/associations/v4/{fromObjectType}/{toObjectType}/labels", s.handleLabels)
	s.handle("POST /oauth/v1/token", kindOAuth, s.handleToken)
	s.handle("GET /oauth/v1/access-tokens/{token}", kindOAuth, s.handleAccessTokenInfo)
	s.controlRoutes()
}

// typeWildcards are the path wildcards that name object types; counters use the canonical name.
var typeWildcards = []string{"objectType", "fromObjectType", "toObjectType"}

// handle registers h behind the gates of kind and the request counter.
func (s *Sandbox) handle(pattern string, kind routeKind, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s.releaseDue()
		sw := wire.NewStatusWriter(w)
		start := time.Now()
		endpoint := s.endpointName(pattern, r)
		if kind != kindControl {
			sw.OnStatus(func(status int) { s.counters.add(endpoint, status) }) // counted before the reply leaves
		}
		defer func() {
			sw.Finish()
			s.log.Debug().Str("endpoint", endpoint).Int("status", sw.Status()).Dur("took", time.Since(start)).Msg("request")
		}()
		if kind != kindControl && !s.applyFaults(sw, r, kind) {
			return
		}
		if kind == kindAPI || kind == kindSearch {
			oauth, ok := s.authenticate(sw, r)
			if !ok {
				return
			}
			if !s.limits.admit(sw, s.now(), kind == kindSearch, oauth) {
				return
			}
		}
		if bad := s.faults.takeBadBody(kind, r.URL.Path); bad != "" {
			wire.ServeBadBody(bad, sw, r, h)
			return
		}
		h(sw, r)
	})
}

// ServeHTTP routes a request; unknown paths and methods get HubSpot-style JSON errors.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern == "" {
		code := http.StatusNotFound
		probe := wire.NewStatusWriter(discardWriter{h: http.Header{}})
		h, _ := s.mux.Handler(r)
		h.ServeHTTP(probe, r)
		if probe.Status() == http.StatusMethodNotAllowed {
			code = http.StatusMethodNotAllowed
		}
		s.counters.add(r.Method+" (unrouted)", code)
		writeError(w, code, "NOT_FOUND", "No route for "+r.Method+" "+r.URL.Path)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// endpointName is the route pattern with object-type wildcards replaced by canonical names,
// e.g. "GET /crm/v3/objects/deals/{objectId}".
func (s *Sandbox) endpointName(pattern string, r *http.Request) string {
	pattern = strings.TrimSuffix(pattern, "{$}")
	if !strings.Contains(pattern, "bjectType}") {
		return pattern
	}
	for _, wc := range typeWildcards {
		v := r.PathValue(wc)
		if v == "" {
			continue
		}
		if ot, ok := s.typeByAlias[strings.ToLower(v)]; ok {
			v = ot.name
		}
		pattern = strings.Replace(pattern, "{"+wc+"}", v, 1)
	}
	return pattern
}

// objectTypeOf resolves the object type in path wildcard name, writing a 404 when unknown.
func (s *Sandbox) objectTypeOf(w http.ResponseWriter, r *http.Request, name string) *objectType {
	v := r.PathValue(name)
	if ot, ok := s.typeByAlias[strings.ToLower(v)]; ok {
		return ot
	}
	writeError(w, http.StatusBadRequest, catValidation, "Unable to infer object type from: "+v)
	return nil
}

type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}
