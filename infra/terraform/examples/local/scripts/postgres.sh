#!/usr/bin/env bash
# A private PostgreSQL server for examples/local's bucket catalog (the
# wire-compatible stand-in for CockroachDB on one machine).
#   postgres.sh start DIR PORT   initdb (once), start on 127.0.0.1:PORT, create database meridian
#   postgres.sh stop DIR
set -euo pipefail
op=$1 dir=$2
bin=""
for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_ctl" ] && bin=$d; done
if [ -z "$bin" ] && command -v pg_ctl >/dev/null; then bin=$(dirname "$(readlink -f "$(command -v pg_ctl)")"); fi
if [ -z "$bin" ]; then
	echo "PostgreSQL server binaries not found: run scripts/install-postgres.sh (the multi-process deployment needs the SQL catalog)" >&2
	exit 1
fi
as() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# PostgreSQL refuses to run as root: as root the server runs as the postgres
# user, in a folder of its own under /tmp named after DIR (DIR's parents may
# be closed to other users).
if [ "$(id -u)" -eq 0 ]; then
	dir=/tmp/meridian-tf-pg-$(printf %s "$dir" | md5sum | cut -c1-12)
fi
case "$op" in
start)
	port=$3
	mkdir -p "$dir"
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
		chown postgres "$dir"
	fi
	[ -d "$dir/data" ] || as "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C --no-instructions >/dev/null
	as "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
		-o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
	as "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='meridian'" | grep -q 1 ||
		as "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE meridian"
	;;
stop)
	[ -d "$dir/data" ] && as "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	[ "$(id -u)" -eq 0 ] && rm -rf "$dir"
	true
	;;
esac
