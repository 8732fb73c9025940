package sigv4

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// Signature Version 2, as S3 still accepts it: the header form
// "Authorization: AWS AKID:signature" and the query form (presigned URLs:
// AWSAccessKeyId, Expires, Signature) that aws CLI v1, boto3 and s3cmd make
// by default. The signature is base64(HMAC-SHA1(secret, StringToSign)):
//
//	VERB \n Content-MD5 \n Content-Type \n Date-or-Expires \n
//	CanonicalizedAmzHeaders CanonicalizedResource
//
// The Date line is the Date header, empty when x-amz-date is sent (the
// x-amz-date value is then among the x-amz-* headers), and the Expires
// parameter in the query form. The body is not signed (its integrity is
// Content-MD5's or a checksum header's, checked as for SigV4's
// UNSIGNED-PAYLOAD). Credentials are looked up exactly as for SigV4.

// v2Prefix starts a SigV2 Authorization header.
const v2Prefix = "AWS "

// v2SubResources are the query parameters that belong to the
// CanonicalizedResource: S3's documented list and the ones the AWS SDKs
// and CLI sign (every other parameter is left out, as S3 leaves it out).
var v2SubResources = map[string]bool{
	"accelerate": true, "acl": true, "analytics": true, "cors": true, "defaultObjectAcl": true,
	"delete": true, "inventory": true, "legal-hold": true, "lifecycle": true, "location": true,
	"logging": true, "metrics": true, "notification": true, "object-lock": true, "partNumber": true,
	"policy": true, "replication": true, "requestPayment": true, "restore": true, "retention": true,
	"select": true, "select-type": true, "storageClass": true, "tagging": true, "torrent": true,
	"uploadId": true, "uploads": true, "versionId": true, "versioning": true, "versions": true,
	"website":                true,
	"response-cache-control": true, "response-content-disposition": true, "response-content-encoding": true,
	"response-content-language": true, "response-content-type": true, "response-expires": true,
}

// verifyV2 authenticates a SigV2 request (header or query form).
func (v *Verifier) verifyV2(r *http.Request, presigned bool) (*Auth, error) {
	var accessKey, sig, dateLine string
	var reqTime, expires time.Time
	now := v.now()
	if presigned {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, accessDenied("The query string could not be parsed.")
		}
		accessKey, sig = q.Get("AWSAccessKeyId"), q.Get("Signature")
		exp := q.Get("Expires")
		if accessKey == "" || sig == "" || exp == "" {
			return nil, accessDenied("Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters")
		}
		// A "+" the client did not escape arrives as a space.
		sig = strings.ReplaceAll(sig, " ", "+")
		secs, err := strconv.ParseInt(exp, 10, 64)
		if err != nil || secs < 0 {
			return nil, accessDenied("Invalid date (should be seconds since epoch): " + truncate(exp))
		}
		expires = time.Unix(secs, 0).UTC()
		if now.After(expires) {
			return nil, accessDenied("Request has expired").
				With("Expires", expires.Format(time.RFC3339)).
				With("ServerTime", now.UTC().Format(time.RFC3339))
		}
		dateLine, reqTime = exp, now
	} else {
		cred := strings.TrimSpace(strings.TrimPrefix(r.Header.Get("Authorization"), v2Prefix))
		var ok bool
		accessKey, sig, ok = strings.Cut(cred, ":")
		if !ok || accessKey == "" || sig == "" {
			return nil, invalidArgument("Authorization", "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature")
		}
		d := r.Header.Get("X-Amz-Date")
		if d == "" {
			d = r.Header.Get("Date")
			dateLine = d
		}
		t, err := ParseHTTPDate(d)
		if d == "" || err != nil {
			return nil, accessDenied("AWS authentication requires a valid Date or x-amz-date header")
		}
		if diff := now.Sub(t); diff > v.cfg.MaxSkew || diff < -v.cfg.MaxSkew {
			return nil, skewed(t, now, v.cfg.MaxSkew)
		}
		reqTime = t
	}

	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	if payloadHash == "" {
		payloadHash = UnsignedPayload
	}
	mode, err := payloadMode(payloadHash)
	if err != nil {
		return nil, err
	}
	if mode != PayloadSigned && mode != UnsignedPayload {
		return nil, invalidRequest("aws-chunked uploads require AWS4-HMAC-SHA256 (Signature Version 4).")
	}

	secret, principal, err := v.cfg.Credentials.Lookup(r.Context(), accessKey)
	if err != nil {
		if errors.Is(err, ErrUnknownAccessKey) || errors.Is(err, ErrDisabledAccessKey) {
			return nil, s3err.New(s3err.InvalidAccessKeyID).With("AWSAccessKeyId", accessKey)
		}
		return nil, fmt.Errorf("%w (sigv2: credentials lookup: %w)", s3err.New(s3err.InternalError), err)
	}
	sts := stringToSignV2(r, dateLine, v.cfg.HostBucket, true)
	if want := SignV2(secret, sts); !hmac.Equal([]byte(want), []byte(sig)) {
		// A bucket addressed path-style as "/bucket" is signed as S3
		// names the resource, "/bucket/" (botocore does so); a client
		// that signed the path as sent is accepted too.
		alt := stringToSignV2(r, dateLine, v.cfg.HostBucket, false)
		if alt == sts || !hmac.Equal([]byte(SignV2(secret, alt)), []byte(sig)) {
			return nil, signatureMismatch(accessKey, sts, sig, "")
		}
	}
	a := &Auth{
		AccessKeyID: accessKey,
		Principal:   principal,
		Presigned:   presigned,
		PayloadMode: mode,
		RequestTime: reqTime,
		Expires:     expires,
		SignatureV2: true,
	}
	if err := v.setupBody(r, a, payloadHash, nil); err != nil {
		return nil, err
	}
	return a, nil
}

