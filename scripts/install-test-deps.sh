#!/usr/bin/env bash
# Installs what the end-to-end tests need beyond Go: the PostgreSQL server
# binaries (scripts/install-postgres.sh) and s3cmd, one of the real S3
# clients testbed/e2e drives through an edge. The aws CLI (v1) and boto3
# come from pip (pip install awscli boto3) and are only checked here.
# Idempotent: installs nothing that is already present, and runs
# apt-get update only when a package has to be installed and apt's lists
# are empty.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

bash "$here/install-postgres.sh"

if command -v s3cmd >/dev/null 2>&1 && s3cmd --version >/dev/null 2>&1; then
	echo "s3cmd found: $(s3cmd --version)"
else
	SUDO=""
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			SUDO="sudo"
		else
			echo "install-test-deps.sh: s3cmd is missing and we are not root (no sudo); install the 's3cmd' package." >&2
			exit 1
		fi
	fi
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "install-test-deps.sh: no apt-get; install s3cmd with your package manager (or pip install s3cmd)." >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# Update the package lists only if apt does not know s3cmd yet.
	if ! apt-cache show s3cmd >/dev/null 2>&1; then
		$SUDO apt-get update
	fi
	# Stale lists can name files the mirror no longer has: update and retry once.
	$SUDO apt-get install -y --no-install-recommends s3cmd || { $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends s3cmd; }
	s3cmd --version >/dev/null 2>&1 || { echo "install-test-deps.sh: installed s3cmd, but it does not run" >&2; exit 1; }
	echo "s3cmd installed: $(s3cmd --version)"
fi

# Checked, not installed: they come from pip, not from Debian packages.
missing=()
command -v aws >/dev/null 2>&1 || missing+=("aws CLI (pip install awscli)")
command -v python3 >/dev/null 2>&1 && python3 -c 'import boto3' >/dev/null 2>&1 || missing+=("boto3 (pip install boto3)")
if [ "${#missing[@]}" -gt 0 ]; then
	echo "install-test-deps.sh: also needed by testbed/e2e, not installed by this script: ${missing[*]}" >&2
fi
