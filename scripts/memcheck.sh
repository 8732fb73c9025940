#!/usr/bin/env bash
# memcheck: peak resident memory of the dev deployment (`meridian dev`, one
# process holding every node of the region) under a mixed load of
# CONC concurrent clients (objects MIN–MAX, PUT then GET, through the edge
# and directly to the regional gateway, alternating). Prints the peak RSS
# (VmHWM from /proc/<pid>/status) and fails above MAX_RSS.
#   make memcheck [CONC=64 DURATION=60s MAX_RSS=600MiB]
set -euo pipefail
BIN=${BIN:-./bin/meridian}
CONC=${CONC:-64}
DURATION=${DURATION:-60s}
MIN=${MIN:-4KiB}
MAX=${MAX:-1MiB}
MAX_RSS=${MAX_RSS:-600MiB}
PORT=${PORT:-29000}
PPROF=${PPROF:-}
data=$(mktemp -d /tmp/meridian-memcheck.XXXXXX)
log=$data.log
extra=()
[ -n "$PPROF" ] && extra=(--pprof-listen "$PPROF")
"$BIN" dev --data "$data" --more-regions "" --base-port "$PORT" --log-level warn "${extra[@]}" >"$log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data" "$log"; }
trap cleanup EXIT
for _ in $(seq 1 240); do
	[ -f "$data/dev.env" ] && break
	kill -0 "$pid" 2>/dev/null || { cat "$log"; exit 1; }
	sleep 0.5
done
[ -f "$data/dev.env" ] || { echo "memcheck: dev deployment did not start"; cat "$log"; exit 1; }
echo "memcheck: meridian dev (pid $pid) up; data in $data"
"$BIN" load --env "$data/dev.env" --concurrency "$CONC" --min "$MIN" --max "$MAX" --duration "$DURATION" \
	--pid "$pid" --max-rss "$MAX_RSS"
