package push

import (
	"context"
	"fmt"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/mapping"
	"github.com/mapsync/mapsync/store"
)

// RemarkChanged is called with the deal records a pull just stored. It marks for a push the
// plans of those deals whose mapping, evaluated against the new record, would write something:
// a deal field the mapping reads changed (amount, stage, ...), or a person changed a mapped
// field in the CRM. A deal that came back with the values we pushed (our own write) diffs as
// unchanged and marks nothing. Deals without plans, deleted deals and other objects are
// ignored. It returns how many deals it marked; it writes nothing to the CRM and records no
// outcome. A connection without a push mapping, or that needs authorising again, marks
// nothing.
func (p *Pusher) RemarkChanged(ctx context.Context, connection string, records []connectors.Record) (int, error) {
	var ids []string
	for _, rec := range records {
		if rec.Object == connectors.ObjectDeal && !rec.Deleted {
			ids = append(ids, rec.ID)
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	st := p.cfg.Store
	planMap, err := st.DealPlans(ctx, connection, ids)
	if err != nil {
		return 0, err
	}
	var withPlans []string
	for _, id := range ids {
		if len(planMap[id]) > 0 {
			withPlans = append(withPlans, id)
		}
	}
	if len(withPlans) == 0 {
		return 0, nil
	}
	if sc, err := st.ConnectionByName(ctx, connection); err == nil && sc.Status == store.ConnectionNeedsReauth {
		return 0, nil
	}
	t, err := p.cfg.Resolve(ctx, connection)
	if err != nil {
		return 0, fmt.Errorf("remark %s: %w", connection, err)
	}
	meta, _, err := p.cfg.Describe.Describe(ctx, t.Connector, connection, objectOf(t.Mapping), false)
	if err != nil {
		return 0, p.crmError(ctx, connection, "read the field metadata", err)
	}
	recs, err := st.RecordsByID(ctx, t.ConnectionID, objectOf(t.Mapping), withPlans)
	if err != nil {
		return 0, err
	}
	states, err := st.PushStates(ctx, connection, string(objectOf(t.Mapping)), withPlans)
	if err != nil {
		return 0, err
	}
	r := &round{p: p, t: t, sum: &Summary{}, opts: Options{DryRun: true}, metas: mapping.MetaIndex(meta), templates: map[tplKey]bool{}}
	now := p.cfg.Now()
	var mark []string
	for _, id := range withPlans {
		d, err := r.decide(ctx, id, nil, planMap[id], recs, states, now)
		if err != nil {
			return 0, err
		}
		if d.change != nil {
			mark = append(mark, id)
		}
	}
	if len(mark) == 0 {
		return 0, nil
	}
	if _, err := st.MarkDealPlans(ctx, connection, mark); err != nil {
		return 0, err
	}
	return len(mark), nil
}
