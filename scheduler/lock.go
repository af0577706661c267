package scheduler

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/store"
)

// LockStore is what the run lock needs from storage; *store.Store implements it.
type LockStore interface {
	AcquireRunLock(ctx context.Context, connectionID int64, holder, purpose string, ttl time.Duration) error
	RenewRunLock(ctx context.Context, connectionID int64, holder string, ttl time.Duration) error
	ReleaseRunLock(ctx context.Context, connectionID int64, holder string) error
	AbandonRuns(ctx context.Context, connectionID int64, reason string) ([]int64, error)
}

var _ LockStore = (*store.Store)(nil)

// LockerConfig configures a Locker.
type LockerConfig struct {
	// TTL is the lease of a held lock (default 15s). The holder renews it every TTL/3; a holder
	// that cannot renew for 2/3 of TTL cancels its run before the lease can expire, so two runs
	// never overlap even when one process loses the database. A process that dies holds the
	// lock at most TTL longer.
	TTL time.Duration
	// Poll is the pause between attempts while waiting for a busy lock (default 500ms).
	Poll time.Duration
	// Logger receives lock events (abandoned runs, lost leases).
	Logger zerolog.Logger
}

// Locker serialises the runs of each connection across every process on one database, with a
// lease row per connection (store.AcquireRunLock): on PostgreSQL and SQLite alike.
type Locker struct {
	store LockStore
	cfg   LockerConfig
	// holder prefixes each acquisition's holder id: host and pid, for the refusal message.
	holder string
}

// NewLocker returns a Locker on s.
func NewLocker(s LockStore, cfg LockerConfig) (*Locker, error) {
	if s == nil {
		return nil, errors.New("scheduler: locker needs a store")
	}
	if cfg.TTL == 0 {
		cfg.TTL = 15 * time.Second
	}
	if cfg.TTL < 300*time.Millisecond {
		return nil, fmt.Errorf("scheduler: lock TTL %s is too short (at least 300ms)", cfg.TTL)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	host, _ := os.Hostname()
	return &Locker{store: s, cfg: cfg, holder: fmt.Sprintf("%s:%d", host, os.Getpid())}, nil
}

// Run runs fn while holding the connection's run lock. If another run holds it, Run waits up to
// wait for it (0: not at all) and then returns an error that wraps store.ErrLocked and says who
// holds it. Once the lock is held, runs that a dead process left "running" are marked abandoned.
// fn's context is cancelled if the lease cannot be renewed (fn should then stop: another run may
// take over once the lease expires); Run then returns fn's error joined with store.ErrLockLost.
func (l *Locker) Run(ctx context.Context, connectionID int64, purpose string, wait time.Duration, fn func(ctx context.Context) error) error {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	holder := l.holder + ":" + hex.EncodeToString(b)
	if err := l.acquire(ctx, connectionID, holder, purpose, wait); err != nil {
		return err
	}
	log := l.cfg.Logger.With().Int64("connection_id", connectionID).Str("holder", holder).Logger()
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := l.store.ReleaseRunLock(rctx, connectionID, holder); err != nil {
			log.Warn().Err(err).Msg("run lock not released; it expires by itself")
		}
	}()
	ids, err := l.store.AbandonRuns(ctx, connectionID, "the process running it stopped before finishing (found by the next run)")
	if err != nil {
		return err
	}
	if len(ids) > 0 {
		log.Warn().Ints64("run_ids", ids).Msg("runs left running by a stopped process marked abandoned")
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		l.heartbeat(runCtx, connectionID, holder, done, cancel, log)
	}()
	runErr := fn(runCtx)
	close(done)
	<-stopped
	if cause := context.Cause(runCtx); errors.Is(cause, store.ErrLockLost) {
		return errors.Join(runErr, cause)
	}
	return runErr
}

// acquire tries until it holds the lock or wait has passed.
func (l *Locker) acquire(ctx context.Context, connectionID int64, holder, purpose string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	var t *time.Ticker
	for {
		err := l.store.AcquireRunLock(ctx, connectionID, holder, purpose, l.cfg.TTL)
		if err == nil || !errors.Is(err, store.ErrLocked) {
			return err
		}
		if !time.Now().Before(deadline) {
			return err
		}
		if t == nil {
			t = time.NewTicker(l.cfg.Poll)
			defer t.Stop()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the run lock: %w (%w)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// heartbeat renews the lease every TTL/3 until done; when the lease is lost, or cannot be renewed
// for 2/3 of TTL (the trust window: stop before the lease can expire), it cancels the run.
func (l *Locker) heartbeat(ctx context.Context, connectionID int64, holder string, done <-chan struct{}, cancel context.CancelCauseFunc, log zerolog.Logger) {
	every := l.cfg.TTL / 3
	t := time.NewTicker(every)
	defer t.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, rcancel := context.WithTimeout(ctx, every)
		err := l.store.RenewRunLock(rctx, connectionID, holder, l.cfg.TTL)
		rcancel()
		switch {
		case err == nil:
			lastOK = time.Now()
		case errors.Is(err, store.ErrLockLost):
			log.Error().Msg("run lock taken over by another run; stopping this run")
			cancel(store.ErrLockLost)
			return
		case time.Since(lastOK) >= 2*l.cfg.TTL/3:
			log.Error().Err(err).Msg("run lock could not be renewed in time; stopping this run")
			cancel(fmt.Errorf("%w: %w", store.ErrLockLost, err))
			return
		default:
			log.Warn().Err(err).Msg("run lock renewal failed; retrying")
		}
	}
}
