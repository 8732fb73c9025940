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
// process log. Every internal hop is mutual TLS: the harness runs
// `meridian devcerts` for the region(s) and passes each process its own
// certificate (--ca/--tls-cert/--tls-key); Region.NodeTLS loads any node's
// certificate, Region.StorageClient is a storage client with the gateway's,
// and TestInternalAuth attacks the internal ports without, or with the wrong,
// certificates.
//
// Every test starts at most one region, except the global tier's tests
// (global_*_test.go): StartGlobal runs two regions (us-east-1, eu-west-1)
// whose regional gateways serve HTTP/3 edge links, a private PostgreSQL
// (testbed/pgtest) holding the shared bucket catalog, a dev CA from
// `meridian devcerts` and an edge process per region; clients reach the
// edges at https://localhost:port trusting the dev CA. TestGlobal shares one
// such deployment between the CreateBucket race, the real clients (Go SDK,
// aws CLI, boto3, s3cmd), bad input, the 80 ms latency check (a
// latencyproxy on one edge's QUIC path) and the large-object test (which
// reads the edge's peak RSS from /proc). The heavy tests run sequentially.
// TestLifecycle starts one region of that kind with a `meridian background`
// process on the SQL catalog and MERIDIAN_TEST_DAY=2s (docs/lifecycle.md).
// Environment:
//
//	MERIDIAN_BIN                      prebuilt binary (make test sets it)
//	MERIDIAN_E2E_SEED                 fixes the seed of random fault choices
//	MERIDIAN_ALLOW_NO_AWSCLI=1        lets the aws CLI test skip when `aws` is missing
//	MERIDIAN_ALLOW_MISSING_CLIENTS=1  lets the global client tests (aws CLI, boto3,
//	                                  s3cmd) skip a missing client; otherwise they fail
//	                                  and point at scripts/install-test-deps.sh
//	MERIDIAN_SOAK=1                   enables the soak tests
//	MERIDIAN_E2E_TLS_ONLY=1           runs every region without --local-socket-dir:
//	                                  the storage hop and the edge's same-region
//	                                  link on TLS over TCP, as production roles
//	                                  default (by default the processes of a
//	                                  region share authenticated local sockets)
package e2e
