package bench

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	hssandbox "github.com/mapsync/mapsync/sandbox/hubspot"
	"github.com/mapsync/mapsync/server"
	"github.com/mapsync/mapsync/sync/inbox"
)

func init() {
	Register(Scenario{
		Name: "webhooks",
		Doc:  "signed HubSpot v3 webhook requests on loopback, stored durably: requests/s, events/s, p99 of the acknowledgement (targets ≥ 2,000/s, p99 < 50 ms)",
		Run:  runWebhooks,
	})
}

// Webhook load: HubSpot sends at most webhookConcurrency requests at once per app and portal
// (its default concurrency setting is 10). A request carries the changes HubSpot has for us, up to
// 100 events: one at a time in ordinary traffic, full requests of 100 when a bulk change (an
// import, a mass edit) floods in. The scenario sends both, one phase each: single-event requests
// give requests/s and the acknowledgement's p99, 100-event requests give events/s.
const (
	webhookConcurrency = 10
	webhookBulkEvents  = 100
)

// runWebhooks serves `mapsync serve`'s HTTP handler (the receivers as serve builds them) on
// loopback with the stack's store and sends it signed HubSpot v3 requests from
// webhookConcurrency clients in a closed loop; each acknowledgement (200) means the events are
// committed. At the end every event sent must be in webhook_events.
func runWebhooks(ctx context.Context, env *Env) (Result, error) {
	var r Result
	singles := env.Scaled(20_000)
	bulks := env.Scaled(2_000)
	warm := min(200, singles)
	st, err := env.Stack(ctx, StackOptions{HubSpot: true, Deals: 50})
	if err != nil {
		return r, err
	}
	defer st.Close()
	h, err := st.Server(ctx)
	if err != nil {
		return r, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return r, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Shutdown
	defer srv.Shutdown(context.WithoutCancel(ctx))
	load := &webhookLoad{env: env, target: "http://" + ln.Addr().String() + "/webhooks/hubspot/" + HubSpotConnection, secret: st.WebhookSecret(),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: webhookConcurrency, MaxConnsPerHost: webhookConcurrency}, Timeout: 30 * time.Second}}
	defer load.client.CloseIdleConnections()

	if _, _, err := load.run(ctx, load.bodies(warm, 1), ""); err != nil {
		return r, fmt.Errorf("warm-up: %w", err)
	}
	env.Progressf("sending %d signed single-event requests (%d concurrent)", singles, webhookConcurrency)
	lat, took, err := load.run(ctx, load.bodies(singles, 1), "single-event")
	if err != nil {
		return r, err
	}
	env.Progressf("sending %d signed requests of %d events (%d concurrent)", bulks, webhookBulkEvents, webhookConcurrency)
	bulkLat, bulkTook, err := load.run(ctx, load.bodies(bulks, webhookBulkEvents), "bulk")
	if err != nil {
		return r, err
	}
	sent := warm + singles + bulks*webhookBulkEvents
	var stored int
	if err := st.Store().DB().GetContext(ctx, &stored, `SELECT COUNT(*) FROM webhook_events`); err != nil {
		return r, err
	}
	if stored != sent {
		return r, fmt.Errorf("acknowledged %d events, webhook_events holds %d", sent, stored)
	}
	env.Progressf("measuring the database's own limit: one-row transactions from %d connections", webhookConcurrency)
	limit, err := commitLimit(ctx, st.Store().DB().DB, st.Store().DB().Rebind, env.ScaledDuration(5*time.Second, 500*time.Millisecond))
	if err != nil {
		return r, fmt.Errorf("commit limit: %w", err)
	}
	perS := Figure{Key: "per_s", Value: float64(singles) / took.Seconds(), Unit: "requests/s"}.AtLeast(2000, "target")
	perS.Target += fmt.Sprintf("; database limit %.0f/s", limit)
	r.Add(
		perS,
		Figure{Key: "events_per_s", Value: float64(bulks*webhookBulkEvents) / bulkTook.Seconds(), Unit: "events/s"},
		Figure{Key: "p99_ms", Value: ms(percentile(lat, 0.99)), Unit: "ms"}.Below(50, "target"),
	)
	r.Notef("single-event requests: %d from %d concurrent senders in %s; acknowledgement p50 %.1f ms, p99 %.1f ms, max %.1f ms",
		singles, webhookConcurrency, took.Round(time.Millisecond), ms(percentile(lat, 0.5)), ms(percentile(lat, 0.99)), ms(lat[len(lat)-1]))
	r.Notef("%d-event requests: %d in %s, %.0f requests/s; acknowledgement p50 %.1f ms, p99 %.1f ms",
		webhookBulkEvents, bulks, bulkTook.Round(time.Millisecond), float64(bulks)/bulkTook.Seconds(), ms(percentile(bulkLat, 0.5)), ms(percentile(bulkLat, 0.99)))
	r.Notef("every one of the %d events acknowledged is in webhook_events", stored)
	r.Notef("database limit: %.0f transactions/s of one webhook_events row each (BEGIN, INSERT, COMMIT) from %d connections with no HTTP, signature, parsing or job insert: a receiver that commits each request in a transaction of its own acknowledges no more single-event requests a second on this machine now",
		limit, webhookConcurrency)
	return r, nil
}

