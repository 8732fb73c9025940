// Package bucketcache maps bucket names to their catalog entries (and so to
// their home regions) for the edge, in front of bucketsvc.
//
// It is a size-bounded LRU (hashicorp/golang-lru/v2) whose entries carry
// their own expiry read from an injected clock: positive entries live TTL,
// negative entries ("no such bucket") NegativeTTL. The expirable LRU of the
// same module is not used because it starts a cleanup goroutine that can
// never be stopped and reads the wall clock, so TTLs could not be tested
// with a fake clock. Concurrent misses on one name share one catalog read
// (singleflight). Invalidate drops an entry: the edge calls it when a region
// answers NoSuchBucket and when a bucket is deleted through it.
package bucketcache
