package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/mapsync/mapsync/connectors"
)

func init() {
	Register(Scenario{
		Name: "ratelimit",
		Doc:  "HubSpot sandbox limited to 100 requests per 10 s, pulled by 3 workers through the connection's governor: utilisation (target ≥ 90%) and 429s after the first window (target none)",
		Run:  runRateLimit,
	})
}

// The limit the scenario sets: HubSpot's ten-secondly rolling window, at 100 requests.
const (
	rateLimitMax     = 100
	rateLimitWindow  = 10 * time.Second
	rateLimitWorkers = 3
)

// runRateLimit starts the HubSpot sandbox with its burst limit at 100 requests per rolling 10 s
// and has rateLimitWorkers workers pull its deals in full, over and over, through one
// connection's connector (so through its one governor, as a pull, a push and webhook fetches of
// a connection share it) for several windows. The sandbox counts what it admitted and what it
// refused: utilisation is the admitted requests over what the windows allowed, and every 429
// after the first window (where the governor has not yet heard the limit) is a miss.
func runRateLimit(ctx context.Context, env *Env) (Result, error) {
	var r Result
	windows := max(3, int(math.Round(6*env.Scale)))
	st, err := env.Stack(ctx, StackOptions{HubSpot: true, Deals: 2_000, Limits: true, HubSpotBurstLimit: rateLimitMax})
	if err != nil {
		return r, err
	}
	defer st.Close()
	conn, err := st.Connector(ctx, HubSpotConnection)
	if err != nil {
		return r, err
	}
	sb := st.HubSpot()
	sb.ResetCounters()
	counts := func() (ok, limited int) {
		for _, c := range sb.Counts() {
			switch {
			case c.Status == 429:
				limited += c.N
			case c.Status >= 200 && c.Status < 300:
				ok += c.N
			}
		}
		return ok, limited
	}
	env.Progressf("%d workers pulling through one governor for %d windows of %s (limit %d requests a window)", rateLimitWorkers, windows, rateLimitWindow, rateLimitMax)
	// Cancelled at the end rather than given a deadline: a governor refuses a wait that would
	// outlast its context's deadline, which is not what is measured here.
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	end := time.AfterFunc(time.Duration(windows)*rateLimitWindow, stop)
	defer end.Stop()
	start := time.Now()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range rateLimitWorkers {
		wg.Go(func() {
			for runCtx.Err() == nil {
				err := conn.Pull(runCtx, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true}, func(connectors.Page) error { return nil })
				if err != nil && runCtx.Err() == nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					stop()
				}
			}
		})
	}
	var firstOK, firstLimited int
	type point struct {
		at         time.Duration
		ok, denied int
	}
	var timeline []point
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	firstDone := false
	for runCtx.Err() == nil {
		select {
		case <-runCtx.Done():
		case <-tick.C:
			ok, limited := counts()
			at := time.Since(start)
			timeline = append(timeline, point{at, ok, limited})
			if !firstDone && at >= rateLimitWindow {
				firstOK, firstLimited, firstDone = ok, limited, true
				env.Progressf("first window: %d admitted, %d refused (429)", ok, limited)
			}
			if int(at/time.Second)%10 == 0 {
				env.Progressf("%s: %d admitted, %d refused (429)", at.Round(time.Second), ok, limited)
			}
		}
	}
	elapsed := time.Since(start)
	wg.Wait()
	if firstErr != nil {
		return r, fmt.Errorf("pull: %w", firstErr)
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return r, ctx.Err()
	}
	ok, limited := counts()
	allowed := float64(windows * rateLimitMax)
	r.Add(
		Figure{Key: "utilisation", Value: 100 * float64(ok) / allowed, Unit: "%"}.AtLeast(90, "target"),
		Figure{Key: "throttled_after_first_window", Value: float64(limited - firstLimited), Unit: "429s"}.AtMost(0, "target: none"),
	)
	r.Notef("%d requests admitted in %s (%d windows allow %d); first window: %d admitted, %d refused; after it: %d refused",
		ok, elapsed.Round(time.Millisecond), windows, int(allowed), firstOK, firstLimited, limited-firstLimited)
	var xs, ys []float64
	for _, p := range timeline {
		xs = append(xs, p.at.Seconds())
		ys = append(ys, float64(p.ok))
	}
	r.Charts = append(r.Charts, Chart{File: "ratelimit", Title: fmt.Sprintf("HubSpot limited to %d requests per %s: requests admitted", rateLimitMax, rateLimitWindow),
		XLabel: "seconds", YLabel: "requests admitted (cumulative)", Series: []Series{
			{Name: "admitted", X: xs, Y: ys},
			{Name: fmt.Sprintf("the limit's average: %d per %s", rateLimitMax, rateLimitWindow), X: []float64{0, elapsed.Seconds()},
				Y: []float64{0, elapsed.Seconds() * rateLimitMax / rateLimitWindow.Seconds()}},
		}})
	return r, nil
}
