package hubspot

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Event is one webhook event as HubSpot POSTs it (inside a JSON array of up to 100).
type Event struct {
	EventID          int64   `json:"eventId"`
	SubscriptionID   int64   `json:"subscriptionId"`
	PortalID         int64   `json:"portalId"`
	AppID            int64   `json:"appId"`
	OccurredAt       int64   `json:"occurredAt"`
	SubscriptionType string  `json:"subscriptionType"`
	AttemptNumber    int     `json:"attemptNumber"`
	ObjectID         int64   `json:"objectId"`
	PropertyName     string  `json:"propertyName,omitempty"`
	PropertyValue    *string `json:"propertyValue,omitempty"`
	ChangeFlag       string  `json:"changeFlag,omitempty"`
	ChangeSource     string  `json:"changeSource"`
	SourceID         string  `json:"sourceId,omitempty"`
}

// Subscription is one webhook subscription of the app.
type Subscription struct {
	// ID is the subscriptionId events carry; 0 assigns one.
	ID int64 `json:"id,omitempty"`
	// Type is e.g. deal.creation, deal.propertyChange, deal.deletion, contact.creation,
	// contact.propertyChange, contact.deletion.
	Type string `json:"subscriptionType"`
	// PropertyName narrows a propertyChange subscription to one property; empty means any.
	PropertyName string `json:"propertyName,omitempty"`
}

