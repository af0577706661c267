package plans

// Audience is who a plan is shown to.
type Audience string

// The audiences.
const (
	// AudienceSeller sees everything.
	AudienceSeller Audience = "seller"
	// AudienceBuyer sees no internal actions, comments, attachments or events.
	AudienceBuyer Audience = "buyer"
)

// BuyerView returns a copy of p for the buyer side: internal actions are left out, as are
// internal attachments on the rest and on the plan (comments, kept outside the plan, are
// filtered by the store: Store.Comments). Positions are kept as they are
// in the full plan (a phase may show gaps), so they stay valid for MoveAction. p is unchanged.
func BuyerView(p *Plan) *Plan {
	v := p.Clone()
	v.Attachments = shared(v.Attachments, func(a Attachment) bool { return a.Internal })
	for i := range v.Phases {
		ph := &v.Phases[i]
		ph.Actions = shared(ph.Actions, func(a Action) bool { return a.Internal })
		for j := range ph.Actions {
			a := &ph.Actions[j]
			a.Attachments = shared(a.Attachments, func(x Attachment) bool { return x.Internal })
		}
	}
	return v
}

// View returns p as audience sees it: p itself for the seller, BuyerView(p) for the buyer.
func View(p *Plan, audience Audience) *Plan {
	if audience == AudienceBuyer {
		return BuyerView(p)
	}
	return p
}

// EventsFor returns the events audience may see: all for the seller, the non-internal ones for
// the buyer.
func EventsFor(events []Event, audience Audience) []Event {
	if audience != AudienceBuyer {
		return events
	}
	return shared(events, func(e Event) bool { return e.Internal })
}

// shared returns the elements of xs that are not internal, in a new slice (nil stays nil).
func shared[T any](xs []T, internal func(T) bool) []T {
	if xs == nil {
		return nil
	}
	out := make([]T, 0, len(xs))
	for _, x := range xs {
		if !internal(x) {
			out = append(out, x)
		}
	}
	return out
}
