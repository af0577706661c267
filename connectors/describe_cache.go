package connectors

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// MetaStore keeps field metadata between processes (store.Store satisfies it).
type MetaStore interface {
	// LoadFieldMeta returns what SaveFieldMeta saved for (connection, object) and when it was
	// fetched; ok is false when nothing is stored.
	LoadFieldMeta(ctx context.Context, connection string, object Object) (meta []FieldMeta, fetchedAt time.Time, ok bool, err error)
	// SaveFieldMeta replaces the metadata of (connection, object).
	SaveFieldMeta(ctx context.Context, connection string, object Object, meta []FieldMeta, fetchedAt time.Time) error
}

// DefaultMetaTTL is how long DescribeCache trusts field metadata when its TTL is 0.
const DefaultMetaTTL = time.Hour

// DescribeCache answers Describe from metadata fetched less than TTL ago (kept in memory and in a
// MetaStore, so other processes share it) and asks the CRM otherwise. It is safe for concurrent
// use; concurrent misses for one (connection, object) may each ask the CRM.
type DescribeCache struct {
	store MetaStore
	ttl   time.Duration
	now   func() time.Time

	mu  sync.Mutex
	mem map[metaKey]metaEntry
}

type metaKey struct {
	connection string
	object     Object
}

type metaEntry struct {
	meta []FieldMeta
	at   time.Time
}

// NewDescribeCache returns a cache over store (nil: memory only). ttl 0 means DefaultMetaTTL;
// now nil means time.Now.
func NewDescribeCache(store MetaStore, ttl time.Duration, now func() time.Time) *DescribeCache {
	if ttl <= 0 {
		ttl = DefaultMetaTTL
	}
	if now == nil {
		now = time.Now
	}
	return &DescribeCache{store: store, ttl: ttl, now: now, mem: map[metaKey]metaEntry{}}
}

// Describe returns the field metadata of object on connection (whose connector is c) and when it
// was fetched from the CRM. Metadata younger than the TTL comes from memory or the store; older,
// or refresh true, asks c.Describe and saves the answer. When the CRM cannot be asked, stale
// metadata is not returned in its place: the error is returned.
func (d *DescribeCache) Describe(ctx context.Context, c Connector, connection string, object Object, refresh bool) ([]FieldMeta, time.Time, error) {
	key := metaKey{connection, object}
	now := d.now()
	if !refresh {
		d.mu.Lock()
		e, ok := d.mem[key]
		d.mu.Unlock()
		if ok && now.Sub(e.at) < d.ttl {
			return e.meta, e.at, nil
		}
		if d.store != nil {
			meta, at, ok, err := d.store.LoadFieldMeta(ctx, connection, object)
			if err != nil {
				return nil, time.Time{}, err
			}
			if ok && now.Sub(at) < d.ttl {
				d.remember(key, meta, at)
				return meta, at, nil
			}
		}
	}
	meta, err := c.Describe(ctx, object)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("describe %s %s: %w", connection, object, err)
	}
	if d.store != nil {
		if err := d.store.SaveFieldMeta(ctx, connection, object, meta, now); err != nil {
			return nil, time.Time{}, err
		}
	}
	d.remember(key, meta, now)
	return meta, now, nil
}

func (d *DescribeCache) remember(key metaKey, meta []FieldMeta, at time.Time) {
	d.mu.Lock()
	d.mem[key] = metaEntry{meta: meta, at: at}
	d.mu.Unlock()
}
