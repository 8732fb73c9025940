package metastate

import (
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Object ACLs (metapb.PutACLRequest): like a tag change (tagging.go), an
// ACL change replaces one committed record by a copy with the new ACL
// (replaceRecord). It writes no feed entry: the replicator carries a
// version's ACL when it copies the version, not later changes
// (docs/access-control.md).
func (t *trees) putACL(r *metapb.PutACLRequest) metapb.Result {
	if r.Bucket == "" || r.Key == "" {
		return errResult(metapb.ErrBadRequest, "put acl: bucket and key are required")
	}
	v, bad := t.namedVersion("put acl", r.Bucket, r.Key, r.Ver)
	if bad != nil {
		return *bad
	}
	c := cloneVersion(v)
	c.ACL = r.ACL.Clone()
	t.replaceRecord(v, c)
	return metapb.Result{Version: cloneVersion(c)}
}
