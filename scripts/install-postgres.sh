#!/usr/bin/env bash
# Installs the PostgreSQL server binaries the SQL catalog tests need
# (testbed/pgtest runs a private server from initdb/pg_ctl/postgres).
# Idempotent: does nothing when working binaries are already present.
set -euo pipefail

have_postgres() {
	local dir
	for dir in /usr/lib/postgresql/*/bin; do
		if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ] &&
			"$dir/postgres" --version >/dev/null 2>&1; then
			echo "PostgreSQL found: $("$dir/postgres" --version) in $dir"
			return 0
		fi
	done
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 &&
		command -v postgres >/dev/null 2>&1 && postgres --version >/dev/null 2>&1; then
		echo "PostgreSQL found on PATH: $(postgres --version)"
		return 0
	fi
	return 1
}

if have_postgres; then
	exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "install-postgres.sh: PostgreSQL is missing and we are not root (no sudo)." >&2
		echo "Install the 'postgresql' package (server binaries: initdb, pg_ctl, postgres)." >&2
		exit 1
	fi
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-postgres.sh: no apt-get; install PostgreSQL 15+ server binaries with your package manager." >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# Debian bookworm ships PostgreSQL 15. The package's own cluster is not
# needed (tests run private servers); stop it if the package started one.
$SUDO apt-get install -y --no-install-recommends postgresql
if command -v pg_lsclusters >/dev/null 2>&1; then
	pg_lsclusters --no-header 2>/dev/null | while read -r ver name _; do
		$SUDO pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true
	done
fi

have_postgres || { echo "install-postgres.sh: installed, but no working initdb/pg_ctl/postgres found" >&2; exit 1; }
