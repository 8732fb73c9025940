#!/usr/bin/env bash
# devenv.sh KEYJSON CA ENDPOINT REGION [NAME=VALUE…]: prints the AWS_*
# variables of the key that `meridian admin create-key` wrote as JSON, then
# the operator's MERIDIAN_* variables given as arguments (meridian status).
set -euo pipefail
field() { sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p" "$2"; }
cat <<ENV
export AWS_ACCESS_KEY_ID=$(field access_key "$1")
export AWS_SECRET_ACCESS_KEY=$(field secret_key "$1")
export AWS_CA_BUNDLE=$2
export AWS_ENDPOINT_URL=$3
export AWS_DEFAULT_REGION=$4
export AWS_REGION=$4
ENV
shift 4
for kv in "$@"; do
	printf 'export %s\n' "$kv"
done
