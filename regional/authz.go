package regional

// Authorization: every request that names a bucket is decided by the
// engine (internal/s3authz) in bucketFor, from the catalog entry the
// request just read (the gateway keeps no cache of it, so a policy change
// applies to the next request: docs/access-control.md). Object-level
// facts (the object's tags for s3:ExistingObjectTag) are read only when
// the bucket's policy asks for them; the owner's requests on a bucket
// without a policy take the fast path (no parse, no evaluation).

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3authz"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/internal/s3route"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/regionalclient"
)

// policyCacheSize bounds the parsed policies the gateway keeps.
const policyCacheSize = 10_000

// requester is who sends req, as the engine names it.
func (req *request) requester() s3authz.Requester {
	if req.principal == "" {
		return s3authz.Requester{Anonymous: true}
	}
	r := s3authz.Requester{Account: req.principal}
	if req.auth != nil {
		r.AccessKey = req.auth.AccessKeyID
	}
	return r
}

// facts are the request's authorization facts: from the edge's link
// headers on the edge listener, from the connection otherwise.
func (g *Gateway) facts(req *request) s3authz.Facts {
	r := req.r
	f := s3authz.Facts{Requester: req.requester(), Now: time.Now()}
	if _, ok := edgeFrom(r); ok {
		f.SourceIP = r.Header.Get(regionalclient.HeaderSourceIP)
		f.SecureTransport = r.Header.Get(regionalclient.HeaderSecureTransport) == "true"
		f.AuthType = r.Header.Get(regionalclient.HeaderAuthType)
		f.SignatureVersion = r.Header.Get(regionalclient.HeaderSignatureVersion)
		f.ContentSHA256 = r.Header.Get(regionalclient.HeaderContentSHA256)
	} else {
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			f.SourceIP = host
		}
		f.SecureTransport = r.TLS != nil
		f.ContentSHA256 = r.Header.Get("X-Amz-Content-Sha256")
		if a := req.auth; a != nil && !a.Anonymous {
			f.AuthType, f.SignatureVersion = s3authz.AuthTypeHeader, s3authz.SigV4
			if a.Presigned {
				f.AuthType = s3authz.AuthTypeQuery
			}
			if a.SignatureV2 {
				f.SignatureVersion = s3authz.SigV2
			}
		}
	}
	if req.op == s3route.PostObject && !f.Requester.Anonymous {
		f.AuthType = s3authz.AuthTypePOST
	}
	return f
}

// conditionContext builds (once per request) the condition keys.
func (g *Gateway) conditionContext(req *request) *s3authz.Context {
	if req.authzCtx != nil {
		return req.authzCtx
	}
	var tags map[string]string
	switch req.op {
	case s3route.PutObject, s3route.CreateMultipartUpload, s3route.CopyObject, s3route.PostObject:
		tags, _ = requestTags(req.r) // a bad header is refused by the handler
	}
	list := false
	switch req.op {
	case s3route.ListObjects, s3route.ListObjectsV2, s3route.ListObjectVersions:
		list = true
	}
	req.authzCtx = s3authz.NewContext(g.facts(req), req.r.Header, req.r.URL.Query(), list, tags)
	return req.authzCtx
}

// authorize decides the request's operation on b (called by bucketFor).
// DeleteObjects is decided per key by its handler (allowKey).
func (g *Gateway) authorize(req *request, b bucketsvc.Bucket) error {
	if req.op == s3route.DeleteObjects {
		return nil
	}
	_, versioned := req.r.URL.Query()["versionId"]
	return g.allow(req, b, s3authz.ActionOf(req.op, versioned && req.key != ""), req.key)
}

// allow answers nil when the requester may do action on b's key ("" for
// the bucket itself), AccessDenied otherwise. Other parts ask it for the
// permissions checked inside an operation (for instance
// s3authz.ActionBypassGovernanceRetention on a locked version's key).
func (g *Gateway) allow(req *request, b bucketsvc.Bucket, action s3authz.Action, key string) error {
	res, err := g.decide(req, b, action, key)
	if err != nil {
		return err
	}
	if !res.Allowed() {
		req.log.Info("access denied", "action", string(action), "decision", res.Decision.String(), "reason", res.Reason, "sid", res.Sid)
		return s3err.New(s3err.AccessDenied)
	}
	return nil
}

