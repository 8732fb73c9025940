package metastate

import (
	"time"

	"github.com/meridian-s3/meridian/internal/s3lock"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Object Lock (metapb/objectlock.go, docs/object-lock.md). The partition is
// where retention is enforced: every path that removes a committed record —
// a delete naming its version, the null version's delete or replacement
// under Off/Suspended versioning — asks protected first, in the same apply,
// and fails with ErrObjectLocked without changing anything. The lifecycle
// expirer and every gateway go through these commands, so none of them can
// remove a protected version; the janitor only reclaims garbage, which a
// protected record never becomes (its shards are queued only when the
// record leaves the state). Heal swaps (CmdReplaceShards) and tag changes
// keep the record, and its lock with it.
//
// Clock: "now" is the command's Time, the leader's clock when it proposed
// the command (the rule of every time-based decision of this package). A
// retention protects while now < Until. A leader whose clock runs ahead by
// d could let a delete through up to d before Until; one that runs behind
// only keeps the version longer. Until itself is written by the gateway
// (a client's date, or the record's Created plus the bucket's default
// period), never computed here.

// retentionOf is v's retention in s3lock's terms, and its legal hold.
func retentionOf(v *metapb.ObjectVersion) (s3lock.Retention, bool) {
	if v == nil || v.Lock == nil {
		return s3lock.Retention{}, false
	}
	return s3lock.Retention{Mode: s3lock.Mode(v.Lock.Mode), Until: v.Lock.Until}, v.Lock.LegalHold
}

// protected reports whether v may not be removed at now.
func protected(v *metapb.ObjectVersion, now time.Time, bypassGovernance bool) bool {
	r, hold := retentionOf(v)
	return s3lock.Protected(r, hold, now, bypassGovernance)
}

func lockedResult(v *metapb.ObjectVersion) metapb.Result {
	return errResult(metapb.ErrObjectLocked, "version "+v.S3VersionID()+" of "+v.Key+" is protected by Object Lock")
}

// nullReplaceLocked is the check before a write that replaces the key's
// null version (mode Off or Suspended): refused when that version is
// protected. With Enabled nothing is replaced.
func (t *trees) nullReplaceLocked(bucket, key string, mode metapb.Versioning, now time.Time) (metapb.Result, bool) {
	if mode == metapb.VersioningEnabled {
		return metapb.Result{}, false
	}
	if n := t.nullOf(bucket, key); n != nil && protected(n, now, false) {
		return lockedResult(n), true
	}
	return metapb.Result{}, false
}

func (t *trees) putLock(now time.Time, r *metapb.PutLockRequest) metapb.Result {
	if r.Bucket == "" || r.Key == "" || r.Ver == "" {
		return errResult(metapb.ErrBadRequest, "put lock: bucket, key and version id are required")
	}
	if r.Retention != nil && r.Retention.Mode != "" && !s3lock.Mode(r.Retention.Mode).Valid() {
		return errResult(metapb.ErrBadRequest, "put lock: unknown retention mode "+r.Retention.Mode)
	}
	v, bad := t.namedVersion("put lock", r.Bucket, r.Key, r.Ver)
	if bad != nil {
		return *bad
	}
	cur, hold := retentionOf(v)
	next := cur
	if r.Retention != nil {
		next = s3lock.Retention{Mode: s3lock.Mode(r.Retention.Mode), Until: r.Retention.Until.UTC()}
		if next.Mode == "" {
			next = s3lock.Retention{}
		}
		if !s3lock.RetentionChange(cur, next, now, r.BypassGovernance) {
			return lockedResult(v)
		}
	}
	if r.LegalHold != nil {
		hold = *r.LegalHold
	}
	c := cloneVersion(v)
	c.Lock = nil
	if !next.IsZero() || hold {
		c.Lock = &metapb.ObjectLock{Mode: string(next.Mode), Until: next.Until, LegalHold: hold}
	}
	t.replaceRecord(v, c)
	return metapb.Result{Version: cloneVersion(c)}
}

func cloneLock(l *metapb.ObjectLock) *metapb.ObjectLock {
	if l == nil {
		return nil
	}
	c := *l
	return &c
}
