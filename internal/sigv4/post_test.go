package sigv4

import (
	"context"
	"encoding/hex"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// TestVerifyPost: SigV4 and SigV2 form signatures over the policy field.
func TestVerifyPost(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	v, _ := newTestVerifier(t, now, func(c *VerifierConfig) { c.AllowedRegions = []string{"us-east-1"} })
	policy := "eyJleHBpcmF0aW9uIjoiMjAzMC0wMS0wMVQwMDowMDowMFoiLCJjb25kaXRpb25zIjpbXX0="
	v4 := func(region string) map[string]string {
		date := now.Format(scopeDateFmt)
		return map[string]string{
			"policy": policy, "x-amz-algorithm": Algorithm, "x-amz-date": now.Format(amzDateFormat),
			"x-amz-credential": docAccessKey + "/" + date + "/" + region + "/s3/aws4_request",
			"x-amz-signature":  hex.EncodeToString(hmacSHA256(SigningKey(docSecret, date, region, "s3"), policy)),
		}
	}
	v2 := map[string]string{"policy": policy, "awsaccesskeyid": docAccessKey, "signature": SignV2(docSecret, policy)}
	edit := func(m map[string]string, k, val string) map[string]string {
		out := map[string]string{}
		for a, b := range m {
			out[a] = b
		}
		if val == "" {
			delete(out, k)
		} else {
			out[k] = val
		}
		return out
	}
	for _, c := range []struct {
		name      string
		fields    map[string]string
		anyRegion bool
		want      s3err.Code
	}{
		{"v4", v4("us-east-1"), false, ""},
		{"v4 other region refused", v4("eu-west-1"), false, s3err.AuthorizationQueryParametersEr},
		{"v4 other region via an edge", v4("eu-west-1"), true, ""},
		{"v4 policy edited", edit(v4("us-east-1"), "policy", policy+"x"), false, s3err.SignatureDoesNotMatch},
		{"v4 no signature", edit(v4("us-east-1"), "x-amz-signature", ""), false, s3err.InvalidArgument},
		{"v4 bad date", edit(v4("us-east-1"), "x-amz-date", "yesterday"), false, s3err.InvalidArgument},
		{"v4 other algorithm", edit(v4("us-east-1"), "x-amz-algorithm", "AWS4-ECDSA-P256-SHA256"), false, s3err.InvalidArgument},
		{"v4 unknown key", edit(v4("us-east-1"), "x-amz-credential", "AKIANOPE/"+now.Format(scopeDateFmt)+"/us-east-1/s3/aws4_request"), false, s3err.InvalidAccessKeyID},
		{"v2", v2, false, ""},
		{"v2 wrong signature", edit(v2, "signature", "AAAA"), false, s3err.SignatureDoesNotMatch},
		{"v2 no key", edit(v2, "awsaccesskeyid", ""), false, s3err.InvalidArgument},
		{"no policy", edit(v2, "policy", ""), false, s3err.InvalidArgument},
	} {
		pa, err := v.VerifyPost(context.Background(), c.fields, c.anyRegion)
		if code(err) != c.want {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
			continue
		}
		if err == nil && (pa.Principal != "principal:"+docAccessKey || pa.SignatureV2 != (c.fields["signature"] != "")) {
			t.Errorf("%s: %+v", c.name, pa)
		}
	}
}