// webhookLoad sends signed HubSpot v3 requests to one receiver.
type webhookLoad struct {
	env       *Env
	target    string
	secret    string
	client    *http.Client
	nextEvent int64
}

// bodies makes n request bodies of events events each, with event ids never sent before.
func (l *webhookLoad) bodies(n, events int) [][]byte {
	out := make([][]byte, n)
	now := time.Now().UnixMilli()
	for i := range out {
		evs := make([]inbox.HubSpotEvent, events)
		for j := range evs {
			l.nextEvent++
			evs[j] = inbox.HubSpotEvent{EventID: 100_000 + l.nextEvent, SubscriptionID: 4242, PortalID: 62515, OccurredAt: now,
				SubscriptionType: "deal.propertyChange", ObjectID: 10_000_000_001 + l.nextEvent%50, PropertyName: "dealstage", ChangeFlag: "NEW"}
		}
		out[i], _ = json.Marshal(evs)
	}
	return out
}

// send signs body with the send time, as HubSpot signs when it sends, posts it and wants a 200.
func (l *webhookLoad) send(ctx context.Context, body []byte) error {
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, l.target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set(server.HeaderHubSpotTimestamp, ts)
	hr.Header.Set(server.HeaderHubSpotSignatureV3, hssandbox.SignatureV3(l.secret, http.MethodPost, l.target, body, ts))
	resp, err := l.client.Do(hr)
	if err != nil {
		return err
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("webhook answered %d: %s", resp.StatusCode, answer)
	}
	return nil
}

// run sends bodies from webhookConcurrency senders in a closed loop and returns each request's
// latency, sorted, and the wall time; progress names the phase in progress lines ("": none).
func (l *webhookLoad) run(ctx context.Context, bodies [][]byte, progress string) ([]time.Duration, time.Duration, error) {
	lat := make([]time.Duration, len(bodies))
	var (
		next     atomic.Int64
		done     atomic.Int64
		firstErr error
		once     sync.Once
		wg       sync.WaitGroup
	)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	step := max(1000, len(bodies)/4)
	start := time.Now()
	for range webhookConcurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) || rctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if err := l.send(rctx, bodies[i]); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
				lat[i] = time.Since(t0)
				if n := done.Add(1); progress != "" && n%int64(step) == 0 {
					l.env.Progressf("%s: %d of %d requests acknowledged", progress, n, len(bodies))
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	if firstErr != nil {
		return nil, took, firstErr
	}
	slices.Sort(lat)
	return lat, took, nil
}

// commitLimit measures what the database itself sustains for the receiver's smallest unit of
// work: a transaction that inserts one webhook_events row and commits, from webhookConcurrency
// connections at once, for d. It returns transactions per second.
func commitLimit(ctx context.Context, db *sql.DB, rebind func(string) string, d time.Duration) (float64, error) {
	var connID int64
	if err := db.QueryRowContext(ctx, `SELECT id FROM connections ORDER BY id LIMIT 1`).Scan(&connID); err != nil {
		return 0, err
	}
	q := rebind(`INSERT INTO webhook_events (connection_id, source, event_key, event_type, object, crm_id, occurred_at, received_at, payload, status)
		VALUES (?, 'hubspot', ?, 'deal.propertyChange', 'deal', '10000000001', ?, ?, '{"eventId":1}', 'pending') ON CONFLICT (connection_id, source, event_key) DO NOTHING RETURNING id`)
	var (
		n        atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	lctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	for w := range webhookConcurrency {
		wg.Go(func() {
			for i := 0; lctx.Err() == nil; i++ {
				err := func() error {
					tx, err := db.BeginTx(lctx, nil)
					if err != nil {
						return err
					}
					defer tx.Rollback() //nolint:errcheck // after Commit a no-op
					now := time.Now().UTC()
					var id int64
					if err := tx.QueryRowContext(lctx, q, connID, fmt.Sprintf("limit-%d-%d", w, i), now, now).Scan(&id); err != nil {
						return err
					}
					return tx.Commit()
				}()
				if err != nil {
					if lctx.Err() == nil {
						mu.Lock()
						firstErr = cmp.Or(firstErr, err)
						mu.Unlock()
					}
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return 0, firstErr
	}
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}

// percentile returns the q-quantile (0..1) of sorted durations (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*q+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
