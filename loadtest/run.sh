#!/usr/bin/env bash
# Runs the k6 scenarios of loadtest/main.js and prints k6's summary.
#
#   loadtest/run.sh                      start a private `meridian dev` (two regions with
#                                        edges, ports from LOADTEST_BASE_PORT, default 6000),
#                                        run every scenario for DURATION (default 60s), stop it
#   LOADTEST_ENV=data/dev.env loadtest/run.sh
#                                        run against a running deployment (`make run`, or
#                                        any deployment whose dev.env-style file sets
#                                        AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_CA_BUNDLE,
#                                        MERIDIAN_S3_ENDPOINT and MERIDIAN_S3_ENDPOINT_2|_EU)
# Variables passed on to k6: SCENARIOS, DURATION, LARGE_SIZE, LIST_KEYS, SMALL_VUS,
# LARGE_VUS, REPL_RATE. K6 (default bin/k6) is built by `make k6`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
k6=${K6:-$repo/bin/k6}
bin=${MERIDIAN_BIN:-$repo/bin/meridian}
[ -x "$k6" ] || { echo "loadtest: $k6 missing (make k6)" >&2; exit 1; }
dev_pid=""
work=""
cleanup() {
	if [ -n "$dev_pid" ]; then
		kill -INT "$dev_pid" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$dev_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$dev_pid" 2>/dev/null || true
	fi
	[ -n "$work" ] && rm -rf "$work"
	return 0
}
trap cleanup EXIT
env_file=${LOADTEST_ENV:-}
if [ -z "$env_file" ]; then
	[ -x "$bin" ] || { echo "loadtest: $bin missing (make build)" >&2; exit 1; }
	work=$(mktemp -d /tmp/meridian-loadtest.XXXXXX)
	"$bin" dev --data "$work/data" --base-port "${LOADTEST_BASE_PORT:-6000}" --log-level error >"$work/dev.log" 2>&1 &
	dev_pid=$!
	for _ in $(seq 600); do
		[ -s "$work/data/dev.env" ] && grep -q "MERIDIAN_S3_ENDPOINT" "$work/data/dev.env" && break
		kill -0 "$dev_pid" 2>/dev/null || { cat "$work/dev.log" >&2; exit 1; }
		sleep 0.1
	done
	env_file=$work/data/dev.env
	echo "loadtest: private meridian dev in $work (pid $dev_pid)"
fi
# shellcheck disable=SC1090
. "$env_file"
# k6 is a Go program: it trusts the deployment's CA through SSL_CERT_FILE.
export SSL_CERT_FILE=${AWS_CA_BUNDLE:-}
export RUN_ID=${RUN_ID:-$(date +%s)}
args=(run --quiet --no-usage-report)
[ -n "${K6_SUMMARY_JSON:-}" ] && args+=(--summary-export "$K6_SUMMARY_JSON")
"$k6" "${args[@]}" "$here/main.js"
