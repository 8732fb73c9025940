// Package edge is the edge gateway: the global front door of Meridian.
//
// An edge terminates TLS (1.3 and 1.2; HTTP/1.1 and HTTP/2), authenticates
// every request with the shared SigV4 verifier (header, presigned, every
// aws-chunked form with trailing checksums; any signing region of the
// deployment plus us-east-1), answers the catalog operations itself
// (ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation)
// and proxies everything else to the bucket's home region over HTTP/3 with
// mutual TLS (regional/regionalclient), streaming bodies both ways.
//
// The bucket → home region map comes from bucketsvc through
// edge/bucketcache. The protocol to the region — headers, trust model, the
// body completion rule and retries — is written down in docs/edge.md.
package edge
