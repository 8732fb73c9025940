package metapb

// Object ACLs (ObjectVersion.ACL, Upload.ACL): the grants of
// internal/s3acl's model as the record stores them. The object's owner is
// the record's Owner. Nil: S3's default ACL, the owner's FULL_CONTROL.

// ObjectACL is an object version's access control list.
type ObjectACL struct {
	Grants []Grant `json:"grants"`
}

// Grant gives one grantee one permission. Type is "CanonicalUser" (ID set)
// or "Group" (URI set); Permission is spelled as S3 spells it.
type Grant struct {
	Type       string `json:"type"`
	ID         string `json:"id,omitempty"`
	URI        string `json:"uri,omitempty"`
	Permission string `json:"perm"`
}

// Clone deep-copies a (nil stays nil).
func (a *ObjectACL) Clone() *ObjectACL {
	if a == nil {
		return nil
	}
	return &ObjectACL{Grants: append([]Grant{}, a.Grants...)}
}

// PutACLRequest replaces the ACL of one committed object version: the
// version Ver names ("null" or an id), or with Ver empty the key's newest
// record. ACL nil restores the default. The record keeps everything else,
// its owner included. Errors as PutTagsRequest's (ErrNotFound,
// ErrMethodNotAllowed for a delete marker). Result.Version is the record
// after the change.
type PutACLRequest struct {
	Bucket string     `json:"bucket"`
	Key    string     `json:"key"`
	Ver    string     `json:"ver,omitempty"`
	ACL    *ObjectACL `json:"acl,omitempty"`
}
