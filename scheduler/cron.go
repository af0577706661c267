package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/store"
)

// Entry is one scheduled pull of a connection.
type Entry struct {
	// Connection names the connection (logs).
	Connection string
	// ConnectionID is the stored connection's id.
	ConnectionID int64
	// Full makes the pull a full reconcile (full_schedule); else incremental (schedule).
	Full bool
	// Schedule says when; its times are computed in Location.
	Schedule cron.Schedule
	// Location is the connection's time zone (default UTC).
	Location *time.Location
}

// Config configures a Scheduler.
type Config struct {
	// Entries are the schedules.
	Entries []Entry
	// Run runs one scheduled pull. It should take the connection's run lock without waiting: a
	// run that finds the lock held (store.ErrLocked: a run of another process or replica, perhaps
	// fired by the same schedule) is skipped, so a schedule tick runs once across replicas.
	Run func(ctx context.Context, e Entry, tick time.Time) error
	// Claim, when set, claims a tick of an entry across processes (store.ClaimScheduleTick): only
	// the process that claims a tick runs it, so N replicas run each tick once.
	Claim func(ctx context.Context, e Entry, tick time.Time) (bool, error)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives one line per skipped or failed run.
	Logger zerolog.Logger
}

// Scheduler fires each entry's pulls at its schedule's times until stopped.
type Scheduler struct {
	cfg Config

	mu   sync.Mutex
	next map[int]time.Time // entry index -> next run
}

// New returns a Scheduler.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Run == nil {
		return nil, errors.New("scheduler: Run is required")
	}
	for i, e := range cfg.Entries {
		if e.Schedule == nil || e.ConnectionID == 0 {
			return nil, fmt.Errorf("scheduler: entry %d (%s) has no schedule or connection", i, e.Connection)
		}
		if e.Location == nil {
			cfg.Entries[i].Location = time.UTC
		}
		if every, ok := e.Schedule.(cron.ConstantDelaySchedule); ok {
			// "@every 5m" counts from when it is parsed; aligned to the clock instead, every
			// replica computes the same ticks, so Claim can tell them apart.
			cfg.Entries[i].Schedule = Every(every.Delay)
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Scheduler{cfg: cfg, next: map[int]time.Time{}}, nil
}

// Next reports when each entry runs next (zero before Run starts), by entry index.
func (s *Scheduler) Next() map[int]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int]time.Time, len(s.next))
	for k, v := range s.next {
		out[k] = v
	}
	return out
}

// Run fires entries until ctx ends, each in its own goroutine (a run of one entry does not delay
// another's). A tick that comes while the same entry's previous run is still going is skipped.
// When ctx ends Run stops firing and returns once the runs it started have returned (they get
// ctx's cancellation).
func (s *Scheduler) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	busy := make([]bool, len(s.cfg.Entries))
	done := make(chan int, len(s.cfg.Entries))
	now := s.cfg.Now()
	s.mu.Lock()
	for i, e := range s.cfg.Entries {
		s.next[i] = e.Schedule.Next(now.In(e.Location))
	}
	s.mu.Unlock()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		s.mu.Lock()
		var soonest time.Time
		for _, n := range s.next {
			if soonest.IsZero() || n.Before(soonest) {
				soonest = n
			}
		}
		s.mu.Unlock()
		if soonest.IsZero() {
			<-ctx.Done()
			return nil
		}
		t.Reset(max(0, soonest.Sub(s.cfg.Now())))
		select {
		case <-ctx.Done():
			return nil
		case i := <-done:
			busy[i] = false
			continue
		case <-t.C:
		}
		now := s.cfg.Now()
		for i, e := range s.cfg.Entries {
			s.mu.Lock()
			tick := s.next[i]
			due := !tick.After(now)
			if due {
				s.next[i] = e.Schedule.Next(now.In(e.Location))
			}
			s.mu.Unlock()
			if !due {
				continue
			}
			log := s.cfg.Logger.With().Str("connection", e.Connection).Bool("full", e.Full).Logger()
			if busy[i] {
				log.Warn().Msg("scheduled pull skipped: the previous one is still running")
				continue
			}
			busy[i] = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { done <- i }()
				if s.cfg.Claim != nil {
					ok, err := s.cfg.Claim(ctx, e, tick)
					if err != nil {
						log.Error().Err(err).Msg("scheduled pull not run: its tick could not be claimed")
						return
					}
					if !ok {
						log.Debug().Time("tick", tick).Msg("scheduled pull run by another process")
						return
					}
				}
				err := s.cfg.Run(ctx, e, tick)
				switch {
				case err == nil, ctx.Err() != nil:
				case errors.Is(err, store.ErrLocked):
					log.Info().Err(err).Msg("scheduled pull skipped: another run of the connection is in progress")
				default:
					log.Error().Err(err).Msg("scheduled pull failed")
				}
			}()
		}
	}
}

// Every is a schedule that fires at every multiple of d since the Unix epoch: the same ticks in
// every process, whenever it started.
type Every time.Duration

// Next returns the first multiple of the period after t.
func (d Every) Next(t time.Time) time.Time {
	p := time.Duration(d)
	if p <= 0 {
		return time.Time{}
	}
	return t.Truncate(p).Add(p)
}
