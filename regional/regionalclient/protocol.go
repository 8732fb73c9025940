package regionalclient

import (
	"crypto/tls"
	"strings"
)

// Headers of the edge → region protocol. A regional gateway ignores them on
// any other listener.
const (
	// HeaderPrincipal is the authenticated account id.
	HeaderPrincipal = "X-Meridian-Principal"
	// HeaderAccessKey is the access key id the client signed with.
	HeaderAccessKey = "X-Meridian-Access-Key"
	// HeaderRequestID is the edge's request id; the region answers with it
	// as x-amz-request-id so that ids are end to end.
	HeaderRequestID = "X-Meridian-Request-Id"
	// HeaderChecksumAlgorithms lists (comma separated) the checksum
	// algorithms whose header or trailing value the edge verified; the
	// region recomputes them over the body and stores them.
	HeaderChecksumAlgorithms = "X-Meridian-Checksum-Algorithms"
	// HeaderSigningRegion is the region the client signed for (informational).
	HeaderSigningRegion = "X-Meridian-Signing-Region"
	// HeaderBucketEmpty answers QueryPrepareDelete: "true" or "false".
	HeaderBucketEmpty = "X-Meridian-Bucket-Empty"
	// HeaderFormPost ("1", with no principal) forwards a browser-form
	// upload (PostObject) that carries no SigV4/SigV2 request signature:
	// the region authenticates it by the form's own policy signature.
	HeaderFormPost = "X-Meridian-Form-Post"
	// HeaderClientTLS ("1") says the client's connection to the edge was
	// TLS: the region admits SSE-C keys only then (docs/sse.md).
	HeaderClientTLS = "X-Meridian-Client-TLS"

	// The request's facts that authorization conditions read at the region
	// (internal/s3authz; docs/access-control.md). The edge sets them on
	// every forwarded request; the region trusts them only on this link.
	//
	// HeaderAnonymous ("1", with no principal) forwards an unsigned request:
	// the region authorizes it as the anonymous principal.
	HeaderAnonymous = "X-Meridian-Anonymous"
	// HeaderSourceIP is the client's address as the edge saw it (aws:SourceIp).
	HeaderSourceIP = "X-Meridian-Source-Ip"
	// HeaderSecureTransport is "true" when the client spoke TLS to the edge
	// (aws:SecureTransport), "false" otherwise.
	HeaderSecureTransport = "X-Meridian-Secure-Transport"
	// HeaderAuthType is how the client authenticated (s3:authType):
	// REST-HEADER, REST-QUERY-STRING or POST; absent when anonymous.
	HeaderAuthType = "X-Meridian-Auth-Type"
	// HeaderSignatureVersion is s3:signatureversion: AWS4-HMAC-SHA256 or AWS (SigV2).
	HeaderSignatureVersion = "X-Meridian-Signature-Version"
	// HeaderContentSHA256 is the client's x-amz-content-sha256 (the edge
	// strips the header itself), for s3:x-amz-content-sha256.
	HeaderContentSHA256 = "X-Meridian-Content-Sha256"
)

// QueryPrepareDelete selects the edge-only operation
// "DELETE /<bucket>?meridian-prepare-delete": the region deletes the bucket
// as a direct DeleteBucket does — it seals the bucket's incarnation on every
// metadata partition (fencing in-flight writes), refuses with BucketNotEmpty
// if an object exists, else deletes the catalog entry and its multipart
// uploads and answers 204. The edge only invalidates its cache.
const QueryPrepareDelete = "meridian-prepare-delete"

// PayloadModeEdge is sigv4.Auth.PayloadMode for requests that came over the
// edge link (already authenticated and decoded by the edge).
const PayloadModeEdge = "EDGE"

// EdgeURIPrefix starts the URI SAN that marks an edge certificate
// ("meridian://edge/<name>", see testbed/devca).
const EdgeURIPrefix = "meridian://edge/"

// MaxRequestIDLen bounds a forwarded request id.
const MaxRequestIDLen = 64

// EdgeName returns the edge name in the peer certificate of cs when that
// certificate was verified (cs.VerifiedChains is not empty) and carries the
// edge URI SAN; ok is false otherwise.
func EdgeName(cs *tls.ConnectionState) (name string, ok bool) {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return "", false
	}
	leaf := cs.VerifiedChains[0][0]
	for _, u := range leaf.URIs {
		if n, ok := strings.CutPrefix(u.String(), EdgeURIPrefix); ok && n != "" && !strings.Contains(n, "/") {
			return n, true
		}
	}
	return "", false
}

// ValidRequestID reports whether id may be used as a request id: 1 to
// MaxRequestIDLen characters of [A-Za-z0-9-].
func ValidRequestID(id string) bool {
	if id == "" || len(id) > MaxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
