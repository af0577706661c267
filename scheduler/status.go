package scheduler

import (
	"context"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/mapsync/mapsync/store"
)

// StatusStore is what Status reads; *store.Store implements it.
type StatusStore interface {
	EnsureConnection(ctx context.Context, name, kind string) (*store.Connection, error)
	Figures(ctx context.Context, c *store.Connection) (*store.ConnectionFigures, error)
}

// StatusConnection is a configured connection as Status needs it.
type StatusConnection struct {
	Name, Kind string
	// Schedule and FullSchedule are the parsed schedules (nil: disabled).
	Schedule, FullSchedule cron.Schedule
	Location               *time.Location
}

// ConnectionStatus is what an admin sees of one connection (`mapsync status`,
// GET /api/v1/connections).
type ConnectionStatus struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// State is ok, failing (the latest run failed or was abandoned), needs_reauth or disabled.
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	// NextRun and NextFull are the next scheduled incremental pull and reconcile.
	NextRun  *time.Time `json:"next_run,omitempty"`
	NextFull *time.Time `json:"next_full,omitempty"`
	// LagSeconds is how long ago the latest succeeded run finished (-1: never).
	LagSeconds float64 `json:"lag_seconds"`
	// PushOldestSeconds is the age of the oldest push waiting (0: none).
	PushOldestSeconds float64 `json:"push_oldest_seconds"`
	*store.ConnectionFigures
}

// Status gathers the status of each connection at now.
func Status(ctx context.Context, s StatusStore, conns []StatusConnection, now time.Time) ([]ConnectionStatus, error) {
	out := make([]ConnectionStatus, 0, len(conns))
	for _, c := range conns {
		sc, err := s.EnsureConnection(ctx, c.Name, c.Kind)
		if err != nil {
			return nil, err
		}
		f, err := s.Figures(ctx, sc)
		if err != nil {
			return nil, err
		}
		st := ConnectionStatus{Name: c.Name, Kind: c.Kind, State: "ok", LagSeconds: -1, ConnectionFigures: f}
		loc := c.Location
		if loc == nil {
			loc = time.UTC
		}
		for _, x := range []struct {
			s   cron.Schedule
			dst **time.Time
		}{{c.Schedule, &st.NextRun}, {c.FullSchedule, &st.NextFull}} {
			if x.s == nil {
				continue
			}
			if every, ok := x.s.(cron.ConstantDelaySchedule); ok {
				x.s = Every(every.Delay)
			}
			n := x.s.Next(now.In(loc)).UTC()
			*x.dst = &n
		}
		switch {
		case sc.Status == store.ConnectionNeedsReauth || sc.Status == store.ConnectionDisabled:
			st.State, st.Reason = sc.Status, sc.StatusReason
		case f.LastRun != nil && (f.LastRun.Status == store.RunFailed || f.LastRun.Status == store.RunAbandoned):
			st.State, st.Reason = "failing", f.LastRun.Error
		}
		if f.LastSuccess != nil && f.LastSuccess.FinishedAt != nil {
			st.LagSeconds = now.Sub(*f.LastSuccess.FinishedAt).Round(time.Second).Seconds()
		}
		if f.PushOldest != nil {
			st.PushOldestSeconds = now.Sub(*f.PushOldest).Round(time.Second).Seconds()
		}
		out = append(out, st)
	}
	return out, nil
}