// decide runs the engine for action on b's key.
func (g *Gateway) decide(req *request, b bucketsvc.Bucket, action s3authz.Action, key string) (s3authz.Result, error) {
	who := req.requester()
	if b.Policy == "" && !who.Anonymous && who.Account == b.Owner {
		return s3authz.Result{Decision: s3authz.Allow, Reason: "bucket owner"}, nil // the fast path
	}
	pol, err := g.policies.Get(b.Name, b.Policy)
	if err != nil {
		// A stored policy the validator now refuses: it grants nothing
		// and denies nothing; the owner can still replace it.
		req.log.Warn("stored bucket policy does not parse; ignored", "err", err)
		pol = nil
	}
	in := s3authz.Request{
		Action: action, Bucket: b.Name, Key: key, Requester: who, BucketOwner: b.Owner,
		Policy: pol, Context: g.conditionContext(req),
		ACLsDisabled: !b.Ownership.ACLsEnabled(), BucketACL: b.ACL,
		BucketPAB: bucketPAB(b), // publicaccessblock.go
	}
	read := false
	if key != "" && pol.NeedsObject() {
		if err := g.objectInputs(req, b, key, &in); err != nil {
			return s3authz.Result{}, err
		}
		read = true
	}
	res := s3authz.Evaluate(&in)
	if res.Decision == s3authz.ImplicitDeny && key != "" && !read && !in.ACLsDisabled {
		// With ACLs in force the object's record (its owner, its ACL) may
		// still allow: read it only now, off the allowed requests' path.
		if err := g.objectInputs(req, b, key, &in); err != nil {
			return s3authz.Result{}, err
		}
		res = s3authz.Evaluate(&in)
	}
	if res.Allowed() && (who.Anonymous || who.Account != b.Owner) {
		// Another account or anonymous, allowed by a policy or an ACL:
		// the owner's account-level Block Public Access may take that
		// back (RestrictPublicBuckets, IgnorePublicAcls). Read only here,
		// off the owner's path.
		acct, err := g.accountPAB(req.r.Context(), b.Owner) // publicaccessblock.go
		if err != nil {
			return s3authz.Result{}, err
		}
		if acct != (s3authz.PublicAccessBlock{}) {
			in.AccountPAB = acct
			res = s3authz.Evaluate(&in)
		}
	}
	return res, nil
}

// objectInputs reads the object's record for a decision that needs it:
// its tags (s3:ExistingObjectTag), its owner and ACL. A missing object
// has none.
func (g *Gateway) objectInputs(req *request, b bucketsvc.Bucket, key string, in *s3authz.Request) error {
	ctx := req.r.Context()
	var v metapb.ObjectVersion
	var err error
	if id, named := s3api.VersionIDParam(req.r.URL.Query()); named && b.Versioning != bucketsvc.VersioningOff && key == req.key {
		v, err = g.cfg.Meta.GetVer(ctx, b.MetaKey(), key, id)
	} else {
		v, err = g.cfg.Meta.Latest(ctx, b.MetaKey(), key)
	}
	switch {
	case errors.Is(err, metaclient.ErrNotFound):
		in.Context.AddObjectTags(nil)
		return nil
	case err != nil:
		return err
	}
	in.ObjectOwner = v.Owner
	acl := ObjectACL(b, v) // acl.go
	in.ObjectACL = &acl
	in.Context.AddObjectTags(v.Tags)
	return nil
}

// allowKey decides one key of a DeleteObjects request.
func (g *Gateway) allowKey(req *request, b bucketsvc.Bucket, key string, versioned bool) error {
	a := s3authz.ActionDeleteObject
	if versioned {
		a = s3authz.ActionDeleteObjectVersion
	}
	return g.allow(req, b, a, key)
}

// hideMissing: a requester who may not list the bucket learns nothing
// from a missing key — S3 answers AccessDenied instead of NoSuchKey (and
// 404 to one who has s3:ListBucket).
func (g *Gateway) hideMissing(req *request, err error) error {
	if req.bkt == nil || req.key == "" {
		return err
	}
	var e *s3err.Error
	if !errors.As(err, &e) && errors.Is(err, metaclient.ErrNotFound) {
		e = s3err.New(s3err.NoSuchKey)
	}
	if e == nil || (e.Code != s3err.NoSuchKey && e.Code != s3err.NoSuchVersion) {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(req.r.Context()), 5*time.Second)
	defer cancel()
	sub := *req
	sub.r = req.r.WithContext(ctx)
	res, derr := g.decide(&sub, *req.bkt, s3authz.ActionListBucket, "")
	if derr != nil || !res.Allowed() {
		req.w.Header().Del("x-amz-delete-marker")
		req.w.Header().Del("x-amz-version-id")
		return s3err.New(s3err.AccessDenied)
	}
	return err
}

// anonymousAllowed: which operations an unsigned request may reach
// authorization with at all. Creating buckets and listing "my buckets"
// need an account.
func anonymousAllowed(op s3route.Operation) bool {
	switch op {
	case s3route.ListBuckets, s3route.CreateBucket:
		return false
	}
	return true
}
