package s3authz

import (
	"testing"

	"github.com/meridian-s3/meridian/internal/s3acl"
	"github.com/meridian-s3/meridian/internal/s3route"
)

const (
	owner = "acct-owner"
	other = "acct-other"
)

var (
	anon    = Requester{Anonymous: true}
	byOwner = Requester{Account: owner, AccessKey: "MKOWNER"}
	byOther = Requester{Account: other, AccessKey: "MKOTHER"}
)

func mustPolicy(t testing.TB, doc string) *Policy {
	t.Helper()
	p, err := ParsePolicy([]byte(doc), "photos")
	if err != nil {
		t.Fatalf("ParsePolicy: %v", err)
	}
	return p
}

func ctxOf(kv ...string) *Context {
	c := &Context{}
	for i := 0; i+1 < len(kv); i += 2 {
		c.Set(kv[i], kv[i+1])
	}
	return c
}

// The policies of AWS's "Examples of Amazon S3 bucket policies", adapted
// to the bucket "photos" and Meridian account ids.
const (
	publicPrefix = `{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:GetObjectVersion"],"Resource":"arn:aws:s3:::photos/public/*"}]}`
	denyNoTLS    = `{"Version":"2012-10-17","Statement":[{"Sid":"TLSOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::photos","arn:aws:s3:::photos/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	ipAllowList  = `{"Version":"2012-10-17","Statement":[{"Sid":"IPAllow","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::photos","arn:aws:s3:::photos/*"],"Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","2001:db8::/32"]}}}]}`
	crossAccount = `{"Version":"2012-10-17","Statement":[{"Sid":"CrossAccount","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::acct-other:root"},"Action":["s3:GetObject","s3:PutObject","s3:ListBucket"],"Resource":["arn:aws:s3:::photos","arn:aws:s3:::photos/*"]}]}`
	denyDelete   = `{"Version":"2012-10-17","Statement":[{"Sid":"NoDelete","Effect":"Deny","Principal":"*","Action":["s3:DeleteObject","s3:DeleteObjectVersion"],"Resource":"arn:aws:s3:::photos/*"},{"Effect":"Allow","Principal":{"AWS":"acct-other"},"Action":"s3:*","Resource":["arn:aws:s3:::photos","arn:aws:s3:::photos/*"]}]}`
	tagBased     = `{"Version":"2012-10-17","Statement":[{"Sid":"TagRead","Effect":"Allow","Principal":{"AWS":"acct-other"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/environment":"production"}}},{"Sid":"TagWrite","Effect":"Allow","Principal":{"AWS":"acct-other"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::photos/*","Condition":{"ForAllValues:StringLike":{"s3:RequestObjectTagKeys":["Department","Project*"]}}}]}`
	prefixList   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"acct-other"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::photos","Condition":{"StringLike":{"s3:prefix":["home/other/*",""]},"NumericLessThanEquals":{"s3:max-keys":"100"}}}]}`
	timeWindow   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},"DateGreaterThan":{"aws:EpochTime":"1600000000"}}}]}`
	denyOwner    = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"acct-owner"},"Action":"s3:PutBucketPolicy","Resource":"arn:aws:s3:::photos"}]}`
	notPrincipal = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"acct-owner"},"Action":"s3:*","Resource":"arn:aws:s3:::photos/*"}]}`
	requireSSE   = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::photos/*","Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}},{"Effect":"Allow","Principal":{"AWS":"acct-other"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::photos/*"}]}`
	nullKey      = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"Null":{"aws:Referer":"false"},"StringLikeIfExists":{"aws:UserAgent":"curl/*"}}}]}`
)

func TestEvaluate(t *testing.T) {
	public := s3acl.ACL{Owner: owner, Grants: []s3acl.Grant{{Grantee: s3acl.Grantee{Type: s3acl.Group, URI: s3acl.AllUsers}, Permission: s3acl.Read}}}
	grantOther := s3acl.ACL{Owner: owner, Grants: []s3acl.Grant{{Grantee: s3acl.Grantee{Type: s3acl.CanonicalUser, ID: other}, Permission: s3acl.Write}}}
	cases := []struct {
		name   string
		policy string
		req    Request
		want   Decision
	}{
		// Identity: the owner's account, no policy.
		{"owner no policy", "", Request{Action: "s3:GetObject", Key: "k", Requester: byOwner}, Allow},
		{"owner bucket op", "", Request{Action: "s3:PutBucketPolicy", Requester: byOwner}, Allow},
		{"other no policy", "", Request{Action: "s3:GetObject", Key: "k", Requester: byOther}, ImplicitDeny},
		{"anon no policy", "", Request{Action: "s3:GetObject", Key: "k", Requester: anon}, ImplicitDeny},

		// Public read of a prefix.
		{"public prefix anon", publicPrefix, Request{Action: "s3:GetObject", Key: "public/cat.jpg", Requester: anon}, Allow},
		{"public prefix version", publicPrefix, Request{Action: "s3:GetObjectVersion", Key: "public/cat.jpg", Requester: anon}, Allow},
		{"public prefix outside", publicPrefix, Request{Action: "s3:GetObject", Key: "private/cat.jpg", Requester: anon}, ImplicitDeny},
		{"public prefix put", publicPrefix, Request{Action: "s3:PutObject", Key: "public/cat.jpg", Requester: anon}, ImplicitDeny},
		{"public prefix list", publicPrefix, Request{Action: "s3:ListBucket", Requester: anon}, ImplicitDeny},
		{"public prefix RestrictPublicBuckets", publicPrefix, Request{Action: "s3:GetObject", Key: "public/cat.jpg", Requester: anon, BucketPAB: PublicAccessBlock{RestrictPublicBuckets: true}}, ImplicitDeny},
		{"public prefix account RPB", publicPrefix, Request{Action: "s3:GetObject", Key: "public/cat.jpg", Requester: byOther, AccountPAB: PublicAccessBlock{RestrictPublicBuckets: true}}, ImplicitDeny},
		{"public prefix RPB owner", publicPrefix, Request{Action: "s3:GetObject", Key: "public/cat.jpg", Requester: byOwner, BucketPAB: PublicAccessBlock{RestrictPublicBuckets: true}}, Allow},

		// Deny unless TLS: applies to the owner too.
		{"tls owner plain", denyNoTLS, Request{Action: "s3:GetObject", Key: "k", Requester: byOwner, Context: ctxOf("aws:SecureTransport", "false")}, ExplicitDeny},
		{"tls owner tls", denyNoTLS, Request{Action: "s3:GetObject", Key: "k", Requester: byOwner, Context: ctxOf("aws:SecureTransport", "true")}, Allow},
		{"tls bucket op", denyNoTLS, Request{Action: "s3:ListBucket", Requester: byOwner, Context: ctxOf("aws:securetransport", "FALSE")}, ExplicitDeny},

		// IP allow-list (deny outside).
		{"ip inside v4", ipAllowList, Request{Action: "s3:GetObject", Key: "k", Requester: byOwner, Context: ctxOf("aws:SourceIp", "192.0.2.77")}, Allow},
		{"ip outside v4", ipAllowList, Request{Action: "s3:GetObject", Key: "k", Requester: byOwner, Context: ctxOf("aws:SourceIp", "198.51.100.1")}, ExplicitDeny},
		{"ip inside v6", ipAllowList, Request{Action: "s3:GetObject", Key: "k", Requester: byOwner, Context: ctxOf("aws:SourceIp", "2001:db8::1")}, Allow},
		{"ip mapped v4", ipAllowList, Request{Action: "s3:GetObject", Key: "k", Requester: byOwner, Context: ctxOf("aws:SourceIp", "::ffff:192.0.2.1")}, Allow},
		{"ip missing", ipAllowList, Request{Action: "s3:GetObject", Key: "k", Requester: byOwner}, ExplicitDeny},

		// Cross-account grant.
		{"cross get", crossAccount, Request{Action: "s3:GetObject", Key: "a/b", Requester: byOther}, Allow},
		{"cross list", crossAccount, Request{Action: "s3:ListBucket", Requester: byOther}, Allow},
		{"cross delete", crossAccount, Request{Action: "s3:DeleteObject", Key: "a/b", Requester: byOther}, ImplicitDeny},
		{"cross third account", crossAccount, Request{Action: "s3:GetObject", Key: "a/b", Requester: Requester{Account: "acct-third"}}, ImplicitDeny},
		{"cross anon", crossAccount, Request{Action: "s3:GetObject", Key: "a/b", Requester: anon}, ImplicitDeny},
		{"cross not public so RPB keeps it", crossAccount, Request{Action: "s3:GetObject", Key: "a/b", Requester: byOther, BucketPAB: PublicAccessBlock{RestrictPublicBuckets: true}}, Allow},

		// Deny delete beats any Allow, the owner included.
		{"deny delete other", denyDelete, Request{Action: "s3:DeleteObject", Key: "k", Requester: byOther}, ExplicitDeny},
		{"deny delete owner", denyDelete, Request{Action: "s3:DeleteObjectVersion", Key: "k", Requester: byOwner}, ExplicitDeny},
		{"deny delete get", denyDelete, Request{Action: "s3:GetObject", Key: "k", Requester: byOther}, Allow},

		// Tag-based access.
		{"tag prod", tagBased, Request{Action: "s3:GetObject", Key: "k", Requester: byOther, Context: ctxOf("s3:ExistingObjectTag/environment", "production")}, Allow},
		{"tag dev", tagBased, Request{Action: "s3:GetObject", Key: "k", Requester: byOther, Context: ctxOf("s3:ExistingObjectTag/environment", "dev")}, ImplicitDeny},
		{"tag key case", tagBased, Request{Action: "s3:GetObject", Key: "k", Requester: byOther, Context: ctxOf("s3:ExistingObjectTag/Environment", "production")}, ImplicitDeny},
		{"tag none", tagBased, Request{Action: "s3:GetObject", Key: "k", Requester: byOther}, ImplicitDeny},
		{"tag keys ok", tagBased, Request{Action: "s3:PutObject", Key: "k", Requester: byOther, Context: func() *Context {
			c := &Context{}
			c.Set("s3:RequestObjectTagKeys", "Department", "Project-x")
			return c
		}()}, Allow},
		{"tag keys extra", tagBased, Request{Action: "s3:PutObject", Key: "k", Requester: byOther, Context: func() *Context {
			c := &Context{}
			c.Set("s3:RequestObjectTagKeys", "Department", "Owner")
			return c
		}()}, ImplicitDeny},
		{"tag keys none (ForAllValues of nothing)", tagBased, Request{Action: "s3:PutObject", Key: "k", Requester: byOther}, Allow},

		// s3:prefix and s3:max-keys.
		{"prefix ok", prefixList, Request{Action: "s3:ListBucket", Requester: byOther, Context: ctxOf("s3:prefix", "home/other/docs", "s3:max-keys", "50")}, Allow},
		{"prefix empty (the root)", prefixList, Request{Action: "s3:ListBucket", Requester: byOther, Context: ctxOf("s3:prefix", "", "s3:max-keys", "50")}, Allow},
		{"prefix absent", prefixList, Request{Action: "s3:ListBucket", Requester: byOther, Context: ctxOf("s3:max-keys", "50")}, ImplicitDeny},
		{"prefix other", prefixList, Request{Action: "s3:ListBucket", Requester: byOther, Context: ctxOf("s3:prefix", "home/owner/", "s3:max-keys", "50")}, ImplicitDeny},
		{"max-keys high", prefixList, Request{Action: "s3:ListBucket", Requester: byOther, Context: ctxOf("s3:prefix", "home/other/", "s3:max-keys", "1000")}, ImplicitDeny},

		// Dates.
		{"time inside", timeWindow, Request{Action: "s3:GetObject", Key: "k", Requester: anon, Context: ctxOf("aws:CurrentTime", "2026-12-01T03:00:00Z", "aws:EpochTime", "1796094000")}, Allow},
		{"time after", timeWindow, Request{Action: "s3:GetObject", Key: "k", Requester: anon, Context: ctxOf("aws:CurrentTime", "2031-01-01T00:00:00Z", "aws:EpochTime", "1924992000")}, ImplicitDeny},

		// The owner can be denied by a policy.
		{"deny owner", denyOwner, Request{Action: "s3:PutBucketPolicy", Requester: byOwner}, ExplicitDeny},
		{"deny owner other action", denyOwner, Request{Action: "s3:GetBucketPolicy", Requester: byOwner}, Allow},
		{"not principal other", notPrincipal, Request{Action: "s3:GetObject", Key: "k", Requester: byOther}, ExplicitDeny},
		{"not principal anon", notPrincipal, Request{Action: "s3:GetObject", Key: "k", Requester: anon}, ExplicitDeny},
		{"not principal owner", notPrincipal, Request{Action: "s3:GetObject", Key: "k", Requester: byOwner}, Allow},

		// Negated operator on a missing key: true (the deny applies).
		{"sse missing", requireSSE, Request{Action: "s3:PutObject", Key: "k", Requester: byOther}, ExplicitDeny},
		{"sse kms", requireSSE, Request{Action: "s3:PutObject", Key: "k", Requester: byOther, Context: ctxOf("s3:x-amz-server-side-encryption", "aws:kms")}, Allow},
		{"null referer present", nullKey, Request{Action: "s3:GetObject", Key: "k", Requester: anon, Context: ctxOf("aws:Referer", "https://x")}, Allow},
		{"null referer absent", nullKey, Request{Action: "s3:GetObject", Key: "k", Requester: anon}, ImplicitDeny},
		{"ifexists mismatch", nullKey, Request{Action: "s3:GetObject", Key: "k", Requester: anon, Context: ctxOf("aws:Referer", "https://x", "aws:UserAgent", "wget")}, ImplicitDeny},

		// ACLs.
		{"acl public read", "", Request{Action: "s3:GetObject", Key: "k", Requester: anon, ObjectACL: &public}, Allow},
		{"acl public read ignored", "", Request{Action: "s3:GetObject", Key: "k", Requester: anon, ObjectACL: &public, AccountPAB: PublicAccessBlock{IgnorePublicAcls: true}}, ImplicitDeny},
		{"acl disabled", "", Request{Action: "s3:GetObject", Key: "k", Requester: anon, ObjectACL: &public, ACLsDisabled: true}, ImplicitDeny},
		{"acl bucket write", "", Request{Action: "s3:PutObject", Key: "k", Requester: byOther, BucketACL: &grantOther}, Allow},
		{"acl bucket write not read", "", Request{Action: "s3:ListBucket", Requester: byOther, BucketACL: &grantOther}, ImplicitDeny},
		{"acl deny wins", denyDelete, Request{Action: "s3:DeleteObject", Key: "k", Requester: byOther, BucketACL: &grantOther}, ExplicitDeny},
		{"object owned by writer", "", Request{Action: "s3:GetObject", Key: "k", Requester: byOwner, ObjectOwner: other, ObjectACL: &s3acl.ACL{Owner: other}}, ImplicitDeny},
		{"object writer reads", "", Request{Action: "s3:GetObject", Key: "k", Requester: byOther, ObjectOwner: other}, Allow},
		{"bucket owner deletes writer's object", "", Request{Action: "s3:DeleteObject", Key: "k", Requester: byOwner, ObjectOwner: other}, Allow},
		{"enforced: writer owns nothing", "", Request{Action: "s3:GetObject", Key: "k", Requester: byOther, ObjectOwner: other, ACLsDisabled: true}, ImplicitDeny},
		{"enforced: owner owns all", "", Request{Action: "s3:GetObject", Key: "k", Requester: byOwner, ObjectOwner: other, ACLsDisabled: true}, Allow},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := c.req
			req.Bucket, req.BucketOwner = "photos", owner
			if c.policy != "" {
				req.Policy = mustPolicy(t, c.policy)
			}
			got := Evaluate(&req)
			if got.Decision != c.want {
				t.Fatalf("Evaluate = %v (%s), want %v", got.Decision, got.Reason, c.want)
			}
		})
	}
}

func TestIsPublic(t *testing.T) {
	cases := []struct {
		doc  string
		want bool
	}{
		{publicPrefix, true},
		{crossAccount, false},
		{denyNoTLS, false},
		{timeWindow, true},
		{`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"IpAddress":{"aws:SourceIp":"10.1.0.0/16"}}}]}`, false},
		{`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}}]}`, true},
		{`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"StringEquals":{"aws:PrincipalAccount":"acct-other"}}}]}`, false},
		{`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"StringLike":{"aws:PrincipalAccount":"acct-*"}}}]}`, true},
		{`{"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"acct-other"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}]}`, true},
	}
	for i, c := range cases {
		if got := mustPolicy(t, c.doc).IsPublic(); got != c.want {
			t.Errorf("case %d: IsPublic = %v, want %v", i, got, c.want)
		}
	}
	var nilPolicy *Policy
	if nilPolicy.IsPublic() || nilPolicy.NeedsObject() {
		t.Error("nil policy is public or needs the object")
	}
	if !BlocksPublicPolicy(PublicAccessBlock{BlockPublicPolicy: true}, mustPolicy(t, publicPrefix)) {
		t.Error("BlockPublicPolicy does not block a public policy")
	}
	if BlocksPublicPolicy(PublicAccessBlock{BlockPublicPolicy: true}, mustPolicy(t, crossAccount)) {
		t.Error("BlockPublicPolicy blocks a non-public policy")
	}
	acl := s3acl.ACL{Owner: owner, Grants: []s3acl.Grant{{Grantee: s3acl.Grantee{Type: s3acl.Group, URI: s3acl.AuthenticatedUsers}, Permission: s3acl.Read}}}
	if !BlocksPublicACL(PublicAccessBlock{BlockPublicAcls: true}, acl) || BlocksPublicACL(PublicAccessBlock{}, acl) {
		t.Error("BlocksPublicACL")
	}
}

