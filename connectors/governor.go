package connectors

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// GovernorOptions configures the rate governors of a process.
type GovernorOptions struct {
	// Rate is the steady request rate per connection, in requests per second, before the CRM's
	// headers say otherwise. Default 20.
	Rate float64
	// Burst is the token bucket size. Default 10.
	Burst int
	// DailyReserve is the share (0..1) of the CRM's daily API budget left to the org's other
	// integrations: when used/max reaches 1-DailyReserve, calls fail fast with a KindRateLimited
	// error. Default 0.1; a negative value disables the reserve.
	DailyReserve float64
	// Recheck is how often, once the reserve is reached, one probe call is let through to learn
	// whether the budget has recovered (Salesforce's budget is a rolling 24 hours). Default 5 minutes.
	Recheck time.Duration
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

// Governors holds one Governor per connection. Build one per process and share it between every
// connector and worker, so all workers of a connection draw from the same bucket.
type Governors struct {
	opts GovernorOptions
	mu   sync.Mutex
	byID map[string]*Governor
}

// NewGovernors returns an empty registry with opts' defaults filled in.
func NewGovernors(opts GovernorOptions) *Governors {
	if opts.Rate <= 0 {
		opts.Rate = 20
	}
	if opts.Burst <= 0 {
		opts.Burst = 10
	}
	if opts.DailyReserve == 0 {
		opts.DailyReserve = 0.1
	}
	if opts.Recheck <= 0 {
		opts.Recheck = 5 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Governors{opts: opts, byID: map[string]*Governor{}}
}

// For returns the connection's governor, creating it on first use.
func (g *Governors) For(connection string) *Governor {
	g.mu.Lock()
	defer g.mu.Unlock()
	if gov, ok := g.byID[connection]; ok {
		return gov
	}
	gov := &Governor{
		connection: connection,
		limiter:    rate.NewLimiter(rate.Limit(g.opts.Rate), g.opts.Burst),
		reserve:    g.opts.DailyReserve,
		recheck:    g.opts.Recheck,
		now:        g.opts.Now,
		baseRate:   rate.Limit(g.opts.Rate),
	}
	g.byID[connection] = gov
	return gov
}

// Governor paces the requests of one connection: a token bucket for the short-term rate, the
// rolling window the CRM reports (HubSpot's ten-secondly limit), and a daily budget fed by the
// CRM's usage headers. It is safe for concurrent use.
type Governor struct {
	connection string
	limiter    *rate.Limiter
	baseRate   rate.Limit
	reserve    float64
	recheck    time.Duration
	now        func() time.Time

	mu        sync.Mutex
	used, max int64     // daily budget as last reported, plus our calls since
	blocked   bool      // the reserve was reached
	lastProbe time.Time // when the reserve was reached or last probed

	// The rolling window the CRM last reported (0: none yet) and the times our requests were
	// let through, oldest first: kept from the first request on, so that the window is right
	// as soon as the first reply reports it.
	winMax      int
	winInterval time.Duration
	sends       []time.Time
}

// Rolling-window pacing: a request counts against the window from when it is let through until
// windowPad after the interval (the CRM counts it from when it arrives, a little later: the pad
// covers the difference between two requests' transit times), and windowHeadroom(max) slots of
// each window are left unused (two requests' transit times differing by more than the pad, the
// account's other integrations). HubSpot's 100 per 10 s gives 98 per 10.25 s, 95.6% of the limit.
const (
	windowPad     = 250 * time.Millisecond
	sendsKeptMax  = 4096             // the log's bound before a window is known
	sendsKeptTime = 60 * time.Second // and how far back it keeps sends then
)

func windowHeadroom(limit int) int { return min(limit-1, max(1, limit/50)) }

// Wait blocks until a request may be sent, or fails fast with a KindRateLimited error when the
// daily reserve is reached (letting one probe through every Recheck), or returns ctx's error.
func (g *Governor) Wait(ctx context.Context) error {
	if err := g.checkBudget(); err != nil {
		return err
	}
	if err := g.limiter.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The wait would outlast ctx's deadline.
		return &Error{Kind: KindRateLimited, Message: "rate governor: no request slot before the deadline", Err: err}
	}
	for {
		wait := g.takeWindowSlot()
		if wait <= 0 {
			return nil
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return &Error{Kind: KindRateLimited, Message: "rate governor: the CRM's rolling window has no slot before the deadline", RetryAfter: wait}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// takeWindowSlot records a request let through now and returns 0, or returns how long to wait
// for the CRM's rolling window to have room (the oldest request that fills it ages out).
func (g *Governor) takeWindowSlot() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	keep := sendsKeptTime
	if g.winInterval > 0 {
		keep = g.winInterval + windowPad
	}
	drop := 0
	for drop < len(g.sends) && now.Sub(g.sends[drop]) >= keep {
		drop++
	}
	if drop > 0 {
		g.sends = append(g.sends[:0], g.sends[drop:]...)
	}
	if g.winMax > 0 {
		limit := max(1, g.winMax-windowHeadroom(g.winMax))
		if len(g.sends) >= limit {
			return g.sends[len(g.sends)-limit].Add(keep).Sub(now)
		}
	}
	if len(g.sends) >= sendsKeptMax {
		g.sends = append(g.sends[:0], g.sends[1:]...)
	}
	g.sends = append(g.sends, now)
	return 0
}

func (g *Governor) checkBudget() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.max <= 0 || g.reserve < 0 {
		return nil
	}
	limit := int64(math.Floor(float64(g.max) * (1 - g.reserve)))
	if g.used < limit {
		g.used++ // count our own call until the CRM reports again
		g.blocked = false
		return nil
	}
	now := g.now()
	if !g.blocked {
		g.blocked, g.lastProbe = true, now
	} else if now.Sub(g.lastProbe) >= g.recheck {
		g.lastProbe = now
		return nil
	}
	return &Error{
		Kind:       KindRateLimited,
		Code:       "DAILY_RESERVE_REACHED",
		Message:    fmt.Sprintf("daily API budget reserve reached: %d of %d calls used, %.0f%% kept for other integrations", g.used, g.max, g.reserve*100),
		RetryAfter: g.recheck - now.Sub(g.lastProbe),
	}
}

// ObserveDaily records the daily usage the CRM reported (Salesforce Sforce-Limit-Info api-usage,
// HubSpot X-HubSpot-RateLimit-Daily minus -Daily-Remaining).
func (g *Governor) ObserveDaily(used, max int64) {
	if max <= 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.used, g.max = used, max
}

// ObserveWindow records a rolling-window limit the CRM reported (HubSpot X-HubSpot-RateLimit-Max,
// -Remaining, -Interval-Milliseconds): from then on Wait lets through at most max less a headroom
// (windowHeadroom) of this connection's requests in any interval (plus windowPad), counted from
// when each was let through, so the window is used to about 95% and never overrun by our own
// requests. When the CRM says the window is nearly spent anyway (the account's other
// integrations share it), the next requests also wait about one refill of the bucket.
func (g *Governor) ObserveWindow(max, remaining int, interval time.Duration) {
	if max <= 0 || interval <= 0 {
		return
	}
	g.mu.Lock()
	g.winMax, g.winInterval = max, interval
	g.mu.Unlock()
	if remaining <= 1 {
		// Spend the bucket so the next request waits about one refill.
		g.limiter.ReserveN(time.Now(), g.limiter.Burst()) // the limiter runs on the real clock
	}
}

// Usage returns the daily usage last reported (plus calls sent since) and the daily maximum; max is
// 0 when the CRM has not reported one yet.
func (g *Governor) Usage() (used, max int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.used, g.max
}
