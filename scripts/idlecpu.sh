#!/usr/bin/env bash
# Idle CPU of a one-region `meridian dev` (docs/performance.md "Idle CPU"):
# starts it in a fresh data folder, waits until it is running plus a
# 10 s settle, and prints the process's CPU time (utime+stime from
# /proc/<pid>/stat) per second of a 30 s window. With a third argument,
# writes a CPU profile of that window (pprof on base port + 900).
#   scripts/idlecpu.sh BIN [BASE_PORT] [PROFILE_OUT]
set -euo pipefail
bin=$1 port=${2:-27300} prof=${3:-}
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
"$bin" dev --more-regions "" --data "$data" --base-port "$port" \
	--pprof-listen "127.0.0.1:$((port + 900))" >"$data/out.log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do
	grep -q "Meridian is running" "$data/out.log" && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.5
done
if ! grep -q "Meridian is running" "$data/out.log"; then
	echo "idlecpu: the cluster did not start:" >&2
	tail -5 "$data/out.log" >&2
	kill "$pid" 2>/dev/null || true
	exit 1
fi
sleep 10
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
a=$(ticks) t0=$(date +%s.%N)
if [ -n "$prof" ]; then
	curl -fsS -o "$prof" "http://127.0.0.1:$((port + 900))/debug/pprof/profile?seconds=30"
else
	sleep 30
fi
b=$(ticks) t1=$(date +%s.%N)
awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" -v hz="$hz" -v bin="$bin" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" \
	'BEGIN { printf "%s: idle CPU %.1f ms/s over %.1f s; load %s\n", bin, (b - a) * 1000 / hz / (t1 - t0), t1 - t0, load }'
kill -INT "$pid"
wait "$pid" || true
