package bucketcache

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"github.com/meridian-s3/meridian/bucketsvc"
)

// Lookup reads one bucket from the catalog; a missing bucket is
// bucketsvc.ErrNoSuchBucket.
type Lookup func(ctx context.Context, name string) (bucketsvc.Bucket, error)

// Config configures a Cache.
type Config struct {
	Size        int           // entries kept
	TTL         time.Duration // lifetime of a found bucket
	NegativeTTL time.Duration // lifetime of a "no such bucket" answer; 0 disables negative caching
	Now         func() time.Time
}

// DefaultConfig: 100k entries, 30 s, 2 s negative.
func DefaultConfig() Config {
	return Config{Size: 100_000, TTL: 30 * time.Second, NegativeTTL: 2 * time.Second}
}

// Validate checks c.
func (c Config) Validate() error {
	if c.Size <= 0 || c.TTL <= 0 || c.NegativeTTL < 0 {
		return fmt.Errorf("bucketcache: Size and TTL must be positive, NegativeTTL non-negative (got %d, %v, %v)", c.Size, c.TTL, c.NegativeTTL)
	}
	return nil
}

type entry struct {
	b       bucketsvc.Bucket
	found   bool
	expires time.Time
}

// Stats counts cache outcomes.
type Stats struct{ Hits, Misses, Invalidations uint64 }

// Cache is safe for concurrent use.
type Cache struct {
	cfg    Config
	lookup Lookup
	lru    *lru.Cache[string, entry]
	group  singleflight.Group

	hits, misses, invalidations atomic.Uint64
}

// New builds a cache over lookup.
func New(cfg Config, lookup Lookup) (*Cache, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if lookup == nil {
		return nil, errors.New("bucketcache: lookup is nil")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l, err := lru.New[string, entry](cfg.Size)
	if err != nil {
		return nil, err
	}
	return &Cache{cfg: cfg, lookup: lookup, lru: l}, nil
}

// Get returns the bucket, from the cache when fresh. A bucket that does not
// exist is bucketsvc.ErrNoSuchBucket (possibly from a negative entry).
func (c *Cache) Get(ctx context.Context, name string) (bucketsvc.Bucket, error) {
	if e, ok := c.lru.Get(name); ok {
		if c.cfg.Now().Before(e.expires) {
			c.hits.Add(1)
			if !e.found {
				return bucketsvc.Bucket{}, fmt.Errorf("%w: %s (cached)", bucketsvc.ErrNoSuchBucket, name)
			}
			return e.b, nil
		}
		c.lru.Remove(name)
	}
	c.misses.Add(1)
	v, err, _ := c.group.Do(name, func() (any, error) {
		b, err := c.lookup(ctx, name)
		now := c.cfg.Now()
		switch {
		case err == nil:
			c.lru.Add(name, entry{b: b, found: true, expires: now.Add(c.cfg.TTL)})
		case errors.Is(err, bucketsvc.ErrNoSuchBucket) && c.cfg.NegativeTTL > 0:
			c.lru.Add(name, entry{expires: now.Add(c.cfg.NegativeTTL)})
		}
		return b, err
	})
	if err != nil {
		return bucketsvc.Bucket{}, err
	}
	return v.(bucketsvc.Bucket), nil
}

// Put records a bucket this edge just created.
func (c *Cache) Put(b bucketsvc.Bucket) {
	c.lru.Add(b.Name, entry{b: b, found: true, expires: c.cfg.Now().Add(c.cfg.TTL)})
}

// Invalidate drops name's entry, positive or negative.
func (c *Cache) Invalidate(name string) {
	c.invalidations.Add(1)
	c.group.Forget(name)
	c.lru.Remove(name)
}

// Len is the number of entries held (expired ones included until touched).
func (c *Cache) Len() int { return c.lru.Len() }

// Stats returns the counters.
func (c *Cache) Stats() Stats {
	return Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), Invalidations: c.invalidations.Load()}
}
