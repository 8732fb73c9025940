#!/usr/bin/env bash
# Installs what the end-to-end tests need beyond Go: the PostgreSQL server
# binaries (scripts/install-postgres.sh), s3cmd and rclone, real S3
# clients testbed/e2e drives through an edge, and Chromium, the browser
# of the CORS test. The aws CLI (v1) and boto3
# come from pip (pip install awscli boto3) and are only checked here.
# Idempotent: installs nothing that is already present, and runs
# apt-get update only when a package has to be installed and apt's lists
# are empty.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

bash "$here/install-postgres.sh"

# install_deb CMD PKG: installs Debian package PKG unless CMD already runs.
install_deb() {
	local cmd="$1" pkg="$2"
	if command -v "$cmd" >/dev/null 2>&1 && "$cmd" --version >/dev/null 2>&1; then
		echo "$cmd found: $("$cmd" --version | head -1)"
		return
	fi
	SUDO=""
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			SUDO="sudo"
		else
			echo "install-test-deps.sh: $cmd is missing and we are not root (no sudo); install the '$pkg' package." >&2
			exit 1
		fi
	fi
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "install-test-deps.sh: no apt-get; install $pkg with your package manager." >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# Update the package lists only if apt does not know the package yet.
	if ! apt-cache show "$pkg" >/dev/null 2>&1; then
		$SUDO apt-get update
	fi
	# Stale lists can name files the mirror no longer has: update and retry once.
	$SUDO apt-get install -y --no-install-recommends "$pkg" || { $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends "$pkg"; }
	"$cmd" --version >/dev/null 2>&1 || { echo "install-test-deps.sh: installed $pkg, but $cmd does not run" >&2; exit 1; }
	echo "$cmd installed: $("$cmd" --version | head -1)"
}

install_deb s3cmd s3cmd
install_deb rclone rclone # CopyObject with rclone copyto / modtime updates (testbed/e2e/copy_test.go)
install_deb chromium chromium # a real browser sending CORS preflights (testbed/e2e/cors_browser_test.go)

# Checked, not installed: they come from pip, not from Debian packages.
missing=()
command -v aws >/dev/null 2>&1 || missing+=("aws CLI (pip install awscli)")
command -v python3 >/dev/null 2>&1 && python3 -c 'import boto3' >/dev/null 2>&1 || missing+=("boto3 (pip install boto3)")
if [ "${#missing[@]}" -gt 0 ]; then
	echo "install-test-deps.sh: also needed by testbed/e2e, not installed by this script: ${missing[*]}" >&2
fi
