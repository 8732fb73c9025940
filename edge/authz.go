package edge

// Authorization at the edge. The edge decides only the bucket operations
// it answers itself (HeadBucket, GetBucketLocation, DeleteBucket), with
// the same engine as the regions (internal/s3authz). Every other request
// is decided at the bucket's home region, which reads the catalog entry
// afresh for each request; the edge forwards the facts the conditions
// need (who, from where, over TLS or not, how authenticated) as link
// headers (regionalclient.HeaderAnonymous and following).

import (
	"context"
	"net"
	"net/http"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3authz"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/internal/s3route"
	"github.com/meridian-s3/meridian/regional/regionalclient"
)

// facts are what the edge knows of the request for authorization.
func (s *Server) facts(req *request) s3authz.Facts {
	r := req.r
	f := s3authz.Facts{Now: s.cfg.Now(), SecureTransport: r.TLS != nil, ContentSHA256: r.Header.Get("X-Amz-Content-Sha256")}
	if req.anonymous || req.principal == "" {
		f.Requester = s3authz.Requester{Anonymous: true}
	} else {
		f.Requester = s3authz.Requester{Account: req.principal, AccessKey: req.auth.AccessKeyID}
		f.AuthType, f.SignatureVersion = s3authz.AuthTypeHeader, s3authz.SigV4
		if req.auth.Presigned {
			f.AuthType = s3authz.AuthTypeQuery
		}
		if req.auth.SignatureV2 {
			f.SignatureVersion = s3authz.SigV2
		}
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		f.SourceIP = host
	}
	return f
}

// authzHeaders writes the facts onto a forwarded request.
func (s *Server) authzHeaders(req *request, h http.Header) {
	f := s.facts(req)
	if f.Requester.Anonymous && !req.formPost {
		h.Set(regionalclient.HeaderAnonymous, "1")
	}
	if f.SourceIP != "" {
		h.Set(regionalclient.HeaderSourceIP, f.SourceIP)
	}
	if f.SecureTransport {
		h.Set(regionalclient.HeaderSecureTransport, "true")
	} else {
		h.Set(regionalclient.HeaderSecureTransport, "false")
	}
	if f.AuthType != "" {
		h.Set(regionalclient.HeaderAuthType, f.AuthType)
		h.Set(regionalclient.HeaderSignatureVersion, f.SignatureVersion)
	}
	if f.ContentSHA256 != "" {
		h.Set(regionalclient.HeaderContentSHA256, f.ContentSHA256)
	}
}

// authorizedBucket returns the bucket when the requester may do the
// request's operation on it. The cached catalog entry decides for the
// owner of a bucket without a policy (the common case); any other
// requester, or a bucket with a policy, is decided on a fresh read, so a
// policy change applies at once to what the edge answers itself.
func (s *Server) authorizedBucket(req *request) (bucketsvc.Bucket, error) {
	ctx := req.r.Context()
	b, err := s.buckets.Get(ctx, req.bucket)
	if err != nil {
		return b, err
	}
	owner := !req.anonymous && req.principal != "" && req.principal == b.Owner
	if owner && b.Policy == "" {
		return b, nil
	}
	if b, err = s.cfg.Catalog.GetBucket(ctx, req.bucket); err != nil {
		return b, err
	}
	s.buckets.Put(b)
	return b, s.allow(req, b, s3authz.ActionOf(req.op, false))
}

// allow decides action on b for req.
func (s *Server) allow(req *request, b bucketsvc.Bucket, action s3authz.Action) error {
	f := s.facts(req)
	if b.Policy == "" && !f.Requester.Anonymous && f.Requester.Account == b.Owner {
		return nil // the fast path: the owner, no policy
	}
	pol, err := s.policies.Get(b.Name, b.Policy)
	if err != nil {
		req.log.Warn("stored bucket policy does not parse; ignored", "err", err)
		pol = nil
	}
	in := s3authz.Request{Action: action, Bucket: b.Name, Requester: f.Requester, BucketOwner: b.Owner,
		Policy: pol, ACLsDisabled: !b.Ownership.ACLsEnabled(), BucketACL: b.ACL,
		BucketPAB: bucketPAB(b),
		Context:   s3authz.NewContext(f, req.r.Header, req.r.URL.Query(), false, nil)}
	res := s3authz.Evaluate(&in)
	if res.Allowed() && (f.Requester.Anonymous || f.Requester.Account != b.Owner) {
		// Allowed by a policy or an ACL: the owner's account-level Block
		// Public Access may take it back.
		if c, ok := s.cfg.Catalog.(interface {
			GetAccountPublicAccessBlock(ctx context.Context, account string) (*s3authz.PublicAccessBlock, error)
		}); ok {
			acct, err := c.GetAccountPublicAccessBlock(req.r.Context(), b.Owner)
			if err != nil {
				return err
			}
			if acct != nil {
				in.AccountPAB = *acct
				res = s3authz.Evaluate(&in)
			}
		}
	}
	if !res.Allowed() {
		req.log.Info("access denied", "action", string(action), "decision", res.Decision.String(), "reason", res.Reason, "sid", res.Sid)
		return s3err.New(s3err.AccessDenied)
	}
	return nil
}

// changesBucketConfig: operations after whose success the edge drops its
// cached catalog entry of the bucket, so what this edge answers from the
// entry (and routes by) is current at once; other edges' entries expire
// within Config.CacheTTL (docs/access-control.md).
func changesBucketConfig(op s3route.Operation) bool {
	switch op {
	case s3route.PutBucketPolicy, s3route.DeleteBucketPolicy,
		s3route.PutPublicAccessBlock, s3route.DeletePublicAccessBlock,
		s3route.PutBucketAcl, s3route.PutBucketOwnershipControls, s3route.DeleteBucketOwnershipControls,
		s3route.PutBucketCors, s3route.DeleteBucketCors,
		s3route.PutBucketVersioning, s3route.PutObjectLockConfiguration,
		s3route.PutBucketEncryption, s3route.DeleteBucketEncryption:
		return true
	}
	return false
}

func bucketPAB(b bucketsvc.Bucket) s3authz.PublicAccessBlock {
	if b.PublicAccessBlock == nil {
		return s3authz.PublicAccessBlock{}
	}
	return *b.PublicAccessBlock
}

// policyCacheSize bounds the parsed policies the edge keeps.
const policyCacheSize = 10_000