func invalidArgument(name, msg string) *s3err.Error {
	return s3err.WithMessage(s3err.InvalidArgument, msg).With("ArgumentName", name)
}

// SignV2 is base64(HMAC-SHA1(secret, stringToSign)).
func SignV2(secret, stringToSign string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// StringToSignV2 builds r's SigV2 string to sign with dateLine in the Date
// position (the Date header, "" when x-amz-date is sent, or Expires).
// hostBucket names the bucket of a virtual-hosted-style Host ("" for
// path style); nil treats every request as path style.
func StringToSignV2(r *http.Request, dateLine string, hostBucket func(host string) string) string {
	return stringToSignV2(r, dateLine, hostBucket, true)
}

// stringToSignV2: bucketSlash writes a path-style bucket resource
// "/bucket" as "/bucket/".
func stringToSignV2(r *http.Request, dateLine string, hostBucket func(host string) string, bucketSlash bool) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(strings.TrimSpace(r.Header.Get("Content-MD5")))
	b.WriteByte('\n')
	b.WriteString(strings.TrimSpace(r.Header.Get("Content-Type")))
	b.WriteByte('\n')
	b.WriteString(dateLine)
	b.WriteByte('\n')
	// CanonicalizedAmzHeaders: lower-case x-amz-* names, sorted, values of
	// repeated names joined with ",", each trimmed.
	var names []string
	vals := map[string][]string{}
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, "x-amz-") {
			continue
		}
		if _, ok := vals[lk]; !ok {
			names = append(names, lk)
		}
		for _, v := range vs {
			vals[lk] = append(vals[lk], strings.TrimSpace(v))
		}
	}
	sort.Strings(names)
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte(':')
		b.WriteString(strings.Join(vals[n], ","))
		b.WriteByte('\n')
	}
	b.WriteString(canonicalResourceV2(r, hostBucket, bucketSlash))
	return b.String()
}

// canonicalResourceV2 is "/bucket" for a virtual-hosted request, then the
// path as the client sent it (still escaped), then the sub-resources
// (unescaped values), sorted by name.
func canonicalResourceV2(r *http.Request, hostBucket func(string) string, bucketSlash bool) string {
	var b strings.Builder
	virtual := false
	if hostBucket != nil {
		if bucket := hostBucket(r.Host); bucket != "" {
			b.WriteByte('/')
			b.WriteString(bucket)
			virtual = true
		}
	}
	path := r.URL.EscapedPath()
	if r.RequestURI != "" && !strings.Contains(r.RequestURI, "://") {
		path, _, _ = strings.Cut(r.RequestURI, "?")
	}
	if path == "" {
		path = "/"
	}
	b.WriteString(path)
	if bucketSlash && !virtual && len(path) > 1 && !strings.Contains(path[1:], "/") {
		b.WriteByte('/') // "/bucket" → "/bucket/"
	}
	var subs []string
	for part := range strings.SplitSeq(r.URL.RawQuery, "&") {
		k, val, hasVal := strings.Cut(part, "=")
		if !v2SubResources[k] {
			continue
		}
		if hasVal {
			if u, err := url.QueryUnescape(val); err == nil {
				val = u
			}
			subs = append(subs, k+"="+val)
		} else {
			subs = append(subs, k)
		}
	}
	if len(subs) > 0 {
		sort.SliceStable(subs, func(i, j int) bool { return subName(subs[i]) < subName(subs[j]) })
		b.WriteByte('?')
		b.WriteString(strings.Join(subs, "&"))
	}
	return b.String()
}

func subName(s string) string { k, _, _ := strings.Cut(s, "="); return k }

// PresignV2 returns r's URL presigned with SigV2 until expires (the form
// aws CLI v1, boto3 and s3cmd make by default); for tests and tools.
func PresignV2(r *http.Request, accessKey, secret string, expires time.Time, hostBucket func(string) string) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	sig := SignV2(secret, StringToSignV2(r, exp, hostBucket))
	u := *r.URL
	q := u.RawQuery
	if q != "" {
		q += "&"
	}
	u.RawQuery = q + "AWSAccessKeyId=" + url.QueryEscape(accessKey) + "&Expires=" + exp + "&Signature=" + url.QueryEscape(sig)
	return u.String()
}

// SignRequestV2 signs r in the SigV2 header form with a Date header of now.
func SignRequestV2(r *http.Request, accessKey, secret string, now time.Time, hostBucket func(string) string) {
	r.Header.Set("Date", now.UTC().Format(http.TimeFormat))
	r.Header.Set("Authorization", v2Prefix+accessKey+":"+SignV2(secret, StringToSignV2(r, r.Header.Get("Date"), hostBucket)))
}