// Duration is a time.Duration that reads JSON strings ("250ms") or numbers of milliseconds.
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("parse duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var ms float64
	if err := json.Unmarshal(b, &ms); err != nil {
		return fmt.Errorf("parse duration %s: %w", b, err)
	}
	*d = Duration(time.Duration(ms * float64(time.Millisecond)))
	return nil
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// WebhookConfig sets where and how events are delivered. Delays run on the real clock, so tests
// compress HubSpot's 24-hour retry schedule with small RetryBase and RetryMax.
type WebhookConfig struct {
	// TargetURL receives the POSTs; use a URL without percent-escapes (it is part of the v3
	// signature). Empty disables delivery.
	TargetURL string `json:"targetUrl"`
	// Subscriptions select the events sent.
	Subscriptions []Subscription `json:"subscriptions"`
	// MaxBatch is the most events per request; 0 or more than 100 means 100.
	MaxBatch int `json:"maxBatch,omitempty"`
	// MaxRetries is how often a failed request is retried; 0 means 10 (HubSpot's), -1 none.
	MaxRetries int `json:"maxRetries,omitempty"`
	// RetryBase is the first retry delay, doubled each time up to RetryMax; 0 means 1 s.
	RetryBase Duration `json:"retryBase,omitempty"`
	// RetryMax caps the retry delay; 0 means 1 minute.
	RetryMax Duration `json:"retryMax,omitempty"`
	// Timeout fails a request the receiver has not answered; 0 means 5 s (HubSpot's).
	Timeout Duration `json:"timeout,omitempty"`
	// Concurrency is the most requests in flight; 0 means 10 (HubSpot's default).
	Concurrency int `json:"concurrency,omitempty"`
	// FlushDelay waits this long after an event to gather more into the batch; 0 sends at once.
	FlushDelay Duration `json:"flushDelay,omitempty"`
	// Duplicates sends every event a second time in a later request, as HubSpot may.
	Duplicates bool `json:"duplicates,omitempty"`
	// OutOfOrder shuffles pending events before batching them.
	OutOfOrder bool `json:"outOfOrder,omitempty"`
}

// WebhookStats counts deliveries.
type WebhookStats struct {
	// Pending is the number of events queued and not yet sent.
	Pending int `json:"pending"`
	// Requests is the number of POSTs made (retries included).
	Requests int `json:"requests"`
	// Delivered is the number of requests the receiver acknowledged with a 2xx.
	Delivered int `json:"delivered"`
	// DeliveredEvents is the number of events in those requests.
	DeliveredEvents int `json:"deliveredEvents"`
	// Failures is the number of requests that failed (error, timeout, non-2xx).
	Failures int `json:"failures"`
	// Dropped is the number of requests given up after the last retry.
	Dropped int `json:"dropped"`
}

type webhooks struct {
	s      *Sandbox
	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{}
	wg     sync.WaitGroup
	client *http.Client

	mu      sync.Mutex
	cfg     WebhookConfig
	on      bool
	queue   []queued
	nextID  int64
	rng     *rand.Rand
	stats   WebhookStats
	sem     chan struct{}
	changed chan struct{} // closed and replaced whenever stats change
}

func newWebhooks(s *Sandbox) *webhooks {
	ctx, cancel := context.WithCancel(context.Background())
	h := &webhooks{s: s, ctx: ctx, cancel: cancel, wake: make(chan struct{}, 1), client: &http.Client{},
		nextID: 1_000_001, rng: rand.New(rand.NewPCG(7, 11)), changed: make(chan struct{})}
	h.wg.Add(1)
	go h.dispatch()
	return h
}

func (h *webhooks) wait() {
	h.cancel()
	h.wg.Wait()
}

// newEvent builds an event of subscription type typ; emit fills in ids and subscriptions.
func (h *webhooks) newEvent(typ string, objectID int64, at time.Time, source string, fill func(*Event)) Event {
	e := Event{PortalID: PortalID, AppID: AppID, OccurredAt: at.UnixMilli(), SubscriptionType: typ, ObjectID: objectID,
		ChangeSource: source}
	if source == "INTEGRATION" {
		e.SourceID = strconv.Itoa(AppID)
	}
	if fill != nil {
		fill(&e)
	}
	return e
}

// emit queues the events that match a subscription, one copy per matching subscription.
func (h *webhooks) emit(events []Event) {
	if len(events) == 0 {
		return
	}
	h.mu.Lock()
	if !h.on {
		h.mu.Unlock()
		return
	}
	n := 0
	for _, e := range events {
		for _, sub := range h.cfg.Subscriptions {
			if sub.Type != e.SubscriptionType || (sub.PropertyName != "" && sub.PropertyName != e.PropertyName) {
				continue
			}
			c := e
			c.SubscriptionID, c.EventID = sub.ID, h.nextID
			h.nextID++
			h.queue = append(h.queue, queued{ev: c})
			n++
		}
	}
	h.mu.Unlock()
	if n > 0 {
		h.poke()
	}
}

func (h *webhooks) poke() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// configure replaces the webhook settings; an empty TargetURL turns delivery off.
func (h *webhooks) configure(cfg WebhookConfig) {
	if cfg.MaxBatch <= 0 || cfg.MaxBatch > 100 {
		cfg.MaxBatch = 100
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 10
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = Duration(time.Second)
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = Duration(time.Minute)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = Duration(5 * time.Second)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 10
	}
	for i := range cfg.Subscriptions {
		if cfg.Subscriptions[i].ID == 0 {
			cfg.Subscriptions[i].ID = int64(5_000_001 + i)
		}
	}
	h.mu.Lock()
	h.cfg, h.on = cfg, cfg.TargetURL != ""
	h.sem = make(chan struct{}, cfg.Concurrency)
	if !h.on {
		h.queue = nil
	}
	h.mu.Unlock()
}

func (h *webhooks) statsNow() (WebhookStats, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.stats
	st.Pending = len(h.queue)
	return st, h.changed
}

// bump applies f to the stats and wakes waiters; h.mu must not be held.
func (h *webhooks) bump(f func(*WebhookStats)) {
	h.mu.Lock()
	f(&h.stats)
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
}

// queued is a pending event; dup marks the extra copy of the Duplicates mode.
type queued struct {
	ev  Event
	dup bool
}

// dispatch takes queued events, batches them and starts deliveries until the sandbox closes.
// In Duplicates mode every event is queued once more after its first send, so the copy goes
// out in a later request.
func (h *webhooks) dispatch() {
	defer h.wg.Done()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-h.wake:
		}
		h.mu.Lock()
		delay := time.Duration(h.cfg.FlushDelay)
		h.mu.Unlock()
		if delay > 0 && !sleepCtx(h.ctx, delay) {
			return
		}
		h.mu.Lock()
		cfg, sem := h.cfg, h.sem
		pending := h.queue
		h.queue = nil
		if cfg.OutOfOrder {
			h.rng.Shuffle(len(pending), func(i, j int) { pending[i], pending[j] = pending[j], pending[i] })
		}
		h.mu.Unlock()
		var again []queued
		for len(pending) > 0 {
			n := min(len(pending), cfg.MaxBatch)
			batch := make([]Event, n)
			for i, q := range pending[:n] {
				batch[i] = q.ev
				if cfg.Duplicates && !q.dup {
					again = append(again, queued{ev: q.ev, dup: true})
				}
			}
			pending = pending[n:]
			select {
			case sem <- struct{}{}:
			case <-h.ctx.Done():
				return
			}
			h.wg.Add(1)
			go func() {
				defer h.wg.Done()
				defer func() { <-sem }()
				h.deliver(cfg, batch)
			}()
		}
		h.mu.Lock()
		if h.on {
			h.queue = append(h.queue, again...)
		}
		more := len(h.queue) > 0
		h.mu.Unlock()
		if more {
			h.poke()
		}
	}
}

