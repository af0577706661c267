package connectors

import (
	"context"
	"errors"
	"sync"
)

// DealFeeder is implemented by a connector whose ObjectDealContact pull reads the roles of given
// deals (HubSpot's association batch reads) and so can take the deals from PullRequest.Deals
// instead of walking them again. A connector without it walks the deals itself, or needs none
// (Salesforce queries the roles directly).
type DealFeeder interface {
	// TakesDealFeed reports whether an ObjectDealContact pull uses PullRequest.Deals.
	TakesDealFeed() bool
}

// DealFeed hands the deals one pull delivers to the deal_contact pull of the same run, page by
// page, while both run (a full run pulls its objects at once) or after (an incremental run pulls
// them in turn). Only each deal's id, stamp and deleted flag are kept, with the page's cursor (a
// Full pull's Extra is its list position). It is unbounded, so that the deal pull never waits
// for the roles: 100,000 deals hold a few megabytes. It is safe for one writer and one reader.
type DealFeed struct {
	mu     sync.Mutex
	pages  []DealPage
	closed bool
	err    error
	ready  chan struct{} // holds a token when pages or the close wait to be read
}

// DealPage is one page of a DealFeed.
type DealPage struct {
	// Deals are the page's deals (ID, ModifiedAt and Deleted only), in the deal pull's order.
	Deals []Record
	// Cursor is the deal page's cursor.
	Cursor Cursor
}

// ErrDealFeedIncomplete is returned by DealFeed.Next when the deal pull ended without delivering
// every deal; the deal_contact pull must not treat what it read as complete.
var ErrDealFeedIncomplete = errors.New("the deal pull of this run did not finish")

// NewDealFeed returns an empty, open feed.
func NewDealFeed() *DealFeed { return &DealFeed{ready: make(chan struct{}, 1)} }

// Add appends the deals of a delivered page. It never blocks on the reader.
func (f *DealFeed) Add(p Page) {
	deals := make([]Record, len(p.Records))
	for i, r := range p.Records {
		deals[i] = Record{Object: r.Object, ID: r.ID, ModifiedAt: r.ModifiedAt, Deleted: r.Deleted}
	}
	f.mu.Lock()
	if !f.closed {
		f.pages = append(f.pages, DealPage{Deals: deals, Cursor: p.Cursor})
	}
	f.mu.Unlock()
	f.signal()
}

// Close ends the feed: err nil says the deal pull delivered every deal it had to, anything else
// that it did not. Only the first Close counts.
func (f *DealFeed) Close(err error) {
	f.mu.Lock()
	if !f.closed {
		f.closed, f.err = true, err
	}
	f.mu.Unlock()
	f.signal()
}

func (f *DealFeed) signal() {
	select {
	case f.ready <- struct{}{}:
	default:
	}
}

// Next waits for the next page. It returns ok false at the end of a complete feed, and an error
// wrapping ErrDealFeedIncomplete when the deal pull failed, or ctx's error.
func (f *DealFeed) Next(ctx context.Context) (DealPage, bool, error) {
	for {
		f.mu.Lock()
		if len(f.pages) > 0 {
			p := f.pages[0]
			f.pages[0] = DealPage{}
			f.pages = f.pages[1:]
			f.mu.Unlock()
			return p, true, nil
		}
		closed, err := f.closed, f.err
		f.mu.Unlock()
		if closed {
			if err != nil {
				return DealPage{}, false, errors.Join(ErrDealFeedIncomplete, err)
			}
			return DealPage{}, false, nil
		}
		select {
		case <-f.ready:
		case <-ctx.Done():
			return DealPage{}, false, ctx.Err()
		}
	}
}
