package s3authz

import (
	"github.com/meridian-s3/meridian/internal/s3acl"
)

// Decision is the engine's answer.
type Decision uint8

const (
	ImplicitDeny Decision = iota // nothing allows: AccessDenied
	Allow
	ExplicitDeny // a policy statement denies: AccessDenied whoever asks
)

func (d Decision) String() string {
	switch d {
	case Allow:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "ImplicitDeny"
}

// Result is a decision with the reason for it (logged, never sent).
type Result struct {
	Decision Decision
	Reason   string
	Sid      string // the deciding statement's Sid, when a statement decided
}

// Allowed reports whether the decision is Allow.
func (r Result) Allowed() bool { return r.Decision == Allow }

// Requester is who asks: anonymous, or an account (by one of its keys).
type Requester struct {
	Anonymous bool
	Account   string // "" when Anonymous
	AccessKey string
}

// Request is everything one decision needs.
type Request struct {
	Action    Action
	Bucket    string
	Key       string // "" for a bucket-level action
	Requester Requester

	BucketOwner string
	// ObjectOwner is the account that owns the object (the writer, under
	// ObjectWriter or BucketOwnerPreferred); "" means the bucket owner.
	ObjectOwner string

	Policy    *Policy    // nil: no bucket policy
	BucketACL *s3acl.ACL // nil: the owner-only default
	ObjectACL *s3acl.ACL // nil: the owner-only default, or not an object request
	// ACLsDisabled is the ownership setting BucketOwnerEnforced: ACLs
	// neither grant nor are consulted.
	ACLsDisabled bool
	// Block Public Access of the bucket and of the owner's account (the
	// effective setting is their union).
	BucketPAB  PublicAccessBlock
	AccountPAB PublicAccessBlock

	Context *Context // condition keys; nil: none
}

// Evaluate decides req (see the package comment for the precedence).
func Evaluate(req *Request) Result {
	var allowSid string
	policyAllows := false
	if p := req.Policy; p != nil {
		resource := req.Bucket
		if req.Key != "" {
			resource = req.Bucket + "/" + req.Key
		}
		for i := range p.Statements {
			st := &p.Statements[i]
			if !st.applies(req, resource) {
				continue
			}
			if st.Effect == EffectDeny {
				return Result{Decision: ExplicitDeny, Reason: "denied by bucket policy", Sid: st.Sid}
			}
			if !policyAllows {
				policyAllows, allowSid = true, st.Sid
			}
		}
	}
	pab := req.BucketPAB.Union(req.AccountPAB)
	r := req.Requester
	sameAccount := !r.Anonymous && r.Account != "" && r.Account == req.BucketOwner
	if sameAccount && req.ownerHasObject() {
		return Result{Decision: Allow, Reason: "bucket owner"}
	}
	if policyAllows {
		if !(pab.RestrictPublicBuckets && !sameAccount && req.Policy.IsPublic()) {
			return Result{Decision: Allow, Reason: "allowed by bucket policy", Sid: allowSid}
		}
	}
	if !req.ACLsDisabled && !r.Anonymous && r.Account != "" && req.Key != "" && r.Account == req.ObjectOwner {
		// The object's own writer (ACLs enabled: it owns the object).
		return Result{Decision: Allow, Reason: "object owner"}
	}
	if !req.ACLsDisabled {
		if perm, onObject := aclPermission(req.Action); perm != "" {
			acl := req.BucketACL
			if onObject {
				acl = req.ObjectACL
			}
			if acl != nil && aclAllows(acl, r, perm, pab.IgnorePublicAcls) {
				return Result{Decision: Allow, Reason: "granted by ACL"}
			}
		}
	}
	return Result{Decision: ImplicitDeny, Reason: "no policy statement or ACL grant allows"}
}

// ownerHasObject: the bucket owner's identity covers the request — every
// bucket-level action, and object actions unless the object belongs to
// another account under an ownership setting that keeps ACLs (then the
// bucket owner needs a grant like anyone else, except to delete it).
func (req *Request) ownerHasObject() bool {
	if req.Key == "" || req.ACLsDisabled || req.ObjectOwner == "" || req.ObjectOwner == req.BucketOwner {
		return true
	}
	switch req.Action {
	case ActionDeleteObject, ActionDeleteObjectVersion, ActionBypassGovernanceRetention:
		return true
	}
	return false
}

// Allowed is the question other parts ask ("may this requester do action
// on this resource?"): Evaluate(req) with req.Action replaced.
func Allowed(req Request, action Action) bool {
	req.Action = action
	return Evaluate(&req).Allowed()
}

// aclPermission is the ACL permission S3 checks for an action, and whether
// it is checked on the object's ACL (else the bucket's).
func aclPermission(a Action) (s3acl.Permission, bool) {
	switch a {
	case "s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTorrent", "s3:GetObjectVersionTorrent",
		"s3:GetObjectAttributes", "s3:GetObjectVersionAttributes":
		return s3acl.Read, true
	case "s3:GetObjectAcl", "s3:GetObjectVersionAcl":
		return s3acl.ReadACP, true
	case "s3:PutObjectAcl", "s3:PutObjectVersionAcl":
		return s3acl.WriteACP, true
	case "s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads":
		return s3acl.Read, false
	case "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload",
		"s3:ListMultipartUploadParts":
		return s3acl.Write, false
	case "s3:GetBucketAcl":
		return s3acl.ReadACP, false
	case "s3:PutBucketAcl":
		return s3acl.WriteACP, false
	}
	return "", false
}

func aclAllows(acl *s3acl.ACL, r Requester, p s3acl.Permission, ignorePublic bool) bool {
	req := s3acl.Requester{Anonymous: r.Anonymous, AccountID: r.Account}
	if !ignorePublic || !acl.IsPublic() {
		return acl.Allows(req, p)
	}
	private := s3acl.ACL{Owner: acl.Owner}
	for _, g := range acl.Grants {
		if g.Grantee.Type == s3acl.Group && (g.Grantee.URI == s3acl.AllUsers || g.Grantee.URI == s3acl.AuthenticatedUsers) {
			continue
		}
		private.Grants = append(private.Grants, g)
	}
	return private.Allows(req, p)
}

// applies reports whether the statement matches the request (principal,
// action, resource, conditions), whatever its effect.
func (st *Statement) applies(req *Request, resource string) bool {
	if st.Principal.matches(req.Requester) == st.NotPrincipal {
		return false
	}
	if matchAny(st.Actions, string(req.Action), true) == st.NotAction {
		return false
	}
	if matchAny(st.Resources, resource, false) == st.NotResource {
		return false
	}
	for i := range st.Conditions {
		if !st.Conditions[i].eval(req.Context) {
			return false
		}
	}
	return true
}

func matchAny(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if wildMatch(p, s, fold) {
			return true
		}
	}
	return false
}

func (p Principals) matches(r Requester) bool {
	if p.Any {
		return true
	}
	if r.Anonymous || r.Account == "" {
		return false
	}
	for _, a := range p.Accounts {
		if a == r.Account {
			return true
		}
	}
	return false
}
