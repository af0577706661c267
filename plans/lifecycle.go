package plans

import (
	"strings"
)

// Close marks the plan closed (finished); it can no longer change.
func (p *Plan) Close(c Change, reason string) ([]Event, error) {
	return p.end(c, PlanClosed, EventPlanClosed, reason)
}

// Cancel marks the plan cancelled (abandoned, e.g. the deal was lost); it can no longer change.
func (p *Plan) Cancel(c Change, reason string) ([]Event, error) {
	return p.end(c, PlanCancelled, EventPlanCancelled, reason)
}

func (p *Plan) end(c Change, to PlanStatus, typ EventType, reason string) ([]Event, error) {
	if err := p.active(); err != nil {
		return nil, err
	}
	if c.By.Side == SideBuyer {
		return nil, invalid("status", "buyers cannot close or cancel a plan")
	}
	reason = strings.TrimSpace(reason)
	if err := checkLength("reason", reason, MaxReason); err != nil {
		return nil, err
	}
	r := &recorder{p: p, c: c}
	r.add(typ, nil, p.Status, to)
	at := c.At
	p.Status, p.ClosedAt, p.CloseReason = to, &at, reason
	return r.done(), nil
}
