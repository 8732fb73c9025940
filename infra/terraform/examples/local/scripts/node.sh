#!/usr/bin/env bash
# Starts or stops one Meridian process of examples/local.
#   node.sh start PIDFILE LOGFILE COMMAND…   start COMMAND in the background
#   node.sh stop PIDFILE                      SIGTERM, then SIGKILL after 15 s
#   node.sh wait URL… [-- TIMEOUT]            wait until every URL answers 200
set -euo pipefail
op=$1; shift
case "$op" in
start)
	pidfile=$1 log=$2; shift 2
	if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
		echo "already running: $(cat "$pidfile")"; exit 0
	fi
	mkdir -p "$(dirname "$pidfile")" "$(dirname "$log")"
	setsid "$@" >>"$log" 2>&1 </dev/null &
	echo $! >"$pidfile"
	sleep 0.2
	if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
		echo "exited at once: $*" >&2; tail -20 "$log" >&2; exit 1
	fi
	;;
stop)
	pidfile=$1
	[ -s "$pidfile" ] || exit 0
	pid=$(cat "$pidfile")
	if kill -TERM "$pid" 2>/dev/null; then
		for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
	;;
wait)
	deadline=$((SECONDS + ${WAIT_TIMEOUT:-120}))
	for url in "$@"; do
		until curl -fsS -o /dev/null "$url"; do
			if [ $SECONDS -ge $deadline ]; then echo "not ready: $url" >&2; exit 1; fi
			sleep 0.5
		done
	done
	;;
*) echo "usage: node.sh start|stop|wait …" >&2; exit 2 ;;
esac
