# Meridian — see README.md. Two commands matter: `make run` and `make test`.
GO        ?= go
DATA      ?= ./data
BIN       := bin/meridian
GOFLAGS   ?=
TEST_P    ?= 2
TEST_TIMEOUT ?= 20m

.PHONY: all build run test test-unit test-e2e deps bench bench-go bench-tls bench-sse bench-replication test-replication-faults bench-heal bench-authz fmt vet soak memcheck clean fuzz fuzz-short fuzz-authz terraform-test k6 loadtest loadtest-smoke

all: build

build:
	$(GO) build $(GOFLAGS) -o $(BIN) ./cmd/meridian

## run: the single-machine deployment (all roles on loopback); Ctrl-C stops it.
run: build
	./$(BIN) dev --data $(DATA)

## deps: what the tests need beyond Go (PostgreSQL for the SQL catalog store).
deps:
	@bash scripts/install-test-deps.sh

## test: every test that CI runs (unit, integration with real processes, real S3 clients).
# The process-level suites (testbed/e2e: up to ~40 processes) run alone after
# the others, so they do not starve each other's Raft timers on 2 cores.
test: deps build vet fuzz-short
	MERIDIAN_BIN=$(CURDIR)/$(BIN) $(GO) test -p $(TEST_P) -timeout $(TEST_TIMEOUT) $$($(GO) list ./... | grep -v /testbed/e2e)
	MERIDIAN_BIN=$(CURDIR)/$(BIN) $(GO) test -p 1 -timeout $(TEST_TIMEOUT) ./testbed/e2e/...
	$(MAKE) --no-print-directory terraform-test
	$(MAKE) --no-print-directory loadtest-smoke

## k6: the pinned k6 for the load tests, built from the Go module proxy.
K6_VERSION ?= v1.8.1
k6: bin/k6
bin/k6:
	GOBIN=$(CURDIR)/bin $(GO) install go.k6.io/k6@$(K6_VERSION)

## loadtest: every k6 scenario (loadtest/) for DURATION (default 60s) against a
# private `meridian dev`, or against LOADTEST_ENV=<dev.env> (e.g. `make run`'s
# data/dev.env); prints k6's summary and fails when a threshold fails.
loadtest: build k6
	DURATION=$${DURATION:-60s} bash loadtest/run.sh

## loadtest-smoke: 30 s of every scenario at once, smaller objects (in `make test`).
loadtest-smoke: build k6
	DURATION=30s LARGE_SIZE=$$((4<<20)) LIST_KEYS=300 REPL_RATE=2 REPL_REQUIRED=1 LATENCY_SCALE=5 LOADTEST_BASE_PORT=6000 bash loadtest/run.sh

## terraform-test: `terraform test` of every module in infra/terraform and a
# real apply → aws CLI through both edges → destroy of examples/local.
terraform-test: build
	MERIDIAN_BIN=$(CURDIR)/$(BIN) bash infra/terraform/tests/run.sh

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...

## bench: throughput/latency against a private dev cluster, plus the Go micro-benchmarks.
bench: build
	./$(BIN) bench --data $$(mktemp -d /tmp/meridian-bench.XXXXXX)
	$(MAKE) bench-go

## bench-heal: issue 7's scrub/heal figures on real processes (testbed/e2e
# TestBenchScrubHeal): scrub verify rate, foreground PUT+GET during a scrub
# pass vs. without, time to full redundancy and rebuild MiB/s after losing a
# node holding BENCH_NODE_GB (default 1) GB of shards. The scrub rate of the
# foreground comparison is BENCH_SCRUB_RATE per node (default 4MiB, the
# single-machine deployment's; docs/background.md "Performance"). Needs
# ≈ 12×BENCH_NODE_GB GB of disk; ≈ 4 min. Lines "FIGURE" carry the numbers and
# the load average.
BENCH_SCRUB_RATE ?= 4MiB
bench-heal: build
	MERIDIAN_BIN=$(CURDIR)/$(BIN) MERIDIAN_BENCH_HEAL=1 BENCH_SCRUB_RATE=$(BENCH_SCRUB_RATE) $(GO) test -p 1 -count=1 -timeout 90m -v -run '^TestBenchScrubHeal$$' ./testbed/e2e/ | grep -E 'FIGURE|loaded|^(---|ok|FAIL|PASS)'

bench-go:
	$(GO) test -run '^$$' -bench . -benchtime 2x -benchmem ./regional/erasure/ ./storagesvc/shardstore/ ./internal/sigv4/ ./metasvc/metastate/ ./internal/sse/

## bench-tls: CPU per MiB of TLS with and without internal/connbuf (loopback,
# by write size) and of the storage hop through it (docs/performance.md,
# "Fewer, larger system calls under TLS").
bench-tls:
	$(GO) test -run '^$$' -bench Stream -benchtime 512x ./internal/connbuf/
	$(GO) test -run '^$$' -bench ShardHop -benchtime 400x ./storagesvc/