// deliver POSTs one batch, retrying with exponential backoff until acknowledged or given up.
func (h *webhooks) deliver(cfg WebhookConfig, batch []Event) {
	backoff := time.Duration(cfg.RetryBase)
	for attempt := 0; ; attempt++ {
		for i := range batch {
			batch[i].AttemptNumber = attempt
		}
		ok := h.post(cfg, batch)
		h.bump(func(st *WebhookStats) {
			st.Requests++
			if ok {
				st.Delivered++
				st.DeliveredEvents += len(batch)
			} else {
				st.Failures++
			}
		})
		if ok {
			return
		}
		if cfg.MaxRetries < 0 || attempt >= cfg.MaxRetries {
			h.bump(func(st *WebhookStats) { st.Dropped++ })
			h.s.log.Warn().Int("events", len(batch)).Int("attempts", attempt+1).Msg("webhook batch dropped")
			return
		}
		if !sleepCtx(h.ctx, backoff) {
			return
		}
		backoff = min(2*backoff, time.Duration(cfg.RetryMax))
	}
}

// post sends one signed request and reports whether the receiver answered 2xx in time.
func (h *webhooks) post(cfg WebhookConfig, batch []Event) bool {
	body, err := json.Marshal(batch)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(h.ctx, time.Duration(cfg.Timeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.TargetURL, bytes.NewReader(body))
	if err != nil {
		return false
	}
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "HubSpot Connect 2.0 (http://dev.hubspot.com/) - mapsync sandbox")
	req.Header.Set("X-HubSpot-Request-Timestamp", ts)
	req.Header.Set("X-HubSpot-Signature-v3", SignatureV3(ClientSecret, http.MethodPost, cfg.TargetURL, body, ts))
	req.Header.Set("X-HubSpot-Signature", SignatureV1(ClientSecret, body))
	req.Header.Set("X-HubSpot-Signature-Version", "v1")
	resp, err := h.client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

// SignatureV3 is HubSpot's v3 request signature: base64(HMAC-SHA256(secret, method + uri +
// body + timestamp)).
func SignatureV3(secret, method, uri string, body []byte, timestamp string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(method + uri))
	m.Write(body)
	m.Write([]byte(timestamp))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// SignatureV1 is HubSpot's v1 signature: hex(SHA-256(secret + body)).
func SignatureV1(secret string, body []byte) string {
	sum := sha256.Sum256(append([]byte(secret), body...))
	return hex.EncodeToString(sum[:])
}

// sleepCtx waits d, returning false if ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
