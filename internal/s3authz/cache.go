package s3authz

import (
	lru "github.com/hashicorp/golang-lru/v2"
)

// PolicyCache keeps parsed policies by bucket, so a request parses its
// bucket's policy only when the document changed (parsing a 20-statement
// policy costs far more than evaluating it). Safe for concurrent use.
type PolicyCache struct {
	c *lru.Cache[string, cachedPolicy]
}

type cachedPolicy struct {
	doc string
	p   *Policy
	err error
}

// NewPolicyCache keeps up to size buckets' policies.
func NewPolicyCache(size int) *PolicyCache {
	c, err := lru.New[string, cachedPolicy](max(size, 1))
	if err != nil {
		panic(err) // only for size <= 0, excluded above
	}
	return &PolicyCache{c: c}
}

// Get returns bucket's parsed policy doc ("" → nil, nil). A stored
// document that no longer parses (it was stored by an older validator)
// returns its error.
func (pc *PolicyCache) Get(bucket, doc string) (*Policy, error) {
	if doc == "" {
		return nil, nil
	}
	if e, ok := pc.c.Get(bucket); ok && e.doc == doc {
		return e.p, e.err
	}
	p, err := ParsePolicy([]byte(doc), bucket)
	pc.c.Add(bucket, cachedPolicy{doc: doc, p: p, err: err})
	return p, err
}