## bench-sse: the cost of server-side encryption (docs/sse.md): PUT/GET of
# 16 MiB plain vs SSE-S3 through a private dev cluster (MiB/s, server CPU
# ms/MiB), the AES-256-GCM stream format alone (internal/sse), and PUT/GET of
# 16 MiB plain vs SSE-S3 vs SSE-C through one in-process gateway (process CPU
# ms/MiB, no idle cluster CPU mixed in).
# Each phase gets its own fresh cluster, alternated twice: in one cluster
# the second phase runs on the first one's data and garbage and measured
# 63-82 % of the first whatever it was.
bench-sse: build
	for round in 1 2; do for phase in 16MiB 16MiB-SSE-S3; do \
		d=$$(mktemp -d /tmp/meridian-bench.XXXXXX); ./$(BIN) bench --only $$phase --data $$d | grep -E '^\| (phase|PUT 16|GET 16)'; rm -rf $$d; \
	done; done
	$(GO) test -run '^$$' -bench . -benchtime 5x ./internal/sse/
	$(GO) test -run '^$$' -bench BenchmarkSSE16MiB -benchtime 20x ./regional/

## bench-authz: issue 11's access-control figures on real processes (testbed/e2e
# TestAuthzBench): the edge's 4 KiB GET p50/p99 without and with a 20-statement
# bucket policy, and the time a policy change takes to apply at another
# region's edge (docs/access-control.md). Lines "FIGURE" carry the numbers.
bench-authz: build
	MERIDIAN_BIN=$(CURDIR)/$(BIN) MERIDIAN_AUTHZ_BENCH=1 $(GO) test -p 1 -count=1 -v -timeout 20m -run '^TestAuthzBench$$' ./testbed/e2e/ | grep -E 'FIGURE|^(---|ok|FAIL|PASS)'
	$(GO) test -run '^$$' -bench Evaluate20 -benchmem -count 3 ./internal/s3authz/

## bench-replication: replication lag at 50 PUT/s and backlog drain rates across an 80 ms RTT link (docs/replication.md).
bench-replication: build
	MERIDIAN_BIN=$(CURDIR)/$(BIN) MERIDIAN_REPL_BENCH=1 $(GO) test -p 1 -count=1 -v -timeout 30m -run '^TestReplicationBench$$' ./testbed/e2e/

## test-replication-faults: issue 8's replication fault suite at full scale
# (testbed/e2e TestReplicationFaults; docs/replication.md "Tests"): two regions
# of real processes 80 ms RTT apart; 1,000 mixed writes, kill -9 of the source
# replicator and of the destination gateway mid-copy, the destination region
# down for 60 s under source writes, two-way concurrent writes; every phase
# ends with a version-by-version comparison of both sides. "FIGURE" lines
# carry the lag, the drain time after the outage and the source PUT p99
# before/during it. ≈ 5 min. REPL_FAULTS_SHORT=1: 100 writes, 15 s outage.
test-replication-faults: build
	MERIDIAN_BIN=$(CURDIR)/$(BIN) MERIDIAN_REPL_FAULTS=1 MERIDIAN_REPL_FAULTS_SHORT=$(REPL_FAULTS_SHORT) $(GO) test -p 1 -count=1 -v -timeout 60m -run '^TestReplicationFaults$$' ./testbed/e2e/

## soak: long fault suites kept out of `make test`.
soak: build
	MERIDIAN_BIN=$(CURDIR)/$(BIN) MERIDIAN_SOAK=1 $(GO) test -p 1 -timeout 60m -run 'Soak' ./testbed/e2e/...

## fuzz: every Go fuzz target for FUZZTIME each (seeds: testdata/fuzz/ of each package).
# Invariant of every target: no input panics; every rejection is an S3 error.
FUZZ_TARGETS := \
	internal/sigv4:FuzzAuthorization internal/sigv4:FuzzChunkedBody \
	internal/sigv4:FuzzPresignedQuery internal/sigv4:FuzzSignedHeaders \
	internal/s3api:FuzzParseRange internal/s3api:FuzzDeleteBody \
	internal/s3api:FuzzCompleteMultipartUploadBody internal/s3api:FuzzCreateBucketConfigurationBody \
	internal/s3api:FuzzTagging \
	internal/s3route:FuzzResolve internal/s3lifecycle:FuzzParse internal/s3cors:FuzzParse \
	internal/s3authz:FuzzParsePolicy internal/s3acl:FuzzParse internal/s3lock:FuzzParse \
	internal/sse:FuzzDecryptTampered
FUZZTIME ?= 2m
# The short run counts executions rather than time: a time-bounded run can
# end while a worker is still reporting a new input, and go test then fails
# the target with "context deadline exceeded" (seen in CI rehearsal).
FUZZTIME_SHORT ?= 5000x

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; echo "fuzz $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) ./$$pkg; \
	done

## fuzz-authz: the authorization engine's fuzz target alone, for FUZZTIME_AUTHZ
# (default 10m): no policy document crashes the parser or the engine.
FUZZTIME_AUTHZ ?= 10m
fuzz-authz:
	$(GO) test -run '^$$' -fuzz '^FuzzParsePolicy$$' -fuzztime $(FUZZTIME_AUTHZ) ./internal/s3authz

## fuzz-short: the same targets briefly (part of `make test`).
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME_SHORT)

## memcheck: peak RSS of the dev deployment under 64 concurrent mixed clients
# (4 KiB–1 MiB, PUT+GET, edge and direct); fails above MAX_RSS (docs/limits.md).
memcheck: build
	CONC=$${CONC:-64} DURATION=$${DURATION:-60s} MAX_RSS=$${MAX_RSS:-600MiB} ./scripts/memcheck.sh

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
