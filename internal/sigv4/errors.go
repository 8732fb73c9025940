package sigv4

import (
	"errors"
	"strconv"
	"time"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// ErrUnknownAccessKey is wrapped by Credentials implementations for an
// access key id they do not know; Verify answers InvalidAccessKeyId.
var ErrUnknownAccessKey = errors.New("sigv4: unknown access key")

// ErrDisabledAccessKey may be wrapped by Credentials implementations for a
// known but disabled key; Verify answers InvalidAccessKeyId as S3 does.
var ErrDisabledAccessKey = errors.New("sigv4: access key disabled")

func malformedHeader(detail string) *s3err.Error {
	if detail == "" {
		return s3err.New(s3err.AuthorizationHeaderMalformed)
	}
	return s3err.WithMessage(s3err.AuthorizationHeaderMalformed, "The authorization header is malformed; "+detail)
}

func malformedQuery(msg string) *s3err.Error {
	return s3err.WithMessage(s3err.AuthorizationQueryParametersEr, msg)
}

func accessDenied(msg string) *s3err.Error {
	return s3err.WithMessage(s3err.AccessDenied, msg)
}

func invalidRequest(msg string) *s3err.Error {
	return s3err.WithMessage(s3err.InvalidRequest, msg)
}

func incompleteBody(msg string) *s3err.Error {
	if msg == "" {
		return s3err.New(s3err.IncompleteBody)
	}
	return s3err.WithMessage(s3err.IncompleteBody, msg)
}

func malformedTrailer(msg string) *s3err.Error {
	e := s3err.New(s3err.MalformedTrailerError)
	if msg != "" {
		e.Message = msg
	}
	return e
}

func signatureMismatch(accessKey, sts, provided, canonical string) *s3err.Error {
	e := s3err.New(s3err.SignatureDoesNotMatch)
	if accessKey != "" {
		e.With("AWSAccessKeyId", accessKey)
	}
	if sts != "" {
		e.With("StringToSign", sts)
	}
	e.With("SignatureProvided", provided)
	if canonical != "" {
		e.With("CanonicalRequest", canonical)
	}
	return e
}

func skewed(reqTime, now time.Time, maxSkew time.Duration) *s3err.Error {
	return s3err.New(s3err.RequestTimeTooSkewed).
		With("RequestTime", reqTime.UTC().Format(amzDateFormat)).
		With("ServerTime", now.UTC().Format(time.RFC3339)).
		With("MaxAllowedSkewMilliseconds", strconv.FormatInt(maxSkew.Milliseconds(), 10))
}
