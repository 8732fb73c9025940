package s3authz

import (
	"errors"
	"testing"
)

// FuzzParsePolicy: no document crashes the parser or the engine; a
// refused document is always a *PolicyError (answered MalformedPolicy).
// make test runs it briefly (-fuzztime 5s), make fuzz-authz for longer.
func FuzzParsePolicy(f *testing.F) {
	for _, d := range []string{publicPrefix, denyNoTLS, ipAllowList, crossAccount, denyDelete, tagBased,
		prefixList, timeWindow, denyOwner, notPrincipal, requireSSE, nullKey, `{}`, `{"Statement":{}}`, `[`} {
		f.Add([]byte(d), "s3:GetObject", "public/x", true, "192.0.2.1")
	}
	f.Fuzz(func(t *testing.T, doc []byte, action, key string, anonymous bool, ip string) {
		p, err := ParsePolicy(doc, "photos")
		if err != nil {
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("ParsePolicy error %v is not a PolicyError", err)
			}
			return
		}
		c := &Context{}
		c.Set("aws:SourceIp", ip)
		c.Set("aws:SecureTransport", "false")
		c.Set("aws:CurrentTime", "2026-12-01T00:00:00Z")
		c.Set("s3:RequestObjectTagKeys", key, action)
		c.Set("s3:ExistingObjectTag/environment", key)
		c.Set("s3:max-keys", ip)
		req := Request{Action: Action(action), Bucket: "photos", Key: key, BucketOwner: owner,
			Requester: Requester{Anonymous: anonymous, Account: other}, Policy: p, Context: c}
		r := Evaluate(&req)
		if r.Decision > ExplicitDeny {
			t.Fatalf("decision %d", r.Decision)
		}
		_ = p.IsPublic()
	})
}
