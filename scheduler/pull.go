package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mapsync/mapsync/sync/instantiate"
	"github.com/mapsync/mapsync/sync/pull"
)

// Puller runs one pull of a connection; *pull.Puller implements it.
type Puller interface {
	Run(ctx context.Context, req pull.Request) (*pull.Summary, error)
}

// CatchUpper gives the deals pulls stored since its last call their plans;
// *instantiate.Instantiator implements it.
type CatchUpper interface {
	CatchUp(ctx context.Context) (instantiate.Summary, error)
}

// PullOutcome is what one pull with its plan catch-up did.
type PullOutcome struct {
	// Pull is the pull's summary (nil if it could not start).
	Pull *pull.Summary `json:"pull"`
	// Plans counts the plans the catch-up made; nil if it did not run.
	Plans *instantiate.Summary `json:"plans,omitempty"`
	// PlansSkipped says why no catch-up ran (e.g. no templates imported).
	PlansSkipped string `json:"plans_skipped,omitempty"`
}

// PullAndInstantiate runs one pull of a connection under its run lock (waiting up to wait for a
// run in progress elsewhere), then gives new and changed deals their plans. The catch-up runs
// after a failed pull too, for the pages it committed. With no template imported the catch-up
// is skipped and says so; any other catch-up failure is returned.
func PullAndInstantiate(ctx context.Context, l *Locker, connectionID int64, p Puller, in CatchUpper, req pull.Request, wait time.Duration) (*PullOutcome, error) {
	out := &PullOutcome{}
	mode := "incremental"
	if req.Full {
		mode = "full"
	}
	var pullErr, planErr error
	err := l.Run(ctx, connectionID, fmt.Sprintf("%s pull (%s)", mode, req.Trigger), wait, func(ctx context.Context) error {
		out.Pull, pullErr = p.Run(ctx, req)
		if out.Pull == nil || in == nil || ctx.Err() != nil {
			return nil
		}
		sum, err := in.CatchUp(ctx)
		switch {
		case errors.Is(err, instantiate.ErrNoTemplates):
			out.PlansSkipped = err.Error()
		case err != nil:
			planErr = fmt.Errorf("plans: %w", err)
			out.Plans = &sum
		default:
			out.Plans = &sum
		}
		return nil
	})
	return out, errors.Join(err, pullErr, planErr)
}
