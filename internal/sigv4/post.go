package sigv4

import (
	"context"
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// PostAuth is who signed a browser-form upload (PostObject).
type PostAuth struct {
	AccessKeyID, Principal string
	SignatureV2            bool
}

func missingPostField(name string) *s3err.Error {
	return s3err.WithMessage(s3err.InvalidArgument,
		"Bucket POST must contain a field named '"+name+"'.  If it is specified, please check the order of the fields.").
		With("ArgumentName", name)
}

// VerifyPost checks the signature of a POST form over its policy field.
// fields are the form fields with lower-case names. SigV4 forms carry
// x-amz-algorithm, x-amz-credential, x-amz-date and x-amz-signature (the
// hex HMAC-SHA256 of the base64 policy with the credential scope's
// signing key); SigV2 forms carry AWSAccessKeyId and signature (base64
// HMAC-SHA1 of the policy). The credential lookup is SigV4's.
//
// anyRegion accepts any signing region in the credential scope: a form an
// edge forwarded may be signed for any region the edge accepts.
func (v *Verifier) VerifyPost(ctx context.Context, fields map[string]string, anyRegion bool) (*PostAuth, error) {
	policy := fields["policy"]
	if policy == "" {
		return nil, missingPostField("Policy")
	}
	lookup := func(ak string) (string, string, error) {
		secret, principal, err := v.cfg.Credentials.Lookup(ctx, ak)
		if err != nil {
			if errors.Is(err, ErrUnknownAccessKey) || errors.Is(err, ErrDisabledAccessKey) {
				return "", "", s3err.New(s3err.InvalidAccessKeyID).With("AWSAccessKeyId", ak)
			}
			return "", "", fmt.Errorf("%w (sigv4: credentials lookup: %w)", s3err.New(s3err.InternalError), err)
		}
		return secret, principal, nil
	}
	if alg, ok := fields["x-amz-algorithm"]; ok {
		if alg != Algorithm {
			return nil, s3err.WithMessage(s3err.InvalidArgument, "Only AWS4-HMAC-SHA256 is supported as x-amz-algorithm.").With("ArgumentName", "x-amz-algorithm")
		}
		for _, f := range []string{"x-amz-credential", "x-amz-date", "x-amz-signature"} {
			if fields[f] == "" {
				return nil, missingPostField(f)
			}
		}
		var s signed
		if err := v.parseScope(&s, fields["x-amz-credential"], true, !anyRegion); err != nil {
			return nil, err
		}
		t, err := time.Parse(amzDateFormat, fields["x-amz-date"])
		if err != nil {
			return nil, s3err.WithMessage(s3err.InvalidArgument, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"").With("ArgumentName", "x-amz-date")
		}
		if s.date != t.Format(scopeDateFmt) {
			return nil, s3err.WithMessage(s3err.InvalidArgument, "The credential date does not match x-amz-date.").With("ArgumentName", "x-amz-credential")
		}
		secret, principal, err := lookup(s.accessKey)
		if err != nil {
			return nil, err
		}
		want := hex.EncodeToString(hmacSHA256(v.signingKey(s.accessKey, secret, s.date, s.region), policy))
		if !hmac.Equal([]byte(want), []byte(fields["x-amz-signature"])) {
			return nil, signatureMismatch(s.accessKey, policy, fields["x-amz-signature"], "")
		}
		return &PostAuth{AccessKeyID: s.accessKey, Principal: principal}, nil
	}
	ak, sig := fields["awsaccesskeyid"], fields["signature"]
	if ak == "" {
		return nil, missingPostField("AWSAccessKeyId")
	}
	if sig == "" {
		return nil, missingPostField("Signature")
	}
	secret, principal, err := lookup(ak)
	if err != nil {
		return nil, err
	}
	if want := SignV2(secret, policy); !hmac.Equal([]byte(want), []byte(sig)) {
		return nil, signatureMismatch(ak, policy, sig, "")
	}
	return &PostAuth{AccessKeyID: ak, Principal: principal, SignatureV2: true}, nil
}
