package pull

import (
	"context"
	"errors"
	"slices"

	"github.com/mapsync/mapsync/connectors"
)

// DealsFromDealPull is ObjectSummary.DealsFrom when a run's roles were read for the deals its deal
// pull delivered.
const DealsFromDealPull = "deal pull"

// dealFeed decides whether this run's deal_contact pull reads the roles of the deals its deal pull
// delivers (a connectors.DealFeed) instead of walking the deals again (HubSpot: 1,000 list pages
// for 100,000 deals). It may only when the deal pull covers every deal the roles pull would walk:
//   - both read everything, neither resuming an interrupted full pass (a resumed pass starts in
//     the middle of the list, and the two passes may stand at different places);
//   - or both are incremental, and the deal pull starts from a cursor no later than the roles'.
//
// A sequential run must pull the deals first. It returns the feed, or nil and why not; why is ""
// when the question does not arise (the connector walks no deals, or the run pulls only one of
// the two objects).
func (p *Puller) dealFeed(ctx context.Context, full, parallel bool) (*connectors.DealFeed, string, error) {
	if f, ok := p.opts.Connector.(connectors.DealFeeder); !ok || !f.TakesDealFeed() {
		return nil, "", nil
	}
	di := slices.Index(p.opts.Objects, connectors.ObjectDeal)
	ri := slices.Index(p.opts.Objects, connectors.ObjectDealContact)
	if ri < 0 {
		return nil, "", nil
	}
	if di < 0 {
		return nil, "this run does not pull deals", nil
	}
	if !parallel && di > ri {
		return nil, "this run pulls the roles before the deals", nil
	}
	dFull, dPrev, dPending, err := p.objectMode(ctx, connectors.ObjectDeal, full)
	if err != nil {
		return nil, "", err
	}
	rFull, rPrev, rPending, err := p.objectMode(ctx, connectors.ObjectDealContact, full)
	if err != nil {
		return nil, "", err
	}
	switch {
	case dPending || rPending:
		return nil, "an interrupted full pass resumes", nil
	case dFull && rFull:
		return connectors.NewDealFeed(), "", nil
	case dFull != rFull:
		return nil, "only one of the deal and role pulls reads everything", nil
	case rPrev.Stamp.Before(dPrev.Stamp):
		return nil, "the roles' cursor is behind the deals'", nil
	}
	return connectors.NewDealFeed(), "", nil
}

// objectMode is how pullObject will pull obj: whether whole, from which cursor, and whether it
// resumes an interrupted full pass.
func (p *Puller) objectMode(ctx context.Context, obj connectors.Object, full bool) (bool, connectors.Cursor, bool, error) {
	stored, err := p.opts.Store.Cursor(ctx, p.opts.ConnectionID, obj)
	if err != nil {
		return false, connectors.Cursor{}, false, err
	}
	prev, pending, _ := splitCursor(stored)
	return full || pending != nil || prev.Stamp.IsZero(), prev, pending != nil, nil
}

// errOr returns err, or a stand-in for a pull that ended without one before it finished.
func errOr(err error) error {
	if err != nil {
		return err
	}
	return errors.New("ended before its last page")
}
