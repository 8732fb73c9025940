package metastate

import (
	"fmt"
	"time"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Replication (docs/replication.md). A replica — a version or delete
// marker copied from another bucket by the replicator — keeps its source's
// version id (Ver) instead of getting the next one, which makes its write
// idempotent and ordered:
//
//   - a Ver the key already holds is a no-op success (Existed), whatever
//     else happened since (a replicator that crashed before acknowledging
//     its feed position sends the version again);
//   - the key's current version is its record with the greatest Ver, so a
//     replica older than the key's newest record is inserted as a
//     noncurrent version and never becomes current, and two buckets that
//     replicate to each other converge to the same current version;
//   - the partition's version clock moves past the replica's time, so a
//     later local write still gets a greater id than every record of the
//     key (install relies on that).
//
// Replicas are marked REPLICA and never replicated again (the replicator
// skips them).
//
// A replica of a null version (Null: written at its source before
// versioning was enabled) is the key's null version here too, under the
// same Ver: it replaces a null version with a smaller id (whose shards
// become garbage, as a PUT to a suspended bucket replaces the null
// version), and a null version here with a greater id keeps the slot (the
// replica is then a no-op, as an older version never replaces a newer one):
// a key has one null version, the one with the greatest id, on both sides.

// newerNull returns the key's null version when it outranks a null replica
// with id ver (nil: the replica takes the slot).
func (t *trees) newerNull(bucket, key, ver string, null bool) *metapb.ObjectVersion {
	if n := t.nullOf(bucket, key); null && n != nil && n.Ver > ver {
		return n
	}
	return nil
}

// installReplica inserts v, whose Ver its source assigned, and returns the
// version that was current before when v became the key's newest record.
// A null v first removes the key's older null version (newerNull checked).
func (t *trees) installReplica(v *metapb.ObjectVersion, now time.Time) *metapb.ObjectVersion {
	if at, ok := DecodeVer(v.Ver); ok && at.UnixNano() > t.verClock {
		t.verClock = at.UnixNano()
	}
	if n := t.nullOf(v.Bucket, v.Key); v.Null && n != nil {
		t.removeVersion(n, "null version replaced by a replica", now)
	}
	if l := t.latest(v.Bucket, v.Key); l != nil && l.Ver > v.Ver {
		t.vers.ReplaceOrInsert(v) // older than the key's newest record: noncurrent
		if v.Null {
			t.nulls.ReplaceOrInsert(v)
		}
		return nil
	}
	prev := t.current(v.Bucket, v.Key)
	t.addVersion(v)
	return prev
}

func checkReplicaVer(ver string) (metapb.Result, bool) {
	if ver == "" || ver == metapb.NullVersion || !ValidVersionID(ver) {
		return errResult(metapb.ErrBadRequest, fmt.Sprintf("replica: bad version id %q", ver)), false
	}
	return metapb.Result{}, true
}

// commitReplica serves a CommitRequest with Replica set: like commit, but
// the version keeps Final.Ver and no idempotency token applies.
func (t *trees) commitReplica(now time.Time, bucket, key, vid string, r *metapb.CommitRequest) metapb.Result {
	ver := r.Final.Ver
	if res, ok := checkReplicaVer(ver); !ok {
		return res
	}
	p := t.preparing(bucket, key, vid)
	ex := t.byVer(bucket, key, ver)
	if ex == nil {
		ex = t.newerNull(bucket, key, ver, r.Final.Null)
	}
	if ex != nil {
		// Already replicated (a retry, or a second replicator after a
		// takeover): the new attempt's record and shards are not needed.
		if p != nil {
			t.prep.Delete(p)
			t.queueGarbage("replica exists", bucket, key, p.Segments, now)
		}
		return metapb.Result{Version: cloneVersion(ex), Existed: true}
	}
	if res, ok := t.fenced(bucket); ok {
		return res
	}
	if p == nil && len(r.Final.Segments) > 0 {
		return errResult(metapb.ErrConflict, fmt.Sprintf("commit: no PREPARING version %q of %q (aborted?)", vid, key))
	}
	v := cloneVersion(&r.Final)
	v.Format = metapb.FormatV1
	v.Bucket, v.Key, v.VersionID, v.Ver = bucket, key, vid, ver
	v.State = metapb.StateCommitted
	v.CommittedAt = now
	v.Replication = metapb.ReplReplica
	v.Token = ""
	if p != nil {
		if !checkSubset(r.Final.Segments, p.Segments) {
			return errResult(metapb.ErrBadRequest, "commit: final segments reference shards not planned at prepare")
		}
		fillFromPrepared(v, p)
		v.Token = ""
		t.prep.Delete(p)
		t.queueGarbage("unused", bucket, key, unusedSegments(p.Segments, v.Segments), now)
	} else {
		v.PreparedAt = now
		if v.Created.IsZero() {
			v.Created = now
		}
		if len(v.Inline) > 0 && v.Size == 0 {
			v.Size = int64(len(v.Inline))
		}
	}
	replaced := t.installReplica(v, now)
	seq := t.appendFeedVer(metapb.FeedPut, v, now)
	res := metapb.Result{Version: cloneVersion(v), Seq: seq}
	if replaced != nil {
		res.Replaced = cloneVersion(replaced)
	}
	return res
}

// deleteReplica adds a delete marker copied from a source bucket.
func (t *trees) deleteReplica(now time.Time, r *metapb.DeleteRequest) metapb.Result {
	m := r.Replica
	if res, ok := checkReplicaVer(m.Ver); !ok {
		return res
	}
	ex := t.byVer(r.Bucket, r.Key, m.Ver)
	if ex == nil {
		ex = t.newerNull(r.Bucket, r.Key, m.Ver, m.Null)
	}
	if ex != nil {
		return metapb.Result{Version: cloneVersion(ex), Existed: true}
	}
	if res, ok := t.fenced(r.Bucket); ok {
		return res
	}
	created := m.Created
	if created.IsZero() {
		created = now
	}
	v := &metapb.ObjectVersion{
		Format: metapb.FormatV1, Bucket: r.Bucket, Key: r.Key, VersionID: "dm-" + m.Ver, Ver: m.Ver,
		State: metapb.StateDeleteMarker, Owner: r.Owner, Created: created, PreparedAt: now, CommittedAt: now,
		Replication: metapb.ReplReplica, Null: m.Null,
	}
	t.installReplica(v, now)
	seq := t.appendFeedVer(metapb.FeedMarker, v, now)
	return metapb.Result{Version: cloneVersion(v), Seq: seq}
}

// replStatus serves a ReplStatusRequest.
func (t *trees) replStatus(now time.Time, r *metapb.ReplStatusRequest) metapb.Result {
	if r.Bucket == "" || r.Key == "" || r.Ver == "" {
		return errResult(metapb.ErrBadRequest, "replication status: bucket, key and version id are required")
	}
	if r.Status != metapb.ReplCompleted && r.Status != metapb.ReplFailed && r.Status != metapb.ReplPending {
		return errResult(metapb.ErrBadRequest, fmt.Sprintf("replication status: %q is not PENDING, COMPLETED or FAILED", r.Status))
	}
	v := t.byVer(r.Bucket, r.Key, r.Ver)
	if v == nil {
		return metapb.Result{}
	}
	if r.Status == metapb.ReplPending {
		// A resync: a version without a status (written before the rule,
		// null versions included) or FAILED becomes PENDING and is fed to
		// the replicator again.
		if v.Replication != "" && v.Replication != metapb.ReplFailed {
			return metapb.Result{Version: cloneVersion(v), Existed: true}
		}
		c := cloneVersion(v)
		c.Replication = metapb.ReplPending
		t.replaceRecord(v, c)
		op := metapb.FeedPut
		if c.IsDeleteMarker() {
			op = metapb.FeedMarker
		}
		seq := t.appendFeedVer(op, c, now)
		return metapb.Result{Version: cloneVersion(c), Seq: seq}
	}
	if (v.Replication != metapb.ReplPending && v.Replication != metapb.ReplFailed) || v.Replication == r.Status {
		return metapb.Result{Version: cloneVersion(v), Existed: true}
	}
	c := cloneVersion(v)
	c.Replication = r.Status
	t.replaceRecord(v, c)
	return metapb.Result{Version: cloneVersion(c)}
}