func TestActionOf(t *testing.T) {
	cases := []struct {
		op        s3route.Operation
		versioned bool
		want      Action
	}{
		{s3route.GetObject, false, "s3:GetObject"},
		{s3route.GetObject, true, "s3:GetObjectVersion"},
		{s3route.HeadObject, false, "s3:GetObject"},
		{s3route.ListObjectsV2, false, "s3:ListBucket"},
		{s3route.ListObjects, false, "s3:ListBucket"},
		{s3route.HeadBucket, false, "s3:ListBucket"},
		{s3route.ListObjectVersions, false, "s3:ListBucketVersions"},
		{s3route.GetObjectTagging, false, "s3:GetObjectTagging"},
		{s3route.GetObjectTagging, true, "s3:GetObjectVersionTagging"},
		{s3route.PutBucketPolicy, false, "s3:PutBucketPolicy"},
		{s3route.DeleteObject, true, "s3:DeleteObjectVersion"},
		{s3route.UploadPart, false, "s3:PutObject"},
		{s3route.DeleteBucketCors, false, "s3:PutBucketCORS"},
		{s3route.DeletePublicAccessBlock, false, "s3:PutBucketPublicAccessBlock"},
		{s3route.ListBuckets, false, "s3:ListAllMyBuckets"},
	}
	for _, c := range cases {
		if got := ActionOf(c.op, c.versioned); got != c.want {
			t.Errorf("ActionOf(%v, %v) = %s, want %s", c.op, c.versioned, got, c.want)
		}
	}
	// Every operation maps to an action the policy language knows, so a
	// policy can name it.
	for _, op := range s3route.Operations() {
		for _, v := range []bool{false, true} {
			if a := ActionOf(op, v); a.Kind() == 0 {
				t.Errorf("ActionOf(%v, %v) = %s: not a known action", op, v, a)
			}
		}
	}
}
