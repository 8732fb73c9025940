#!/usr/bin/env bash
# Runs every Terraform test of infra/terraform:
#   1. `terraform test` in every module and in examples/local (validation,
#      rendered configurations, a plan of the local deployment);
#   2. apply.sh: applies examples/local for real, drives S3 through both
#      regions' edges with the aws CLI, and destroys it.
# Needs terraform (>= 1.6) and, for step 2, bin/meridian, PostgreSQL server
# binaries and the aws CLI. `make terraform-test` (part of `make test`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
if ! command -v terraform >/dev/null; then
	echo "terraform not found: install Terraform >= 1.6 (the infra/terraform tests need it)" >&2
	exit 1
fi
export TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for dir in modules/region modules/edge modules/catalog modules/global examples/local; do
	echo "== terraform test: $dir"
	export TF_DATA_DIR="$scratch/$(echo "$dir" | tr / _)"
	terraform -chdir="$root/$dir" init -backend=false -input=false -no-color >/dev/null
	terraform -chdir="$root/$dir" test -no-color
done
unset TF_DATA_DIR
terraform fmt -check -recursive "$root"
if [ "${MERIDIAN_TF_SKIP_APPLY:-}" = 1 ]; then
	echo "MERIDIAN_TF_SKIP_APPLY=1: not applying examples/local"
	exit 0
fi
"$here/apply.sh"
