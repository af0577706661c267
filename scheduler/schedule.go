package scheduler

import (
	"time"

	"github.com/robfig/cron/v3"

	"github.com/mapsync/mapsync/store"
)

// Entry is one scheduled pull of a connection. The daemon runs each entry as a River periodic
// job (cmd/mapsync/pull_jobs.go): only River's elected leader enqueues its pulls, and Entry is
// the job's schedule (river.PeriodicSchedule).
type Entry struct {
	// Connection names the connection.
	Connection string
	// ConnectionID is the stored connection's id.
	ConnectionID int64
	// Full makes the pull a full reconcile (full_schedule); else incremental (schedule).
	Full bool
	// Schedule says when; its times are computed in Location.
	Schedule cron.Schedule
	// Location is the connection's time zone (nil: UTC).
	Location *time.Location
}

// NewEntry returns an entry. "@every D" schedules are aligned to the clock (Every): robfig's
// count from when they are parsed, so a new leader would tick at other times than the old one,
// while aligned, every process computes the same ticks, which store.ClaimScheduleTick tells
// apart.
func NewEntry(connection string, connectionID int64, full bool, s cron.Schedule, loc *time.Location) Entry {
	if every, ok := s.(cron.ConstantDelaySchedule); ok {
		s = Every(every.Delay)
	}
	if loc == nil {
		loc = time.UTC
	}
	return Entry{Connection: connection, ConnectionID: connectionID, Full: full, Schedule: s, Location: loc}
}

// Mode is the run mode the entry's pulls are recorded with, and its ticks claimed under.
func (e Entry) Mode() string {
	if e.Full {
		return store.RunFull
	}
	return store.RunIncremental
}

// Next returns the entry's first tick after t, computed in its time zone.
func (e Entry) Next(t time.Time) time.Time {
	loc := e.Location
	if loc == nil {
		loc = time.UTC
	}
	return e.Schedule.Next(t.In(loc))
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
