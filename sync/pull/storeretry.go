package pull

import (
	"context"
	"time"

	"github.com/rs/zerolog"
	"github.com/sethvargo/go-retry"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/store"
)

// StoreRetry bounds the retries of a store call that failed because the database was briefly
// unreachable (store.IsTransient): a restart, a failover, a dropped connection. Zero fields take
// the defaults, which ride out about 25 s of outage.
type StoreRetry struct {
	// MaxRetries is how many times one call is repeated. Default 8.
	MaxRetries uint64
	// MinWait is the first pause; each next one doubles (with 10% jitter). Default 250ms.
	MinWait time.Duration
	// MaxWait caps one pause. Default 5s.
	MaxWait time.Duration
}

func (r StoreRetry) withDefaults() StoreRetry {
	if r.MaxRetries == 0 {
		r.MaxRetries = 8
	}
	if r.MinWait <= 0 {
		r.MinWait = 250 * time.Millisecond
	}
	if r.MaxWait <= 0 {
		r.MaxWait = 5 * time.Second
	}
	return r
}

// retryingStore repeats the store calls of a pull that fail transiently, so that a database that
// drops its connections for a moment costs the run a pause, not the run. Every call is safe to
// repeat: a page and its cursor commit in one transaction (a commit whose reply was lost is
// applied again as unchanged records), cursors and counts are reads, the reconcile and the run's
// outcome are idempotent updates. Only StartRun may leave a second run row when its commit's
// reply is lost; that row stays "running" until the run lock marks it abandoned.
type retryingStore struct {
	Store
	policy  StoreRetry
	log     zerolog.Logger
	metrics *Metrics
	conn    string
}

// call runs f, repeating it with backoff while it fails transiently and ctx lives.
func call[T any](ctx context.Context, s *retryingStore, op string, f func(context.Context) (T, error)) (T, error) {
	b := retry.NewExponential(s.policy.MinWait)
	b = retry.WithCappedDuration(s.policy.MaxWait, b)
	b = retry.WithJitterPercent(10, b)
	b = retry.WithMaxRetries(s.policy.MaxRetries, b)
	attempt := 0
	return retry.DoValue(ctx, b, func(ctx context.Context) (T, error) {
		attempt++
		v, err := f(ctx)
		if err == nil || !store.IsTransient(err) || ctx.Err() != nil {
			return v, err
		}
		if uint64(attempt) <= s.policy.MaxRetries {
			s.metrics.observeStoreRetry(s.conn, op)
			s.log.Warn().Err(err).Str("op", op).Int("attempt", attempt).Msg("store unreachable; retrying")
		}
		return v, retry.RetryableError(err)
	})
}

func (s *retryingStore) Cursor(ctx context.Context, connectionID int64, object connectors.Object) (connectors.Cursor, error) {
	return call(ctx, s, "cursor", func(ctx context.Context) (connectors.Cursor, error) {
		return s.Store.Cursor(ctx, connectionID, object)
	})
}

func (s *retryingStore) ApplyPullPage(ctx context.Context, p store.PullPage) (store.UpsertStats, error) {
	return call(ctx, s, "apply_page", func(ctx context.Context) (store.UpsertStats, error) {
		return s.Store.ApplyPullPage(ctx, p)
	})
}

func (s *retryingStore) HasRecords(ctx context.Context, connectionID int64, object connectors.Object) (bool, error) {
	return call(ctx, s, "has_records", func(ctx context.Context) (bool, error) {
		return s.Store.HasRecords(ctx, connectionID, object)
	})
}

func (s *retryingStore) MarkUnseenDeleted(ctx context.Context, connectionID int64, object connectors.Object, since time.Time) ([]string, error) {
	return call(ctx, s, "mark_unseen_deleted", func(ctx context.Context) ([]string, error) {
		return s.Store.MarkUnseenDeleted(ctx, connectionID, object, since)
	})
}

func (s *retryingStore) StartRun(ctx context.Context, connectionID int64, mode, trigger string) (int64, error) {
	return call(ctx, s, "start_run", func(ctx context.Context) (int64, error) {
		return s.Store.StartRun(ctx, connectionID, mode, trigger)
	})
}

func (s *retryingStore) FinishRun(ctx context.Context, runID int64, status string, stats any, runErr string) error {
	_, err := call(ctx, s, "finish_run", func(ctx context.Context) (struct{}, error) {
		return struct{}{}, s.Store.FinishRun(ctx, runID, status, stats, runErr)
	})
	return err
}

func (s *retryingStore) SetConnectionStatus(ctx context.Context, name, status, reason string) error {
	_, err := call(ctx, s, "set_connection_status", func(ctx context.Context) (struct{}, error) {
		return struct{}{}, s.Store.SetConnectionStatus(ctx, name, status, reason)
	})
	return err
}
