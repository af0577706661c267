package connectors

import (
	"context"
	"errors"
	"testing"
	"time"
)

// describer counts Describe calls; other methods are not used.
type describer struct {
	Connector
	calls int
	err   error
}

func (d *describer) Describe(context.Context, Object) ([]FieldMeta, error) {
	d.calls++
	if d.err != nil {
		return nil, d.err
	}
	return []FieldMeta{{Name: "F", Type: TypeString}}, nil
}

type memMetaStore struct {
	meta  []FieldMeta
	at    time.Time
	saves int
}

func (m *memMetaStore) LoadFieldMeta(context.Context, string, Object) ([]FieldMeta, time.Time, bool, error) {
	return m.meta, m.at, m.meta != nil, nil
}

func (m *memMetaStore) SaveFieldMeta(_ context.Context, _ string, _ Object, meta []FieldMeta, at time.Time) error {
	m.meta, m.at = meta, at
	m.saves++
	return nil
}

func TestDescribeCache(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := time.Date(2025, 3, 7, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }

	t.Run("fresh metadata is not fetched again, stale is", func(t *testing.T) {
		st, c := &memMetaStore{}, &describer{}
		d := NewDescribeCache(st, 10*time.Minute, now)
		for range 3 {
			if _, _, err := d.Describe(ctx, c, "sf", ObjectDeal, false); err != nil {
				t.Fatal(err)
			}
		}
		if c.calls != 1 || st.saves != 1 {
			t.Fatalf("got %d calls, %d saves; want 1 and 1", c.calls, st.saves)
		}
		// Another process (a new cache) finds it in the store.
		c2 := &describer{}
		if _, at, err := NewDescribeCache(st, 10*time.Minute, now).Describe(ctx, c2, "sf", ObjectDeal, false); err != nil || c2.calls != 0 || !at.Equal(clock) {
			t.Errorf("from the store: got %d calls, fetched %v, err %v; want 0 calls, fetched %v", c2.calls, at, err, clock)
		}
		d.now = func() time.Time { return clock.Add(11 * time.Minute) }
		if _, _, err := d.Describe(ctx, c, "sf", ObjectDeal, false); err != nil || c.calls != 2 {
			t.Errorf("after the TTL: got %d calls (err %v), want 2", c.calls, err)
		}
	})

	t.Run("refresh asks the CRM", func(t *testing.T) {
		c := &describer{}
		d := NewDescribeCache(nil, 0, now)
		d.Describe(ctx, c, "sf", ObjectDeal, false) //nolint:errcheck
		d.Describe(ctx, c, "sf", ObjectDeal, true)  //nolint:errcheck
		if c.calls != 2 {
			t.Errorf("got %d calls, want 2", c.calls)
		}
	})

	t.Run("a CRM failure is returned, not stale data", func(t *testing.T) {
		boom := &Error{Kind: KindTransient, Message: "down"}
		st := &memMetaStore{meta: []FieldMeta{{Name: "Old"}}, at: clock.Add(-2 * time.Hour)}
		_, _, err := NewDescribeCache(st, time.Hour, now).Describe(ctx, &describer{err: boom}, "sf", ObjectDeal, false)
		if !errors.Is(err, boom) {
			t.Errorf("got %v, want the CRM's error", err)
		}
	})
}
