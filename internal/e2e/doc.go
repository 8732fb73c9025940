// Package e2e holds Meridian's end-to-end and fault tests: a whole region
// (3 meta nodes, 16 storage nodes in 4 AZs, 1 regional gateway) runs as real
// OS processes of the meridian binary on loopback, driven by real S3 clients
// (aws-sdk-go-v2, the aws CLI, raw SigV4-signed HTTP) and broken with real
// signals (SIGKILL, SIGTERM).
//
// The harness (harness_test.go) builds the binary once in TestMain unless
// MERIDIAN_BIN names one, picks free loopback ports up front and keeps them
// across restarts (Raft peers are remembered by address), and kills every
// process it started in t.Cleanup. On failure it prints the tail of each
// process log.
//
// Every test starts at most one region; the heavy tests run sequentially.
// Environment:
//
//	MERIDIAN_BIN                 prebuilt binary (make test sets it)
//	MERIDIAN_E2E_SEED            fixes the seed of random fault choices
//	MERIDIAN_ALLOW_NO_AWSCLI=1   lets the aws CLI test skip when `aws` is missing
package e2e
